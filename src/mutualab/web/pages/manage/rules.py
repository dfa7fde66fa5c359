"""Booking rules and quotas of a place, for everyone and per user type: how far ahead, the
minimum notice, and the weekly quota of hours (booking policies).

Each row is a policy of the whole place, for one user type or for everyone; an empty field
leaves the decision to the less specific rule (the equipment's own settings last). Policies
for one piece of equipment, and the deadline and approval of each row, are kept as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from accounts.schemas import UserTypeRead
from booking.schemas import PolicyRead, PolicyWrite
from mutualab.web.forms import Errors, FieldError
from mutualab.web.i18n import N_

EVERYONE = "*"
MAX_ADVANCE_DAYS = 730
MAX_NOTICE_HOURS = 720
MAX_QUOTA_HOURS = 168
HOURS_ERROR = N_("Enter a number of hours from 0 to %(n)s, like 1,5.")
_HOURS = re.compile(r"^\d{1,3}([.,]\d{1,2})?$")
# A field sent once arrives as one string, several times as a list.
Repeated = list[str] | str


@dataclass
class RulesForm:
    """The rules table, as typed: the n-th value of each list belongs to the n-th code."""

    code: Repeated = field(default_factory=list)
    advance_days: Repeated = field(default_factory=list)
    notice_hours: Repeated = field(default_factory=list)
    quota_hours: Repeated = field(default_factory=list)


@dataclass(frozen=True)
class RuleRow:
    """One row of the table."""

    index: int
    code: str
    label: str
    advance_days: str
    notice_hours: str
    quota_hours: str


@dataclass(frozen=True)
class Rule:
    """One row's values, checked (None: not set)."""

    code: str
    advance_days: int | None
    notice_minutes: int | None
    quota_minutes: int | None


def _values(value: Repeated) -> list[str]:
    return [value] if isinstance(value, str) else value


def hours_text(minutes: int | None) -> str:
    """Minutes as typed back: ``2``, ``1,5``."""
    if minutes is None:
        return ""
    hours = (Decimal(minutes) / 60).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{hours:f}".replace(".", ",")


def parse_hours(text: str, high: int) -> int | None:
    """``2``, ``1,5`` or ``0.25`` hours (at most ``high``) as whole minutes; None otherwise."""
    value = text.strip()
    if not _HOURS.match(value):
        return None
    minutes = (Decimal(value.replace(",", ".")) * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(minutes) if minutes <= high * 60 else None


def row_codes(user_types: list[UserTypeRead]) -> list[str]:
    """Everyone first, then each user type."""
    return [EVERYONE, *(t.code for t in user_types)]


def _stored(policies: list[PolicyRead], code: str) -> PolicyRead | None:
    user_type = None if code == EVERYONE else code
    return next(
        (p for p in policies if p.resource_id is None and p.user_type_code == user_type), None
    )


def rules_form_of(policies: list[PolicyRead], user_types: list[UserTypeRead]) -> RulesForm:
    """The table filled with what is stored."""
    codes = row_codes(user_types)
    stored = [_stored(policies, code) for code in codes]
    return RulesForm(
        code=codes,
        advance_days=[
            "" if p is None or p.max_advance_days is None else str(p.max_advance_days)
            for p in stored
        ],
        notice_hours=[hours_text(p.min_notice_minutes if p else None) for p in stored],
        quota_hours=[hours_text(p.weekly_quota_minutes if p else None) for p in stored],
    )


def rule_rows(form: RulesForm, user_types: list[UserTypeRead], lang: str) -> list[RuleRow]:
    """The rows to show, in the order of the codes, with what was typed."""
    typed = {
        code: (a, n, q)
        for code, a, n, q in zip(
            _values(form.code),
            _values(form.advance_days),
            _values(form.notice_hours),
            _values(form.quota_hours),
            strict=False,
        )
    }
    labels = {t.code: t.label_fr if lang == "fr" else t.label_en for t in user_types}
    rows = []
    for index, code in enumerate(row_codes(user_types)):
        advance, notice, quota = typed.get(code, ("", "", ""))
        rows.append(RuleRow(index, code, labels.get(code, ""), advance, notice, quota))
    return rows


def check_rules(form: RulesForm, user_types: list[UserTypeRead]) -> tuple[Errors, list[Rule]]:
    """Errors by field (``advance_days-2``…) and the checked rows."""
    errors: Errors = {}
    rules: list[Rule] = []
    codes = row_codes(user_types)
    sent = _values(form.code)
    if sorted(sent) != sorted(codes):
        return {"rules": FieldError(N_("Open the page again: its user types changed."))}, []
    for row in rule_rows(form, user_types, "en"):
        advance = notice = quota = None
        if row.advance_days.strip():
            advance = _whole(row.advance_days, 1, MAX_ADVANCE_DAYS)
            if advance is None:
                errors[f"advance_days-{row.index}"] = FieldError(
                    N_("Enter a whole number of days from 1 to %(n)s."), {"n": MAX_ADVANCE_DAYS}
                )
        if row.notice_hours.strip():
            notice = parse_hours(row.notice_hours, MAX_NOTICE_HOURS)
            if notice is None:
                errors[f"notice_hours-{row.index}"] = FieldError(
                    HOURS_ERROR, {"n": MAX_NOTICE_HOURS}
                )
        if row.quota_hours.strip():
            quota = parse_hours(row.quota_hours, MAX_QUOTA_HOURS)
            if quota is None:
                errors[f"quota_hours-{row.index}"] = FieldError(HOURS_ERROR, {"n": MAX_QUOTA_HOURS})
        rules.append(Rule(row.code, advance, notice, quota))
    return errors, rules


def _whole(text: str, low: int, high: int) -> int | None:
    value = text.strip()
    if not re.fullmatch(r"\d{1,4}", value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def policies_with(policies: list[PolicyRead], rules: list[Rule]) -> list[PolicyWrite]:
    """Every policy to store: the rows' values set, the rest of each policy kept; a row
    left empty whose policy holds nothing else is dropped."""
    by_code = {rule.code: rule for rule in rules}
    kept: list[PolicyWrite] = []
    for policy in policies:
        code = policy.user_type_code or EVERYONE
        if policy.resource_id is not None or code not in by_code:
            kept.append(PolicyWrite.model_validate(policy.model_dump(exclude={"id"})))
    for rule in rules:
        stored = _stored(policies, rule.code)
        base = stored.model_dump(exclude={"id"}) if stored else {}
        merged = PolicyWrite.model_validate(
            {
                **base,
                "user_type_code": None if rule.code == EVERYONE else rule.code,
                "max_advance_days": rule.advance_days,
                "min_notice_minutes": rule.notice_minutes,
                "weekly_quota_minutes": rule.quota_minutes,
            }
        )
        values = merged.model_dump(exclude={"resource_id", "user_type_code"})
        if any(v is not None for v in values.values()):
            kept.append(merged)
    return kept
