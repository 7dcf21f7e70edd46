"""/kader: invite links for reviewers and admins; for cadres, what they registered and what to fix.

An invite is a deep link t.me/<bot>?start=<code> (and its QR code). Whoever opens it confirms
their name and becomes a cadre of the link's desa; a link admits the number of cadres chosen when
it was made (1 to 20), expires and can be revoked. Cadres imported by phone number
(`jaga import cadres`) claim their role here by sharing their contact. Callback data:
`KDR R <code> [page]` browse regions, `KDR NEW <desa> [places]` ask how many cadres / create an
invite, `KDR X <invite id>` revoke, `KDR OK <code>` / `KDR NM <code>` confirm or type the name,
`KDR ME [page]` the cadre view, `KDR REP [page]` submissions per cadre, `KDR SHEET` the
spreadsheet template; a cadre sends the filled template back as a document (`document`).

The parts: `menu` (/kader and the buttons), `reviewer` (invites, submissions per cadre),
`summary` (the cadre's own view), `join` (an invite link opened), `phone` (imported cadres),
`sheet`, `sheet_worker` and `sheet_submit` (the spreadsheet), `common` (what several share).
"""

from handlers.cadres.common import FLOW, in_scope, is_desa, region_rows
from handlers.cadres.join import is_invite_code, on_cancel, on_message, open_invite
from handlers.cadres.menu import button, kader
from handlers.cadres.sheet import document, settled
from handlers.cadres.sheet_worker import start_worker

__all__ = [
    "FLOW",
    "button",
    "document",
    "in_scope",
    "is_desa",
    "is_invite_code",
    "kader",
    "on_cancel",
    "on_message",
    "open_invite",
    "region_rows",
    "settled",
    "start_worker",
]
