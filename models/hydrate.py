"""Rows into model instances, the same instances Tortoise's `_init_from_db` makes, at half the cost.

`_init_from_db` takes each row as keyword arguments and sorts its fields into three groups on every
call; the liaison's queue makes some 200 instances a request that way. A Hydrator sorts the fields
once per model, column order and database backend. tests/test_hydrate.py holds it to
`_init_from_db`'s result, field by field, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.fields import DatetimeField, Field
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_timezone, get_use_tz

M = TypeVar("M", bound=Model)
Convert = Callable[[Any], Any] | None


class Hydrator(Generic[M]):
    def __init__(self, model: type[M], columns: Sequence[str]) -> None:
        meta = model._meta
        convert: dict[str, Convert] = {key: None for key, _, _ in meta.db_native_fields}
        convert.update({key: field.field_type for key, _, field in meta.db_default_fields})
        convert.update({key: _converter(field) for key, _, field in meta.db_complex_fields})
        if set(convert) != set(columns):
            raise ValueError(f"{model.__name__}: a hydrator needs every column, once: {sorted(convert)}")
        attribute = meta.fields_db_projection_reverse
        self.model = model
        self.fields = tuple((attribute[column], convert[column]) for column in columns)
        self.custom_pk = meta.db_pk_column not in meta.generated_db_fields

    def __call__(self, values: Sequence[Any]) -> M:
        instance = self.model.__new__(self.model)
        state = instance.__dict__
        state["_partial"] = False
        state["_saved_in_db"] = True
        state["_custom_generated_pk"] = self.custom_pk
        state["_await_when_save"] = {}
        for (name, convert), value in zip(self.fields, values, strict=True):
            state[name] = value if convert is None or value is None else convert(value)
        return instance


def _converter(field: Field[Any]) -> Convert:
    """The field's to_python_value, with a shortcut for the values PostgreSQL's driver already gives converted."""
    slow = field.to_python_value
    if type(field).to_python_value is DatetimeField.to_python_value and get_use_tz():
        zone = get_default_timezone()

        def aware(value: Any) -> Any:
            if value.__class__ is datetime and value.utcoffset() is not None:
                return value.astimezone(zone)  # what to_python_value does with an aware datetime
            return slow(value)

        return aware
    if type(field).to_python_value is CharEnumFieldInstance.to_python_value:
        members = field.enum_type._value2member_map_  # type: ignore[attr-defined]

        def member(value: Any) -> Any:
            found = members.get(value)  # where Enum(value) looks first
            return found if found is not None else slow(value)

        return member
    return slow


_made: dict[tuple[Any, ...], Hydrator[Any]] = {}


def hydrator(model: type[M], columns: Sequence[str]) -> Hydrator[M]:
    """One per model, columns, backend (whose driver decides which values come converted) and time zone setting."""
    key = (model, tuple(columns), model._meta.db.executor_class, get_use_tz(), get_timezone())
    made = _made.get(key)
    if made is None:
        made = _made[key] = Hydrator(model, columns)
    return made
