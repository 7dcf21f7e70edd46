"""Which channel a person talks on, and their id there.

Every person has one integer id in the database, the chat id the flows answer. On Telegram it is
their Telegram user id, which Telegram keeps below 2**52 ("Bot API: User.id"). A WhatsApp person
is identified by their wa_id, their phone number in international form (E.164: at most 15
digits, no leading zero), and gets the id `WHATSAPP_BASE + wa_id`: above every Telegram id,
stable across restarts and processes, and turned back into the wa_id without a lookup.
"""

from __future__ import annotations

from typing import Literal

from telegram.error import NetworkError

from bot.patterns import linear
from storage.users import WHATSAPP_BASE

Channel = Literal["telegram", "whatsapp"]

# WHATSAPP_BASE (storage/users.py) is 10**16: > 2**52 (the largest Telegram id) and > every
# 15-digit wa_id.
_WA_ID = linear(r"[1-9][0-9]{4,14}")


def whatsapp_person(wa_id: str) -> int:
    """The person id of a WhatsApp wa_id (ValueError if it is not 5-15 digits)."""
    if _WA_ID.fullmatch(wa_id) is None:
        raise ValueError("a wa_id is 5 to 15 digits without a leading zero")
    return WHATSAPP_BASE + int(wa_id)


def is_whatsapp(person: int) -> bool:
    """Whether the id is a WhatsApp person's."""
    return WHATSAPP_BASE < person < 2 * WHATSAPP_BASE


def wa_id_of(person: int) -> str:
    """The wa_id of a WhatsApp person id (ValueError for a Telegram id)."""
    if not is_whatsapp(person):
        raise ValueError("not a WhatsApp person")
    return str(person - WHATSAPP_BASE)


def channel_of(person: int) -> Channel:
    """The channel a person id belongs to."""
    return "whatsapp" if is_whatsapp(person) else "telegram"


class ChannelStopped(NetworkError):
    """A channel cannot send at all until an operator acts (WhatsApp: the access token expired).

    A Bot API NetworkError, so that it passes python-telegram-bot's request layer unchanged;
    callers that can set a channel aside (the outbox) catch it before NetworkError.
    """

    def __init__(self, channel: Channel, reason: str = "token_expired"):
        super().__init__(f"{channel} stopped: {reason}")
        self.channel: Channel = channel
        self.reason = reason
