"""Citizen ID numbers (公民身份号码, GB 11643): 18 characters, the last a check digit."""

from __future__ import annotations

import re
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SHAPE = re.compile(r"^\d{17}[\dX]$")


class CitizenIdError(ValueError):
    pass


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date_of(citizen_id: str) -> date:
    return date(int(citizen_id[6:10]), int(citizen_id[10:12]), int(citizen_id[12:14]))


def normalise(citizen_id: str) -> str:
    """The ID in canonical form, or CitizenIdError saying what is wrong with it."""
    value = citizen_id.strip().upper()
    if not SHAPE.match(value):
        raise CitizenIdError("身份证号应为18位：17位数字加1位校验码（数字或X）(18 characters)")
    if check_char(value[:17]) != value[17]:
        raise CitizenIdError("身份证号校验码不正确 (check digit does not match, GB 11643)")
    try:
        birth_date_of(value)
    except ValueError as exc:
        raise CitizenIdError("身份证号中的出生日期不存在 (impossible birth date in the ID)") from exc
    return value


def mask(citizen_id: str) -> str:
    """652323********1234: region and last four only."""
    return citizen_id[:6] + "*" * 8 + citizen_id[-4:] if len(citizen_id) == 18 else "*" * len(citizen_id)


def make(region: str, born: date, sequence: int) -> str:
    """A valid ID for demo data and tests (region 6 digits, sequence 0-999)."""
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


def mask_phone(phone: str) -> str:
    """139****0001: the first three and last four digits."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def mask_address(address: str) -> str:
    """The first six characters, then ***: enough to know the area, not the door."""
    return address[:6] + "***" if len(address) > 6 else "***" if address else ""
