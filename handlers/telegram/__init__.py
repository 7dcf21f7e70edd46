"""The Telegram channel's own parts: how a channel-neutral prompt shows on Telegram."""
