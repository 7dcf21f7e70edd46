"""What several parts of the review desk share: the reviewer check, the stored step of a card,
the texts for a card already decided or locked, and the open correction requests."""

from __future__ import annotations

import logging

from bot import review
from bot.access import Access, access_of
from bot.context import JagaContext
from bot.i18n import N_
from bot.logging_setup import IDENTIFIER_TYPES, mask_text
from handlers.common import Turn, say
from storage import privacy, users
from storage import review as store
from storage.flows import KEEP, Pointer
from storage.registrations import Registration

log = logging.getLogger(__name__)

FLOW = "tinjau"
# What /batal says for the review desk (handlers/router.py): nothing of the worker's is deleted.
CANCEL_TEXT = N_(
    "Baik, tinjauan dihentikan. Pengajuan tetap di antrean; ketik /tinjau untuk melanjutkan."
)


async def reviewer_access(context: JagaContext, turn: Turn) -> Access | None:
    """The reviewer's access, or None after telling a non-reviewer this is not for them."""
    access = await access_of(context.db, context.settings, turn.id)
    if access.is_reviewer:
        return access
    await say(
        context,
        turn.chat_id,
        turn.gettext(
            "Perintah ini khusus petugas peninjau dinas tenaga kerja kabupaten. "
            "Ketik /start untuk melihat menu."
        ),
    )
    return None


def log_refusal(turn: Turn, data: str, why: str) -> None:
    """Logs a refused press (role or scope) without the rest of its data."""
    log.warning("event=review_refused user=%s data=%r reason=%s", turn.id, data[:64], why)


async def clear_step(context: JagaContext, turn: Turn) -> None:
    """Forgets the unfinished review step, and leaves the review flow if it is the active one."""
    # Only our own flow: a reviewer may also be half-way through something else.
    await store.clear_step(context.db, turn.id, leaving=FLOW)


async def open_step(
    context: JagaContext, turn: Turn, row: Registration, program_id: int | None = None
) -> None:
    """Remembers the card in front of the reviewer (and the payer on its confirm question), so
    a word typed instead of a press ("setujui", "lewati", "ya") acts on it."""
    await store.set_step(
        context.db,
        turn.id,
        flow=FLOW,
        registration_id=row.id,
        action=None,
        program_id=program_id,
        reason_code=None,
        fields="[]",
    )


def area_names(access: Access) -> str:
    """The names of the reviewer's regions, comma-separated."""
    return ", ".join(review.region_name(r) for r in access.review_regions())


async def decided_text(context: JagaContext, turn: Turn, row: Registration) -> str:
    """Says the submission no longer waits for a decision (and who decided it, by name)."""
    _ = turn.gettext
    status = _(review.STATUS_LABELS.get(row.status, row.status))
    decider = row.reviewed_by
    if decider == turn.id:
        return _("Pengajuan {ref} sudah Anda putuskan: {status}. Tidak ada yang diubah.").format(
            ref=row.ref, status=status
        )
    if decider is not None:
        who = await users.name_of(context.db, decider)
        if who:
            return _(
                "Pengajuan {ref} sudah diputuskan: {status} (oleh petugas {who}). "
                "Keputusan Anda tidak disimpan."
            ).format(ref=row.ref, status=status, who=who)
        return _(
            "Pengajuan {ref} sudah diputuskan petugas lain: {status}. "
            "Keputusan Anda tidak disimpan."
        ).format(ref=row.ref, status=status)
    return _("Pengajuan {ref} tidak menunggu keputusan lagi (status: {status}).").format(
        ref=row.ref, status=status
    )


def locked_text(turn: Turn, row: Registration) -> str:
    """Says another reviewer has the submission open."""
    return turn.gettext(
        "Pengajuan {ref} sedang dibuka petugas lain. Coba lagi beberapa menit lagi, "
        "atau ketik /tinjau untuk pengajuan berikutnya."
    ).format(ref=row.ref)


async def tell_refused(context: JagaContext, turn: Turn, refused: store.DecisionRefused) -> None:
    """Forgets the step and says why the decision was not saved."""
    await clear_step(context, turn)
    row = refused.row
    if refused.why == "locked" and row is not None:
        text = locked_text(turn, row)
    elif refused.why == "decided" and row is not None:
        text = await decided_text(context, turn, row)
    elif refused.why == "own":
        text = turn.gettext("Pengajuan yang Anda kirim sendiri ditinjau oleh petugas lain.")
    else:
        text = turn.gettext("Pengajuan ini tidak ditemukan.")
    await say(context, turn.chat_id, text)


async def begin_step(
    context: JagaContext,
    turn: Turn,
    row: Registration,
    action: str,
    *,
    program_id: int | None = None,
    reason_code: str | None = None,
    fields: str = "[]",
    flow: Pointer = KEEP,
) -> None:
    """Store what the reviewer is doing on this card and what is chosen so far (all of it),
    with the reviewer's active-flow pointer (unless KEEP) in the same commit."""
    await store.set_step(
        context.db,
        turn.id,
        flow=flow,
        registration_id=row.id,
        action=action,
        program_id=program_id,
        reason_code=reason_code,
        fields=fields,
    )


async def open_corrections(context: JagaContext, access: Access) -> list[privacy.PrivacyRequest]:
    """Open correction requests of the person's review regions, oldest first."""
    found: dict[int, privacy.PrivacyRequest] = {}
    for region in access.review_regions():
        for request in await privacy.open_corrections(context.db, region):
            found[request.id] = request
    return [found[key] for key in sorted(found)]


def correction_text(context: JagaContext, request: privacy.PrivacyRequest) -> str:
    """What the person asked to correct, decrypted, with NIK and phone numbers masked."""
    if not request.text_enc:
        return "-"
    try:
        text = context.cipher.decrypt(request.text_enc)
    except ValueError:
        log.warning("event=correction_undecryptable request=%s", request.id)
        return "-"
    return mask_text(text, IDENTIFIER_TYPES)
