"""What the simulated people do with the Jaga Pekerja bot, reading its prompts and buttons."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

from bench.people import Person, Reader, fingerprint


def registration_available() -> bool:
    """Whether the registration flow (handlers/registration/) is in this checkout."""
    return find_spec("handlers.registration") is not None


def workload_name() -> str:
    """The name of what `jaga_person` does, for the report."""
    return "registration" if registration_available() else "menu conversation"


async def jaga_person(person: Person) -> None:
    """A full registration when the flow exists, else the menu conversation; then a burst."""
    if registration_available():
        from bench.registration import register

        await register(person)
    else:
        await menu_conversation(person)
    await ordered_burst(person)


async def menu_conversation(person: Person) -> None:
    """Switch language and back, open the menu, read the help: six updates."""
    await person.say("/bahasa")
    await person.until(lambda m: "English" in dict(m.buttons))
    await person.tap("English")
    await person.until(lambda m: not m.buttons)
    await person.say("/bahasa")
    await person.until(lambda m: "Bahasa Indonesia" in dict(m.buttons))
    await person.tap("Bahasa Indonesia")
    await person.until(lambda m: not m.buttons)
    await person.say("/start")
    menu = await person.until(lambda m: bool(m.buttons))
    await person.tap(next(label for label, data in menu.buttons if data == "MENU bantuan"))
    await person.until(lambda m: "/bahasa" in m.text)


async def ordered_burst(person: Reader[Any]) -> None:
    """Learn the answers to /start and /bantuan, then send both twice at once: order kept?"""
    await person.say("/start")
    start = fingerprint((await person.until(person.offers)).text)
    await person.say("/bantuan")
    help_ = fingerprint((await person.until(lambda m: "/bahasa" in m.text)).text)
    await person.burst(
        ["/bantuan", "/start", "/bantuan", "/start"], [help_, start, help_, start], quiet=0.3
    )
