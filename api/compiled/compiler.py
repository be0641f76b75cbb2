"""Turn a query document into a plan (api.compiled.plan), or say why it cannot be one.

Only documents Strawberry has already answered without an error are planned (api.compiled.endpoint),
so parsing, validation and the limits on depth, aliases and tokens have passed; what is left here is
field collection (fragments, aliases, merged fields, as graphql-core collects them) and the choice of
a reader and a completer for each field. Refused: mutations and subscriptions, directives
(@skip, @include), introspection, abstract types (Node), fields with Strawberry extensions or permission
classes, resolvers that take parent or root parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from operator import attrgetter
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
    InlineFragmentNode,
    NamedTypeNode,
    OperationType,
    SelectionSetNode,
    Visitor,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    parse,
    visit,
)
from graphql.execution.values import get_argument_values
from strawberry import Schema
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from api.compiled.plan import Complete, Plan, Read, Run, Step, Unsupported, as_is, leaf, listed, obj, typename

STRAWBERRY_FIELD = "strawberry-definition"
# Scalars whose serialize returns a value of this Python type as it is.
SHOWN_AS_IS = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _enum_names(gql_type: Any) -> dict[Any, str] | None:
    """A Strawberry enum's members and their names, as its serialize gives them."""
    members = getattr(gql_type, "wrapped_cls", None)
    if not isinstance(gql_type, GraphQLEnumType) or not isinstance(members, type) or not issubclass(members, Enum):
        return None
    return {member: gql_type.serialize(member) for member in members} or None


class _RefuseDirectives(Visitor):
    def enter_directive(self, node: DirectiveNode, *args: Any) -> None:
        raise Unsupported(f"directive @{node.name.value}")


def compile_query(schema: Schema, query: str, operation_name: str | None) -> Plan:
    document = parse(query, no_location=True)
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise Unsupported("not a single query operation")
    visit(document, _RefuseDirectives())
    planner = _Planner(schema, document)
    root = schema._schema.query_type
    assert root is not None
    steps = planner.steps(root, planner.collect(root, [operation.selection_set]))
    return Plan(document, operation_name, steps, tuple(operation.variable_definitions or ()))


class _Planner:
    def __init__(self, schema: Schema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def collect(
        self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key, in document order, fragments spread in; as graphql-core's collect_fields."""
        grouped: dict[str, list[FieldNode]] = {}
        seen: set[str] = set()

        def walk(selection_set: SelectionSetNode) -> None:
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    grouped.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if self._applies(selection.type_condition, parent):
                        walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if name in seen or fragment is None:
                        continue
                    seen.add(name)
                    if self._applies(fragment.type_condition, parent):
                        walk(fragment.selection_set)

        for selection_set in selection_sets:
            walk(selection_set)
        return grouped

    def _applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = self.schema._schema.get_type(condition.name.value)
        if named is parent:
            return True
        return named is not None and is_abstract_type(named) and self.schema._schema.is_sub_type(named, parent)  # type: ignore[arg-type]

    def steps(self, parent: GraphQLObjectType, grouped: dict[str, list[FieldNode]]) -> tuple[Step, ...]:
        planned = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                planned.append(Step(key, typename(parent.name), as_is, False))
                continue
            if name.startswith("__"):
                raise Unsupported(f"introspection: {name}")
            field = parent.fields[name]
            definition = field.extensions.get(STRAWBERRY_FIELD)
            if not isinstance(definition, StrawberryField):
                raise Unsupported(f"{parent.name}.{name} is not a Strawberry field")
            read, may_wait = self._reader(parent, field, definition, nodes[0])
            attribute = None if definition.base_resolver else definition.python_name
            planned.append(Step(key, read, self._completer(field.type, nodes), may_wait, attribute))
        return tuple(planned)

    def _reader(
        self, parent: GraphQLObjectType, field: GraphQLField, definition: StrawberryField, node: FieldNode
    ) -> tuple[Read, bool]:
        where = f"{parent.name}.{node.name.value}"
        if definition.extensions or definition.permission_classes:
            raise Unsupported(f"{where} has field extensions or permissions")
        resolver = definition.base_resolver
        if resolver is None:
            get = attrgetter(definition.python_name)  # Strawberry's default resolver is getattr

            def read_attribute(source: Any, run: Run) -> Any:
                return get(source)

            return read_attribute, False
        if resolver.parent_parameter is not None or resolver.root_parameter is not None:
            raise Unsupported(f"{where} takes a parent or root parameter")
        function = resolver.wrapped_func
        if not callable(function):
            raise Unsupported(f"{where} has no callable resolver")
        takes_self = resolver.self_parameter is not None
        info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
        arguments = definition.arguments
        config = self.schema.config
        scalars = self.schema.schema_converter.scalar_registry

        def read_resolved(source: Any, run: Run) -> Any:
            kwargs = {}
            if field.args:
                given = get_argument_values(field, node, run.variables)
                kwargs = convert_arguments(given, arguments, scalar_registry=scalars, config=config)
            if info_name is not None:
                kwargs[info_name] = run.info
            return function(source, **kwargs) if takes_self else function(**kwargs)

        return read_resolved, True

    def _completer(self, gql_type: Any, nodes: list[FieldNode]) -> Complete:
        non_null = isinstance(gql_type, GraphQLNonNull)
        inner = gql_type.of_type if non_null else gql_type
        if isinstance(inner, GraphQLList):
            return listed(self._completer(inner.of_type, nodes), non_null)
        if is_leaf_type(inner):
            return leaf(inner.serialize, non_null, SHOWN_AS_IS.get(inner), _enum_names(inner))
        if isinstance(inner, GraphQLObjectType):
            selections = [n.selection_set for n in nodes if n.selection_set is not None]
            steps = self.steps(inner, self.collect(inner, selections))
            return obj(steps, inner.is_type_of, non_null)
        raise Unsupported(f"abstract type {inner}")
