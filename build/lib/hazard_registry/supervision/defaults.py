"""The default (national) escalation rules shipped with the service; see README "Supervision".

No national rule fixes the day counts (DOMAIN §5): these follow the local practice the campaign documents
describe — listing within 3 working days, on-site review within 10 days of a request — and climb the
ladder 函告 → 通报 → 约谈 → 挂牌督办 → 曝光 as an overrun grows. A region overrides any stall by defining
its own rules for it; rules are versioned, so changing them never moves deadlines already set.
"""

from __future__ import annotations

BASIS = "《安全生产法》第四十一条；《安全生产治本攻坚三年行动方案（2024—2026年）》"

# key, stall, threshold, working days?, measure, issuer, needs confirmation?, response days
DEFAULT_RULES: list[tuple[str, str, int, bool, str, str, bool, int]] = [
    ("default.not_assigned.letter", "not_assigned", 3, True, "warning_letter", "higher_level", False, 5),
    ("default.not_assigned.notice", "not_assigned", 10, True, "circulated_notice", "higher_level", True, 5),
    ("default.not_started.letter", "not_started", 5, True, "warning_letter", "lead_department", False, 10),
    ("default.not_started.summons", "not_started", 15, True, "summons", "lead_department", True, 10),
    ("default.overdue.letter", "overdue", 1, False, "warning_letter", "lead_department", False, 10),
    ("default.overdue.notice", "overdue", 10, True, "circulated_notice", "lead_department", True, 10),
    ("default.overdue.summons", "overdue", 20, True, "summons", "lead_department", True, 10),
    ("default.overdue.listing", "overdue", 30, True, "listed_supervision", "higher_level", True, 20),
    ("default.overdue.exposure", "overdue", 60, True, "public_exposure", "lead_department", True, 10),
    ("default.failed.summons", "verification_failed", 2, True, "summons", "lead_department", True, 10),
    ("default.not_verified.letter", "not_verified", 10, False, "warning_letter", "higher_level", False, 5),
    ("default.not_closed.letter", "not_closed", 5, True, "warning_letter", "higher_level", False, 5),
]

# Added with self-inspection and regional stalls (migration 0006). Self-inspection: 10 working days after
# the quarter (month) ends with no principal-led inspection recorded → 函告 by the lead department, then
# 约谈 after 30. Regions, judged each quarter by the level above: a fifth of open hazards past deadline
# → 函告; five or more stock hazards (found by the cut-off) still open → 通报.
DEFAULT_RULES_0006: list[tuple[str, str, int, bool, str, str, bool, int]] = [
    ("default.self_inspection.letter", "self_inspection_missed", 10, True, "warning_letter", "lead_department",
     False, 10),
    ("default.self_inspection.summons", "self_inspection_missed", 30, True, "summons", "lead_department", True, 10),
    ("default.region_overdue.letter", "region_overdue_share", 20, True, "warning_letter", "higher_level", True, 15),
    ("default.region_stock.notice", "region_stock_open", 5, True, "circulated_notice", "higher_level", True, 15),
]  # fmt: skip


def default_rule_rows(rules: list[tuple[str, str, int, bool, str, str, bool, int]] = DEFAULT_RULES) -> list[dict]:
    return [
        {
            "key": key,
            "version": 1,
            "region_code": None,
            "stall": stall,
            "threshold": threshold,
            "working_days": working,
            "measure": measure,
            "issuer": issuer,
            "needs_confirmation": confirm,
            "response_days": response,
            "legal_basis": BASIS,
            "active": True,
        }
        for key, stall, threshold, working, measure, issuer, confirm, response in rules
    ]


# Added with the filing and complaint stalls (migration 0008): a 季报/年报 five working days late → 函告 by the
# lead department; a complaint one day past its handling or reply deadline → 函告 to the department by the
# level above (the deadlines themselves are the complaint rules' 60 and 10 days).
DEFAULT_RULES_0008: list[tuple[str, str, int, bool, str, str, bool, int]] = [
    ("default.filing_late.letter", "filing_late", 5, True, "warning_letter", "lead_department", False, 10),
    ("default.complaint_late.letter", "complaint_late", 1, False, "warning_letter", "higher_level", False, 5),
]
