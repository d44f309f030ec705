"""Parties (当事人): the resident identity number (GB 11643-1999) checked, phones and numbers masked.

An ID number is 17 digits and a check character: the digits weighted by 2^(17-i) mod 11, summed,
mod 11, pick the check from ``10X98765432``. Positions 7–14 are the date of birth, which must be a
real date between 1900 and today. Lists and the detail show the number masked (first three, last
four); the full number is shown only on request, and the request is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from dispatch_console.kernel.errors import ValidationError
from dispatch_console.kernel.i18n import N_, _

PARTY_ROLES: dict[str, str] = {
    "applicant": N_("applicant"),
    "respondent": N_("respondent"),
    "other": N_("other party"),
}
MAX_NAME = 100
MAX_PHONE = 32
MAX_PARTIES = 50

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^\+?[\d\- ]{3,20}$")


@dataclass(frozen=True)
class PartyDraft:
    name: str
    role: str = "applicant"
    phone: str | None = None
    id_number: str | None = None


def id_problem(value: str, today: date | None = None) -> str | None:
    """Why ``value`` is not a valid resident ID number, or None if it is."""
    text = value.strip().upper()
    if not _ID_SHAPE.match(text):
        return _("an ID number is 17 digits and a check digit or X (18 characters)")
    total = sum(int(d) * w for d, w in zip(text[:17], _WEIGHTS, strict=True))
    if _CHECK[total % 11] != text[17]:
        return _("the check digit is wrong (GB 11643): mistyped?")
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return _("positions 7–14 are not a date of birth")
    if born.year < 1900 or born > (today or date.today()):
        return _("the date of birth {born} is not possible").format(born=born.isoformat())
    return None


def normalise_id(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    return value.strip().upper()


def mask_id(value: str | None) -> str | None:
    """An ID number as lists show it: ``440***********123X``."""
    if not value:
        return value
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def check_party(party: PartyDraft, position: int, today: date | None = None) -> PartyDraft:
    """The party cleaned, or ValidationError naming the party's position and the reason."""
    where = _("party {n}").format(n=position)
    name = (party.name or "").strip()
    if not name:
        raise ValidationError(_("{where}: a name is needed.").format(where=where), "parties")
    if len(name) > MAX_NAME:
        raise ValidationError(_("{where}: the name is longer than {n} characters.").format(
            where=where, n=MAX_NAME), "parties")
    if party.role not in PARTY_ROLES:
        raise ValidationError(_("{where}: role {role} is not one of {roles}.").format(
            where=where, role=party.role, roles=", ".join(PARTY_ROLES)), "parties")
    phone = (party.phone or "").strip() or None
    if phone is not None and (len(phone) > MAX_PHONE or not _PHONE.match(phone)
                              or sum(ch.isdigit() for ch in phone) < 3):
        raise ValidationError(_("{where}: {value} does not look like a phone number.").format(
            where=where, value=phone), "parties")
    id_number = normalise_id(party.id_number)
    if id_number is not None:
        problem = id_problem(id_number, today)
        if problem is not None:
            raise ValidationError(_("{where}: ID number {value}: {problem}.").format(
                where=where, value=mask_id(id_number) if len(id_number) == 18 else id_number, problem=problem),
                "parties")
    return PartyDraft(name=name, role=party.role, phone=phone, id_number=id_number)


def make_id_number(prefix17: str) -> str:
    """The full ID number for 17 digits (its check character appended): for demo data and tests."""
    if not re.fullmatch(r"\d{17}", prefix17):
        raise ValueError("17 digits")
    total = sum(int(d) * w for d, w in zip(prefix17, _WEIGHTS, strict=True))
    return prefix17 + _CHECK[total % 11]
