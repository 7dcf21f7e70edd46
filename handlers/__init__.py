"""Telegram handlers, one module per user-facing flow; registered in jaga/app.py."""
