"""Complaint services, one module per section of the work; this module is their single front door.

Services never commit: the route does, once. Checks for anything a handler does to a complaint: scope
(outside it the complaint does not exist: 404), then role or right (403), then version (428 / 409), then
state and gate (409) — the workflow kernel's order. The reporter is recognised only by the receipt; a
receipt that matches nothing and one that is malformed get the same answer.

- ``access``: finding a complaint (scope, receipt); ``intake``: submission and the receipt holder's side;
- ``triage``: lists, deadlines and the life-cycle's actions; ``messages``: messages and history;
- ``duplicates``; ``reveals`` (identity, two-person rule); ``rewards``; ``keys`` (rotation).
"""

from __future__ import annotations

from hazard_registry.complaints.access import (
    BadReceipt,
    by_receipt,
    get_for_handler,
    get_visible,
    invalid,
    no_enterprise,
)
from hazard_registry.complaints.duplicates import DUPLICATE_SCAN, DUPLICATE_WINDOW_DAYS, duplicates, similarity
from hazard_registry.complaints.intake import (
    FILE_TYPES,
    IMAGE_TYPES,
    REPORTER_MAY_WRITE,
    list_files,
    reporter_message,
    reporter_recheck,
    reporter_view,
    store_file,
    submit,
)
from hazard_registry.complaints.keys import rotate_keys
from hazard_registry.complaints.messages import add_message, list_events, list_messages
from hazard_registry.complaints.reveals import (
    decide_reveal,
    list_reveals,
    may_request_reveal,
    request_reveal,
    reveal_actions,
    reveals_of,
    view_identity,
)
from hazard_registry.complaints.rewards import (
    approve_reward,
    claim_reward,
    pay_reward,
    payment_view,
    propose_reward,
    reward_actions,
    reward_of,
    reward_out,
    rewards_to_pay,
    yuan,
)
from hazard_registry.complaints.triage import (
    due_for_escalation,
    handling_overdue,
    list_complaints,
    overdue_clauses,
    reply_overdue,
    to_out,
    transition,
)

__all__ = [
    "DUPLICATE_SCAN",
    "DUPLICATE_WINDOW_DAYS",
    "FILE_TYPES",
    "IMAGE_TYPES",
    "REPORTER_MAY_WRITE",
    "BadReceipt",
    "add_message",
    "approve_reward",
    "by_receipt",
    "claim_reward",
    "decide_reveal",
    "due_for_escalation",
    "duplicates",
    "get_for_handler",
    "get_visible",
    "handling_overdue",
    "invalid",
    "list_complaints",
    "list_events",
    "list_files",
    "list_messages",
    "list_reveals",
    "may_request_reveal",
    "no_enterprise",
    "overdue_clauses",
    "pay_reward",
    "payment_view",
    "propose_reward",
    "reply_overdue",
    "reporter_message",
    "reporter_recheck",
    "reporter_view",
    "request_reveal",
    "reveal_actions",
    "reveals_of",
    "reward_actions",
    "reward_of",
    "reward_out",
    "rewards_to_pay",
    "rotate_keys",
    "similarity",
    "store_file",
    "submit",
    "to_out",
    "transition",
    "view_identity",
    "yuan",
]
