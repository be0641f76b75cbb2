"""Date and DateTime as the county's records can hold them.

Strawberry's scalars take any ISO date Python can hold (years 1 to 9999), and a day in year 1 or
9999 then fails deep inside (a moment in county time before the first one UTC can hold, a column
past its range) as an internal error. Here such a value is bad input where it enters the API,
whatever field it is for: filters, mutations, arguments, literals and variables alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

FIRST_YEAR, LAST_YEAR = 1900, 2199  # births, school years, deadlines: all fall well inside


def _in_range(parse: Callable[[object], object], name: str) -> Callable[[object], object]:
    def checked(value: object) -> object:
        parsed = parse(value)
        year = parsed.year if isinstance(parsed, (dt.date, dt.datetime)) else None
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(
                f"{name} {value!s} 超出 {FIRST_YEAR}-{LAST_YEAR} 年的范围 (out of range {FIRST_YEAR}-{LAST_YEAR})"
            )
        return parsed

    return checked


def _bounded(definition: ScalarDefinition) -> ScalarDefinition:
    return ScalarDefinition(
        name=definition.name,
        description=definition.description,
        specified_by_url=definition.specified_by_url,
        serialize=definition.serialize,
        parse_value=_in_range(definition.parse_value, definition.name),
        parse_literal=None,
        origin=definition.origin,
    )


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    dt.date: _bounded(DateDefinition),
    dt.datetime: _bounded(DateTimeDefinition),
}
