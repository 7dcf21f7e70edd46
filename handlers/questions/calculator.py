"""/iuran: the calculator asks the kind of work, then the income, and shows the amounts."""

from __future__ import annotations

from telegram import Update

from bot import membership, paying
from bot.context import JagaContext
from bot.registration import SYNONYMS, Choice, Step, match_choice, normalise, read_income
from handlers.common import Button, Turn, answer_button, layout, say
from handlers.questions.amounts import contribution_details, show_contribution
from handlers.questions.common import send
from storage import membership as store

IURAN_FLOW_NAME = "iuran"
# Incomes offered as buttons in /iuran (rupiah a month); anything else can be typed.
INCOME_CHOICES = (1_000_000, 1_500_000, 2_000_000, 3_000_000)
SECTORS = {"T": "transport", "N": "non_transport", "G": "government"}
DETAIL_SECTORS: dict[str, str | None] = {**SECTORS, "U": None}


def _sector_buttons(turn: Turn) -> list[list[Button]]:
    _ = turn.gettext
    return [
        [(_("Ojek, sopir, kurir"), "IUR S T")],
        [(_("Nelayan, petani, pedagang, lainnya"), "IUR S N")],
        [(_("Iuran dibayar Pemda/program"), "IUR S G")],
    ]


async def iuran(update: Update, context: JagaContext) -> None:
    """/iuran: asks the kind of work (for the discount), then the income."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    await store.set_flow_state(context.db, turn.id, IURAN_FLOW_NAME, "sector")
    await say(
        context,
        turn.chat_id,
        _("Menghitung iuran BPJS Ketenagakerjaan.\n\nApa pekerjaan Anda?"),
        layout(_sector_buttons(turn)),
    )


def _income_buttons(turn: Turn) -> list[list[Button]]:
    _ = turn.gettext
    first, *others = INCOME_CHOICES
    rows = [[(_("Di bawah {amount}").format(amount=turn.tr.money(1_100_000)), f"IUR I {first}")]]
    rows += [[(turn.tr.money(amount), f"IUR I {amount}")] for amount in others]
    return rows


def _sector_choices(turn: Turn) -> list[Choice]:
    """The kinds of work of /iuran as typed answers, with the registration's words for jobs."""
    jobs = SYNONYMS[Step.OCCUPATION]
    others = tuple(w for job, words in jobs.items() if job != "ojek_sopir" for w in (job, *words))
    words = {"T": jobs["ojek_sopir"], "N": others, "G": SYNONYMS[Step.PAYER]["program"]}
    return [
        Choice(label, data.removeprefix("IUR S "), words[data.removeprefix("IUR S ")])
        for [(label, data)] in _sector_buttons(turn)
    ]


async def _ask_income(context: JagaContext, turn: Turn, sector: str) -> None:
    """Stores the kind of work and asks the income."""
    await store.set_flow_state(
        context.db, turn.id, IURAN_FLOW_NAME, "income", sector=SECTORS[sector]
    )
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Berapa penghasilan Anda rata-rata per bulan? Pilih, atau tulis angkanya "
            "(misalnya 1,5 juta)."
        ),
        layout(_income_buttons(turn)),
    )


async def iuran_button(update: Update, context: JagaContext) -> None:
    """IUR S <sector> asks the income; IUR I/C compute; IUR D details; IUR PAY how to pay."""
    query = update.callback_query
    assert query is not None and query.data is not None
    turn = await Turn.load(update, context)
    _ = turn.gettext
    await answer_button(query)
    args = query.data.split()[1:]
    if args == ["START"]:
        await iuran(update, context)
        return
    if len(args) == 2 and args[0] == "S" and args[1] in SECTORS:
        await _ask_income(context, turn, args[1])
        return
    if len(args) == 2 and args[0] == "I" and args[1].isdigit():
        state = await store.flow_state(context.db, turn.id, IURAN_FLOW_NAME)
        sector = state.sector if state else None
        await store.end_flow(context.db, turn.id, IURAN_FLOW_NAME)
        await show_contribution(context, turn, int(args[1]), sector)
        return
    if len(args) == 3 and args[0] == "C" and args[1].isdigit() and args[2] in SECTORS:
        await show_contribution(context, turn, int(args[1]), SECTORS[args[2]])
        return
    if len(args) == 3 and args[0] == "D" and args[1].isdigit() and args[2] in DETAIL_SECTORS:
        text = contribution_details(
            turn.tr, int(args[1]), DETAIL_SECTORS[args[2]], membership.today()
        )
        await send(context, turn.chat_id, text, [[(_("Hitung lagi"), "IUR START")]])
        return
    if args == ["PAY"]:
        await say(context, turn.chat_id, paying.how_text(turn.tr))
        return
    await say(context, turn.chat_id, _("Tombol ini sudah tidak berlaku."))


async def iuran_message(update: Update, context: JagaContext) -> None:
    """Takes the typed income (tolerant: `1,5 juta`, `Rp 2.000.000`) and shows the result."""
    turn = await Turn.load(update, context)
    _ = turn.gettext
    state = await store.flow_state(context.db, turn.id, IURAN_FLOW_NAME)
    message = update.effective_message
    text = (message.text or "").strip() if message is not None else ""
    if state is None or state.step == "sector":
        typed = match_choice(text, _sector_choices(turn)) if text else None
        if typed is None and len(text.split()) > 1:  # "brp iuran nelayan?": the one job named
            words = set(normalise(text).split())
            named = [c for c in _sector_choices(turn) if words & {normalise(w) for w in c.words}]
            if len(named) == 1:
                typed = named[0]
        if typed is not None:  # "nelayan", "ojek" typed instead of pressed
            await _ask_income(context, turn, typed.value)
            return
        if state is None:
            await store.set_flow_state(context.db, turn.id, IURAN_FLOW_NAME, "sector")
        await say(
            context,
            turn.chat_id,
            _("Silakan pilih pekerjaan Anda dengan tombol di bawah, atau /batal."),
            layout(_sector_buttons(turn)),
        )
        return
    amount = read_income(text).amount if text else None  # "kira2 1,5 jt sebulan" too
    if amount is None or amount < 100_000:
        await say(
            context,
            turn.chat_id,
            _(
                "Penghasilan itu tidak terbaca. Tulis penghasilan per bulan dalam rupiah, "
                "misalnya 1500000 atau 1,5 juta. Atau ketik /batal."
            ),
            layout(_income_buttons(turn)),
        )
        return
    await store.end_flow(context.db, turn.id, IURAN_FLOW_NAME)
    await show_contribution(context, turn, amount, state.sector)


async def iuran_cancel(context: JagaContext, telegram_id: int) -> None:
    """Leaves the flow; forgets the answers given so far."""
    await store.end_flow(context.db, telegram_id, IURAN_FLOW_NAME)
