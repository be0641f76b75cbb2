"""SQL fragments for statements whose answer is JSON built by PostgreSQL (api/compiled/sql_plan.py).

Each fragment writes a value exactly as the API's Python writes it: global ids (base64 of
"Type:pk"), moments in county time as `datetime.isoformat()` gives them, dates, keyset cursors
(models/paging.py), the citizen id masked (models/citizen_id.mask). Querysets built by the same
functions the resolvers call are rendered to parameterized SQL here, so that a compiled read filters
by exactly the rule the resolvers apply (tasks/access.py); our own enum values in them (Tortoise
passes them as strings: any parameter equal to a value of one of our models' enums) are written
into the SQL as literals, and equal parameters are said once, so that PostgreSQL keeps one generic
plan of the prepared statement.

Each parameter is written as a scalar subquery, `(SELECT $2::bigint)`: the planner sees its value in no
plan, so a plan made for one execution's values costs what the generic plan costs, and PostgreSQL keeps
the generic plan after its first five executions. Written `$2`, a plan for the viewer's own unit id can look
cheaper than the generic one (a value the statistics say is rare), and PostgreSQL then plans the
statement again at every execution: 2-7 ms of planning for a school's cases (docs/benchmark-reads.md).
The subquery is evaluated once per execution (an InitPlan) and is still an index condition.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from tortoise.queryset import AwaitableQuery

from config import settings

PLACEHOLDER = re.compile(r"\$(\d+)")
LIMIT = re.compile(r"LIMIT \$(\d+)")
# A parameter's type by its Python type (the first that matches: bool before int, datetime before date).
SQL_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (str, "text"),
    (datetime, "timestamptz"),
    (date, "date"),
    (float, "double precision"),
    (Decimal, "numeric"),
    (UUID, "uuid"),
)


class Params:
    """PostgreSQL's numbered placeholders, one per distinct value (of the same type)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.seen: dict[tuple[type, Any], str] = {}

    def __call__(self, value: Any, name: str | None = None) -> str:
        """`name` is ignored: equal values share a placeholder anyway (tasks/queue/unit_page.py names them)."""
        key = (type(value), value)
        try:
            known = self.seen.get(key)
        except TypeError:  # unhashable
            known = None
        if known is not None:
            return known
        self.values.append(value)
        placeholder = _unseen(f"${len(self.values)}", value)
        with contextlib.suppress(TypeError):
            self.seen[key] = placeholder
        return placeholder


def _unseen(placeholder: str, value: Any) -> str:
    """The placeholder as a value the planner does not see (see above); as it is if its type is not known."""
    sql_type = next((name for kind, name in SQL_TYPES if isinstance(value, kind)), None)
    return f"(SELECT {placeholder}::{sql_type})" if sql_type else placeholder


def _enum_values() -> frozenset[str]:
    from models import cases, children, facts, tasks, units, users

    found = set()
    for module in (cases, children, facts, tasks, units, users):
        for item in vars(module).values():
            if isinstance(item, type) and issubclass(item, Enum) and item.__module__ == module.__name__:
                found.update(str(member.value) for member in item)
    return frozenset(v for v in found if v.isidentifier())


ENUM_VALUES = _enum_values()


def literal(value: Enum | str) -> str:
    text = str(value.value) if isinstance(value, Enum) else value
    assert text.isidentifier(), text  # an enum value of ours, safe to write into the SQL
    return f"'{text}'"


def rendered(query: AwaitableQuery[Any], p: Params) -> str:
    """A queryset's SQL with its parameters moved into `p` (enum values written as literals)."""
    query._choose_db_if_not_chosen()
    query._make_query()  # type: ignore[attr-defined]
    sql, values = query.query.get_parameterized_sql()  # type: ignore[attr-defined]

    def limit(match: re.Match[str]) -> str:
        value = values[int(match.group(1)) - 1]
        assert isinstance(value, int) and not isinstance(value, bool)
        return f"LIMIT {value}"  # a page size (1-101): a parameter would keep PostgreSQL from a generic plan

    sql = LIMIT.sub(limit, sql)

    def replace(match: re.Match[str]) -> str:
        value = values[int(match.group(1)) - 1]
        if isinstance(value, Enum) or (isinstance(value, str) and value in ENUM_VALUES):
            return literal(value)  # Tortoise gives enum values as their strings
        return p(value)

    return PLACEHOLDER.sub(replace, sql)


def row_condition(ids_sql: str, table: str) -> str | None:
    """The WHERE of `SELECT "id" FROM <table> WHERE …` (a rendered `.values("id")` of one table, unlimited), to
    test on a row of that table in place of `"id" IN (<those ids>)`; None if the statement reads more than that
    table. Its columns are written bare, so they name the row of the FROM it is put in."""
    # A model's Meta.ordering gives the statement a last ORDER BY (of bare columns): not part of the condition.
    match = re.fullmatch(
        rf'SELECT "id" "id" FROM "{table}" WHERE (.+?)(?: ORDER BY "[^()]*)?', ids_sql, flags=re.DOTALL
    )
    if match is None or f'"{table}".' in match.group(1):  # a join, or a column named by its table
        return None
    return f"({match.group(1)})"


