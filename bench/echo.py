"""The ceiling: a bare python-telegram-bot echo bot with the bot's update-processing settings.

Run as `python -m bench.echo`; it reads the same JAGA_* variables as `jaga run` (token, API URL,
concurrency, message rate) and answers every text with the same text. Its HTTP client is
python-telegram-bot's default (httpx), or with BENCH_ECHO_CLIENT=aiohttp the bot's own
(bot/http.py): `make bench` compares the bots on the same client.
"""

from __future__ import annotations

import logging
import os

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ContextTypes, MessageHandler, filters

from bot.http import AiohttpRequest
from bot.processing import update_processing
from bot.settings import load_settings


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await context.bot.send_message(message.chat_id, message.text)


def main() -> None:
    """Poll the configured Bot API until SIGINT/SIGTERM."""
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    processor, update_queue = update_processing(settings.max_concurrent_updates)
    builder = Application.builder()
    if os.environ.get("BENCH_ECHO_CLIENT") == "aiohttp":
        builder = builder.request(AiohttpRequest(256)).get_updates_request(AiohttpRequest(1))
    app = (
        builder.token(settings.token())
        .base_url(settings.telegram_api_url)
        .rate_limiter(
            AIORateLimiter(overall_max_rate=settings.max_messages_per_second, max_retries=2)
        )
        .concurrent_updates(processor)
        .update_queue(update_queue)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
