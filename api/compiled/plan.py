"""A plan: a read query's fields as a tree of steps, each a resolver call and a serializer.

Running a plan calls the same resolvers graphql-core would call, in the same order of response
keys, and serializes leaves with the schema's own scalars and enums; what it leaves out is the
machinery around each field (resolve infos, paths, extension hooks, result completion). Awaitable
results (data loaders, counts) are gathered level by level, as graphql-core gathers them, so
loaders batch the same way.

A plan never answers differently from graphql-core: where graphql-core would report an error
(a resolver raises, a non-null field is null, an object of the wrong type) the run stops with
`Abort`, and the request is answered by Strawberry instead.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import Undefined


class Abort(Exception):
    """This request cannot be answered exactly as graphql-core would: let Strawberry answer it."""


class Unsupported(Exception):
    """The document asks for something a plan does not do; Strawberry answers it, always."""


class PlanInfo:
    """What a resolver gets as `info` in a plan: the request's context and nothing else.

    Our resolvers read only `info.context`; one that reads more makes its document unplannable.
    """

    __slots__ = ("context",)

    def __init__(self, context: object) -> None:
        self.context = context

    def __getattr__(self, name: str) -> Any:
        raise Unsupported(f"a resolver reads info.{name}")


Complete = Callable[[Any, "Run"], Any]
Read = Callable[[Any, "Run"], Any]


@dataclass(frozen=True, slots=True)
class Step:
    """One response key of an object: how to read its value, and how to complete it."""

    key: str
    read: Read
    complete: Complete
    may_wait: bool  # a resolver's result may be awaitable
    attribute: str | None = None  # a field without resolver: read is getattr(source, attribute)


class Run:
    """One request's run of a plan: the resolvers' info, the variables, the results still awaited."""

    __slots__ = ("info", "pending", "variables")

    def __init__(self, info: PlanInfo, variables: Any) -> None:
        self.info = info
        self.variables = variables
        self.pending: list[tuple[Any, Any, Awaitable[Any], Complete]] = []

    async def settle(self) -> None:
        """Await what resolvers left pending, a level at a time, and complete each value in its place."""
        while self.pending:
            batch, self.pending = self.pending, []
            values = await asyncio.gather(*(waiting for _, _, waiting, _ in batch), return_exceptions=True)
            for (target, key, _, complete), value in zip(batch, values, strict=True):
                if isinstance(value, Exception):
                    raise value
                if isinstance(value, BaseException):  # a resolver's task was cancelled, not this request
                    raise Abort("a resolver was cancelled") from value
                target[key] = complete(value, self)

    def discard(self) -> None:
        """After an abort: close what was never awaited, so nothing runs or warns later."""
        for _, _, waiting, _ in self.pending:
            if inspect.iscoroutine(waiting):
                waiting.close()
            elif isinstance(waiting, asyncio.Future):
                waiting.cancel()
        self.pending = []


def write_object(steps: Sequence[Step], source: Any, run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for step in steps:
        if step.attribute is not None:
            out[step.key] = step.complete(getattr(source, step.attribute), run)
            continue
        value = step.read(source, run)
        if step.may_wait and inspect.isawaitable(value):
            out[step.key] = None
            run.pending.append((out, step.key, value, step.complete))
        else:
            out[step.key] = step.complete(value, run)
    return out


def leaf(
    serialize: Callable[[Any], Any], non_null: bool, same: type | None = None, names: dict[Any, str] | None = None
) -> Complete:
    """`same`: a Python type the scalar serializes to itself (str for String and ID, bool for Boolean);
    `names`: an enum's members and the names serialize gives them."""
    members = next(iter(names)).__class__ if names else None

    def complete(value: Any, run: Run) -> Any:
        kind = value.__class__
        if kind is same:
            return value
        if kind is members:
            return names[value]  # type: ignore[index]
        if value is None:
            if non_null:
                raise Abort("null in a non-null field")
            return None
        shown = serialize(value)
        if shown is None or shown is Undefined:
            raise Abort("a leaf serialized to nothing")
        return shown

    return complete


def obj(steps: Sequence[Step], is_type_of: Callable[[Any, Any], bool] | None, non_null: bool) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            if non_null:
                raise Abort("null in a non-null field")
            return None
        if is_type_of is not None and not is_type_of(value, None):
            raise Abort("an object of another type")
        return write_object(steps, value, run)

    return complete


def listed(item: Complete, non_null: bool) -> Complete:
    def complete(value: Any, run: Run) -> Any:
        if value is None:
            if non_null:
                raise Abort("null in a non-null field")
            return None
        if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
            raise Abort("a list field did not give a list")
        return [item(v, run) for v in value]

    return complete


def typename(name: str) -> Read:
    def read(source: Any, run: Run) -> str:
        return name

    return read


def as_is(value: Any, run: Run) -> Any:
    return value


@dataclass(frozen=True)
class Plan:
    """A planned query operation: its root steps and what each request must supply."""

    document: Any  # DocumentNode, for the cost of a request whose variables change it
    operation_name: str | None
    steps: tuple[Step, ...]
    variable_definitions: tuple[Any, ...]  # VariableDefinitionNode

    async def run(self, info: PlanInfo, variables: Any) -> dict[str, Any]:
        """The `data` of the answer; raises Abort (or any resolver's error) where graphql-core would report one."""
        run = Run(info, variables)
        try:
            data = write_object(self.steps, None, run)
            await run.settle()
        except Exception:
            run.discard()
            raise
        return data
