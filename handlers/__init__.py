"""Telegram handlers, one module per user-facing flow; registered in bot/app.py."""
