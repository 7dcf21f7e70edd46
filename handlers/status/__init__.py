"""/status: registration state and history, membership and arrears; NIK lookups; linking.

A NIK is no secret (and the birth date is written inside it), so knowing one shows only the
registration state in general words. The details are for the worker's own account, the cadre who
registered them, and accounts linked by a proof: a contact shared with Telegram's share-contact
button that matches the phone on record, the 11-digit KPJ, or a one-time code that the worker's
cadre (else a reviewer of the district) types after checking the person.

The parts: `command` (/status, the people an account registered, the STS buttons), `lookup`
(typed messages: a NIK, reference number or KPJ looked up), `showing` (a worker or a
registration as shown: state, history, membership, payments), `proof` (the proof of identity
that links an account), `linking` (the notices of a link, and link codes confirmed by a cadre or
reviewer) and `common` (the flow's name, the words for each state, what several share).
"""

from handlers.status.command import button, on_cancel, status
from handlers.status.common import FLOW, STATE_WORDS, limit_reached, sender_sees
from handlers.status.lookup import leave_for_other_words, on_message, typed_nik
from handlers.status.showing import describe

__all__ = [
    "FLOW",
    "STATE_WORDS",
    "button",
    "describe",
    "leave_for_other_words",
    "limit_reached",
    "on_cancel",
    "on_message",
    "sender_sees",
    "status",
    "typed_nik",
]