def county_zone() -> str:
    zone = settings().county_timezone
    assert re.fullmatch(r"[A-Za-z0-9_/+-]+", zone), zone
    return zone


def _iso(expr: str, zone: str) -> str:
    local = f"({expr} AT TIME ZONE '{zone}')"
    fraction = (
        f"CASE WHEN date_part('microseconds', {local})::int % 1000000 = 0 THEN '' ELSE to_char({local}, '.US') END"
    )
    return f"""to_char({local}, 'YYYY-MM-DD"T"HH24:MI:SS') || {fraction}"""


def iso_moment(expr: str) -> str:
    """A timestamptz in county time, as Python's isoformat() writes it (2026-09-03T09:00:00+08:00). The
    session runs in the county's zone (models/db.py session_settings), so one to_char writes it with its offset."""
    whole = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'
    fraction = 'YYYY-MM-DD"T"HH24:MI:SS.USTZH:TZM'
    return (
        f"CASE WHEN date_trunc('second', {expr}) = {expr} THEN to_char({expr}, '{whole}')"
        f" ELSE to_char({expr}, '{fraction}') END"
    )


def iso_utc(expr: str) -> str:
    """A timestamptz in UTC, as the rows' own datetimes write it (the cursors hold them)."""
    return f"{_iso(expr, 'UTC')} || '+00:00'"


def iso_day(expr: str) -> str:
    """A date, as date.isoformat() writes it."""
    return f"to_char({expr}, 'YYYY-MM-DD')"


def local_day(expr: str) -> str:
    """The county's calendar day of a timestamptz."""
    return f"to_char({expr} AT TIME ZONE '{county_zone()}', 'YYYY-MM-DD')"


def base64(text_expr: str) -> str:
    return f"replace(encode(convert_to({text_expr}, 'UTF8'), 'base64'), E'\\n', '')"


def global_id(type_name: str, pk_expr: str) -> str:
    assert type_name.isidentifier()
    return base64(f"'{type_name}:' || {pk_expr}")


def cursor(keys: list[tuple[str, str | None]]) -> str:
    """models.paging.encode_cursor: base64url, unpadded, of the JSON array of the sort values (`keys`: an
    expression and its kind: "moment" and "date" are written tagged, as _encode_value writes them; "text" as a JSON
    string, escaped by to_json as orjson escapes it: quote, backslash and control characters only)."""

    def value(expr: str, kind: str | None) -> str:
        if kind == "moment":
            return f"""'{{"dt":"' || {iso_utc(expr)} || '"}}'"""
        if kind == "date":
            return f"""'{{"d":"' || {iso_day(expr)} || '"}}'"""
        if kind == "text":
            return f"to_json({expr})::text"
        return f"{expr}::text"

    array = "'[' || " + " || ',' || ".join(value(e, kind) for e, kind in keys) + " || ']'"
    return f"rtrim(translate(encode(convert_to({array}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def masked_student_number(number: str, citizen_id: str) -> str:
    """tasks.access.Disclosure.show_student_number: a 学籍号 that carries the citizen ID shows it masked."""
    return (
        f"CASE WHEN {number} IS NULL OR {citizen_id} = '' OR strpos({number}, {citizen_id}) = 0 THEN {number}"
        f" ELSE replace({number}, {citizen_id}, {masked_citizen_id(citizen_id)}) END"
    )


def masked_citizen_id(expr: str) -> str:
    """models.citizen_id.mask: region and last four of an 18-character id; stars otherwise."""
    return (
        f"CASE WHEN char_length({expr}) = 18 THEN left({expr}, 6) || '********' || right({expr}, 4)"
        f" ELSE repeat('*', char_length({expr})) END"
    )


# Where a value cannot be written as the API writes it, the statement writes this (json keeps it verbatim, and no
# value of ours is an object written without spaces): an answer holding it is declined (api/compiled/sql_plan.py).
UNWRITTEN = '{"__unwritten__":true}'
# The integers orjson reads as int; beyond them it reads a float.
_ORJSON_INTS = "-9223372036854775808 AND 18446744073709551615"


def python_str(value: str) -> str:
    """str() of a JSON value (a jsonb expression) as orjson reads it, as json: NULL for null, a string as it is,
    True or False, an integer's digits. UNWRITTEN for what SQL cannot write exactly as Python does: a float (repr()
    writes the shortest round-trip digits, and PostgreSQL's float8 text is not always those: -4.976968882285568e+20
    is -4.9769688822855683e+20 there), a list or an object (repr() quotes and escapes strings by Unicode's
    printable classes)."""
    text = f"({value} #>> '{{}}')"
    integer = f"{text} ~ '^-?[0-9]+$' AND {text}::numeric BETWEEN {_ORJSON_INTS}"
    return (
        f"CASE jsonb_typeof({value}) WHEN 'null' THEN NULL::json WHEN 'string' THEN to_json({text})"
        f" WHEN 'boolean' THEN to_json(CASE WHEN {text} = 'true' THEN 'True' ELSE 'False' END)"
        f" WHEN 'number' THEN CASE WHEN {integer} THEN to_json({text}) ELSE '{UNWRITTEN}'::json END"
        f" ELSE '{UNWRITTEN}'::json END"
    )
