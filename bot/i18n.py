"""Languages: gettext catalogs under locales/, money and dates formatted with babel."""

from __future__ import annotations

import datetime as dt
import gettext
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

# Source strings are Indonesian (the users' language); catalogs translate them.
LANGUAGES: tuple[str, ...] = ("id", "en")
LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English"}
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def N_(message: str) -> str:
    """Mark a string for translation without translating it yet (used at import time)."""
    return message


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    return Translations.load(str(LOCALES_DIR), [language], domain="messages")


def catalog_compiled(language: str) -> bool:
    """Whether the compiled catalog (.mo) for a language is present."""
    return (LOCALES_DIR / language / "LC_MESSAGES" / "messages.mo").exists()


class Translator:
    """Text, money and dates in one language."""

    def __init__(self, language: str):
        self.language = language if language in LANGUAGES else LANGUAGES[0]
        self._catalog = _catalog(self.language)

    def gettext(self, message: str) -> str:
        """The message in this language."""
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form for `n` in this language."""
        return self._catalog.ngettext(singular, plural, n)

    def money(self, amount: int) -> str:
        """Whole rupiah, e.g. `Rp16.800`."""
        return format_currency(
            amount, "IDR", format="¤#,##0", locale=self.language, currency_digits=False
        )

    def number(self, value: int) -> str:
        """A whole number with the locale's grouping, e.g. `7.500`."""
        return format_decimal(value, locale=self.language)

    def date(self, value: dt.date) -> str:
        """A date written out, e.g. `15 Mei 1980`."""
        return format_date(value, format="d MMMM y", locale=self.language)


@cache
def translator(language: str) -> Translator:
    """The shared translator for a language."""
    return Translator(language)
