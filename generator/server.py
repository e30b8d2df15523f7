"""The server view: per proto file, validation rules and servicers over the runtime's standard
methods; per run, the entry point that serves them all. `templates/server.py.j2` lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.model import (
    ANY,
    Kind,
    Api,
    Message,
    Method,
    ProtoFile,
    Service,
    StandardMethod,
    UPDATE_MASK,
    snake_case,
)
from generator.layout import (
    Brackets,
    Expression,
    exploded,
    expression,
    return_annotation,
    tuple_expression,
)
from generator.options import PluginOptions
from generator.python_names import (
    Imports,
    docstring,
    message_module,
    module_name,
    python_literal,
)
from generator.rules import (
    FLOAT_SCALARS,
    INTEGER_SCALARS,
    Constraint,
    exactly_one_sentence,
)
from generator.runtime.contract import (
    CONTRACT,
    SERVER,
    SERVICE,
    VALIDATION,
    Bound,
    MutationKind,
    StandardCall,
)
from generator.runtime_names import member, version_check
from generator.runtime_names import name as runtime_name
from generator.runtime_names import imports as runtime_imports

# The indentation at which server.py.j2 places what the view lays out.
_CHECK_INDENT = 24  # a Check's arguments
_ONEOF_INDENT = 16  # a OneofRule's arguments
_SPEC_INDENT = 4  # a spec's arguments
_RESOURCE_INDENT = 8  # a ResourceSpec's arguments
_CLASS_INDENT = 4  # a servicer's bases, statements and signatures

# What the runtime calls a mutating standard method, and what servicers call for each.
MUTATION_KINDS = {
    StandardMethod.CREATE: MutationKind.CREATE,
    StandardMethod.UPDATE: MutationKind.UPDATE,
    StandardMethod.DELETE: MutationKind.DELETE,
}
STANDARD_CALLS = {
    StandardMethod.GET: StandardCall.GET,
    StandardMethod.LIST: StandardCall.LIST,
    StandardMethod.LIST_OPERATIONS: StandardCall.LIST_OPERATIONS,
    StandardMethod.CREATE: StandardCall.CREATE,
    StandardMethod.UPDATE: StandardCall.UPDATE,
    StandardMethod.DELETE: StandardCall.DELETE,
}
# The status a resource shows when no operation changes it, and while one of each kind runs:
# the Yandex Cloud convention for a resource's `status` enum.
READY_STATUS = "READY"
RUNNING_STATUSES = {
    StandardMethod.CREATE: "CREATING",
    StandardMethod.UPDATE: "UPDATING",
    StandardMethod.DELETE: "DELETING",
}
# The fields of List requests and responses that the runtime pages with (the model recognises
# a List by them), and the mask of an Update.
PAGE_SIZE, PAGE_TOKEN, NEXT_PAGE_TOKEN = "page_size", "page_token", "next_page_token"
FILTER, ORDER_BY = "filter", "order_by"
TIMESTAMP = "google.protobuf.Timestamp"
# Scalars that storage can index (all but bytes), as filter and order_by accept them.
INDEXABLE_SCALARS = INTEGER_SCALARS | FLOAT_SCALARS | {"string", "bool"}


@dataclass(frozen=True)
class CheckView:
    kind: str  # an expression of the runtime's CheckKind
    sentence: str
    bound: str  # a `Bound(...)` expression laid out after `bound=`, or ""
    pattern: str  # a string literal, or ""


@dataclass(frozen=True)
class FieldRulesView:
    name: str
    checks: tuple[CheckView, ...]
    message: str  # full name of a message type with rules of its own, or ""


@dataclass(frozen=True)
class OneofRuleView:
    name: str
    fields: str  # a tuple expression
    sentence: str  # a string literal


@dataclass(frozen=True)
class MessageRulesView:
    full_name: str
    fields: tuple[FieldRulesView, ...]
    oneofs: tuple[OneofRuleView, ...]


@dataclass(frozen=True)
class Argument:
    """A keyword argument of a spec constructor: `name=value` with value a Python expression."""

    name: str
    value: str


@dataclass(frozen=True)
class SpecView:
    variable: str
    constructor: str
    arguments: tuple[Argument, ...]


@dataclass(frozen=True)
class MethodView:
    name: str
    request: str
    returns: str  # the return annotation, laid out after `) -> `
    docstring: str
    call: str  # the body's return expression


@dataclass(frozen=True)
class ServiceView:
    class_name: str
    servicer: str  # the grpc_tools base class
    add_function: str
    base: str  # the runtime base class, laid out as the second base
    docstring: str
    resource: tuple[Argument, ...]  # empty for a service without a resource
    mutations: str  # a tuple expression, or "" for none
    methods: tuple[MethodView, ...]


@dataclass(frozen=True)
class EntryPoint:
    """api_server.py: the servers of a run's modules and their endpoint ids."""

    runtime_imports: tuple[str, ...]
    version_check: str
    imports: tuple[str, ...]
    services: str  # the statement `SERVICES: ... = (...)`
    endpoint_ids: str  # a tuple expression, laid out after `ENDPOINT_IDS: ... = `


@dataclass(frozen=True)
class ServerModule:
    source: str
    runtime_imports: tuple[str, ...]
    version_check: str
    imports: tuple[str, ...]
    rules: tuple[MessageRulesView, ...]
    specs: tuple[SpecView, ...]
    services: tuple[ServiceView, ...]


def bound_expression(bound: Bound) -> Brackets:
    arguments: list[Expression] = []
    if bound.allowed:
        items = tuple(python_literal(v) for v in bound.allowed)
        arguments.append(Brackets("allowed=(", items, ")", one_tuple=len(items) == 1))
    if bound.low is not None:
        arguments.append(f"low={python_literal(bound.low)}")
    if bound.high is not None:
        arguments.append(f"high={python_literal(bound.high)}")
    if not bound.low_inclusive:
        arguments.append("low_inclusive=False")
    if not bound.high_inclusive:
        arguments.append("high_inclusive=False")
    return Brackets(f"{runtime_name(CONTRACT, Bound.__name__)}(", tuple(arguments), ")")


def endpoint_id(package: str) -> str:
    """The service id that endpoint discovery (ApiEndpointService) lists for an API's package:
    the components after `yandex.cloud` (all of them for other packages) without version parts,
    joined by `-`, with `_` written `-` too, as service ids are. `yandex.cloud.baremetal.v1alpha`
    gives `baremetal`, `yandex.cloud.ai.foundation_models.v1` gives `ai-foundation-models`,
    `acme.fleet.v1` gives `acme-fleet`."""
    parts = package.split(".")
    if parts[:2] == ["yandex", "cloud"]:
        parts = parts[2:]
    product = [part for part in parts if not is_version(part)]
    return "-".join(product or parts).replace("_", "-")


def is_version(part: str) -> bool:
    """`v1`, `v1alpha`, `v2beta1`: a version component of a package name (the rule the docs
    defaults use too)."""
    return len(part) > 1 and part[0] == "v" and part[1].isdigit()


class ServerBuilder:
    def __init__(self, api: Api, options: PluginOptions) -> None:
        self.api = api
        self.options = options
        # Each message's rules, worked out once: many modules validate the same messages.
        self._message_views: dict[str, MessageRulesView] = {}
        # The model shares constraints between fields: each is laid out once (by identity,
        # which keeps -0.0 apart from 0.0).
        self._checks: dict[int, tuple[Constraint, CheckView]] = {}

    def served_services(self, proto_file: ProtoFile) -> list[Service]:
        return [service for service in proto_file.services if not service.is_framework]

    def entry_point(self, served: list[tuple[ProtoFile, Service]]) -> EntryPoint:
        """api_server.py, serving `served` (the services of their proto files)."""
        modules = [module_name(file.name, "_server") for file, _ in served]
        imports = Imports(self.api, modules)
        classes = [
            f"{imports.aliases[module]}.{service.name}"
            for module, (_, service) in zip(modules, served)
        ]
        # The endpoint ids of the APIs the services belong to, sorted, without repeats.
        ids = sorted({endpoint_id(service.package) for _, service in served})
        services = f"SERVICES: tuple[{runtime_name(SERVER, 'ServiceFactory')}, ...] = "
        return EntryPoint(
            runtime_imports=runtime_imports(SERVER),
            version_check=version_check(),
            imports=tuple(imports.lines()),
            services=services + tuple_expression(classes, 0, before=services),
            endpoint_ids=expression(
                Brackets(
                    "(",
                    tuple(python_literal(id_) for id_ in ids),
                    ")",
                    one_tuple=len(ids) == 1,
                ),
                0,
                before="ENDPOINT_IDS: tuple[str, ...] = ",
            ),
        )

    # --- validation rules ----------------------------------------------------------------------

    @cached_property
    def _has_rules(self) -> dict[str, bool]:
        """Whether a message, or any message inside it, carries constraints."""
        memo: dict[str, bool] = {}

        def visit(name: str, ancestors: frozenset[str]) -> bool:
            if name in memo:
                return memo[name]
            if name not in self.api.messages or name in ancestors:
                return False
            message = self.api.message(name)
            found = any(not item.rules.empty for item in message.fields) or any(
                oneof.exactly_one for oneof in message.oneofs
            )
            for item in message.fields:
                if item.message_type and visit(item.message_type, ancestors | {name}):
                    found = True
            memo[name] = found
            return found

        for name in self.api.messages:
            visit(name, frozenset())
        return memo

    def _rules(self, roots: list[str]) -> tuple[MessageRulesView, ...]:
        ordered: dict[str, None] = {}

        def visit(name: str) -> None:
            if name in ordered or not self._has_rules.get(name):
                return
            ordered[name] = None
            for item in self.api.message(name).fields:
                if item.message_type:
                    visit(item.message_type)

        for root in roots:
            visit(root)
        views = self._message_views
        for name in ordered:
            if name not in views:
                views[name] = self._message_rules(self.api.message(name))
        return tuple(views[name] for name in ordered)

    def _check(self, constraint: Constraint) -> CheckView:
        if id(constraint) not in self._checks:
            self._checks[id(constraint)] = (constraint, _check_view(constraint))
        return self._checks[id(constraint)][1]

    def _message_rules(self, message: Message) -> MessageRulesView:
        fields = []
        for item in message.fields:
            checks = tuple(map(self._check, item.rules.constraints))
            nested = item.message_type if self._has_rules.get(item.message_type) else ""
            if checks or nested:
                fields.append(FieldRulesView(item.name, checks, nested))
        oneofs = tuple(
            OneofRuleView(
                oneof.name,
                tuple_expression(
                    [python_literal(name) for name in oneof.fields],
                    _ONEOF_INDENT,
                    before="",
                    after=",",
                ),
                python_literal(exactly_one_sentence(oneof.fields)),
            )
            for oneof in message.oneofs
            if oneof.exactly_one
        )
        return MessageRulesView(message.full_name, tuple(fields), oneofs)

    # --- the module ----------------------------------------------------------------------------

    def module(self, proto_file: ProtoFile) -> ServerModule:
        services = self.served_services(proto_file)
        imports = Imports(self.api, self._modules(proto_file, services))
        specs: list[SpecView] = []
        views = [self._service(service, imports, specs) for service in services]
        roots = [method.input for service in services for method in service.methods]
        return ServerModule(
            source=proto_file.name,
            runtime_imports=runtime_imports(SERVICE, VALIDATION),
            version_check=version_check(),
            imports=tuple(imports.lines()),
            rules=self._rules(roots),
            specs=tuple(specs),
            services=tuple(views),
        )

    def _modules(self, proto_file: ProtoFile, services: list[Service]) -> set[str]:
        modules = {module_name(proto_file.name, "_pb2_grpc")}
        for service in services:
            for method in service.methods:
                modules.add(message_module(self.api, method.input))
                modules.add(message_module(self.api, method.output))
                if method.operation and method.standard and _typed_metadata(method):
                    modules.add(message_module(self.api, method.operation.metadata))
            if service.resource:
                modules.add(message_module(self.api, service.resource.message))
                status_enum = self._status_enum(service)
                if status_enum:
                    modules.add(message_module(self.api, status_enum))
                if service.standard_method(StandardMethod.UPDATE):
                    modules.add(module_name(proto_file.name, "_fieldmask"))
        return modules

    def _service(
        self, service: Service, imports: Imports, specs: list[SpecView]
    ) -> ServiceView:
        resource = service.resource
        methods = []
        mutations = []
        for method in service.methods:
            call = self._call(service, method, imports, specs)
            if method.standard in MUTATION_KINDS:
                mutations.append(specs[-1].variable)
            methods.append(
                MethodView(
                    name=method.name,
                    request=imports.message(method.input),
                    returns=return_annotation(
                        imports.message(method.output), _CLASS_INDENT, ":"
                    ),
                    docstring=docstring(method.comment, " " * 8),
                    call=call,
                )
            )
        grpc_module = imports.aliases[module_name(service.file, "_pb2_grpc")]
        return ServiceView(
            class_name=service.name,
            servicer=f"{grpc_module}.{service.name}Servicer",
            add_function=f"{grpc_module}.add_{service.name}Servicer_to_server",
            base=(
                expression(
                    Brackets(
                        f"{runtime_name(SERVICE, 'ResourceService')}[",
                        (imports.message(resource.message),),
                        "]",
                    ),
                    _CLASS_INDENT,
                    after=",",
                )
                if resource
                else runtime_name(SERVICE, "Service")
            ),
            # A blank comment (spaces only) makes no docstring: the class needs one.
            docstring=docstring(
                service.comment if service.comment.strip() else service.name, " " * 4
            ),
            resource=self._resource_arguments(service, imports) if resource else (),
            mutations=(
                tuple_expression(mutations, _CLASS_INDENT, before="MUTATIONS = ")
                if mutations
                else ""
            ),
            methods=tuple(methods),
        )

    def _status_enum(self, service: Service) -> str:
        """The full name of the resource's status enum, or "" if it has none."""
        resource = service.resource
        if resource is None or not resource.status_field:
            return ""
        status = self.api.message(resource.message).field(resource.status_field)
        return status.type.name if status is not None else ""

    def _status(self, service: Service, imports: Imports, name: str) -> str:
        """The Python expression of the status value `name`, or "None" if it has none."""
        resource = service.resource
        assert resource is not None
        enum = self._status_enum(service)
        if not enum or name not in dict(resource.status_values):
            return "None"
        return f"{imports.message(enum)}.{name}"

    def _indexed_fields(self, service: Service) -> list[str]:
        """The resource's fields that Lists order and filter by from storage indexes:
        top-level scalar, enum and Timestamp fields, besides the id and the parent."""
        resource = service.resource
        assert resource is not None
        found = []
        for item in self.api.message(resource.message).fields:
            if item.repeated or item.is_map:
                continue
            if item.name in (resource.id_field, resource.parent_field):
                continue
            kind = item.type.kind
            if (
                kind is Kind.ENUM
                or (kind is Kind.SCALAR and item.type.scalar in INDEXABLE_SCALARS)
                or (kind is Kind.MESSAGE and item.type.name == TIMESTAMP)
            ):
                found.append(item.name)
        return found

    def _resource_arguments(
        self, service: Service, imports: Imports
    ) -> tuple[Argument, ...]:
        resource = service.resource
        assert resource is not None
        indexed = [python_literal(name) for name in self._indexed_fields(service)]
        arguments = [
            Argument("kind", python_literal(resource.message)),
            Argument("label", python_literal(resource.label)),
            Argument("message", imports.message(resource.message)),
            Argument("id_field", python_literal(resource.id_field)),
            Argument("request_id_field", python_literal(resource.request_id_field)),
            Argument("parent_field", python_literal(resource.parent_field)),
            Argument("name_field", python_literal(resource.name_field)),
            Argument("created_at_field", python_literal(resource.created_at_field)),
            Argument("status_field", python_literal(resource.status_field)),
            Argument("ready_status", self._status(service, imports, READY_STATUS)),
            Argument(
                "unique_names",
                repr(
                    self.options.unique_names
                    and bool(resource.name_field and resource.parent_field)
                ),
            ),
            Argument(
                "indexed_fields",
                tuple_expression(
                    indexed, _RESOURCE_INDENT, before="indexed_fields=", after=","
                ),
            ),
        ]
        return tuple(arguments)

    def _call(
        self, service: Service, method: Method, imports: Imports, specs: list[SpecView]
    ) -> str:
        kind = method.standard
        variable = f"_{_constant(service.name)}_{_constant(method.name)}"
        if kind is StandardMethod.GET:
            return f"self.{StandardCall.GET.value}(request, context)"
        if kind in (StandardMethod.LIST, StandardMethod.LIST_OPERATIONS):
            request = self.api.message(method.input)
            resource = service.resource
            assert resource is not None and method.paging is not None
            parent = (
                resource.parent_field
                if kind is StandardMethod.LIST and request.field(resource.parent_field)
                else ""
            )

            def optional(name: str) -> str:
                """`name` if the request has that field (and the List uses it), else ""."""
                return python_literal(
                    name if kind is StandardMethod.LIST and request.field(name) else ""
                )

            specs.append(
                SpecView(
                    variable,
                    runtime_name(SERVICE, "ListSpec"),
                    (
                        Argument("response", imports.message(method.output)),
                        Argument(
                            "items_field", python_literal(method.paging.items_field)
                        ),
                        Argument(
                            "default_page_size", str(self.options.default_page_size)
                        ),
                        Argument("page_size_field", python_literal(PAGE_SIZE)),
                        Argument("page_token_field", python_literal(PAGE_TOKEN)),
                        Argument(
                            "next_page_token_field", python_literal(NEXT_PAGE_TOKEN)
                        ),
                        Argument("parent_field", python_literal(parent)),
                        Argument("filter_field", optional(FILTER)),
                        Argument("order_by_field", optional(ORDER_BY)),
                    ),
                )
            )
            call = STANDARD_CALLS[kind].value
            return exploded(f"self.{call}(", (variable, "request", "context"), ")")
        if kind in MUTATION_KINDS:
            specs.append(
                SpecView(
                    variable,
                    runtime_name(SERVICE, "MutationSpec"),
                    self._mutation_arguments(service, method, imports),
                )
            )
            call = STANDARD_CALLS[kind].value
            return exploded(f"self.{call}(", (variable, "request", "context"), ")")
        return exploded(
            f"self.{StandardCall.UNIMPLEMENTED.value}(",
            (python_literal(f"/{service.full_name}/{method.name}"), "context"),
            ")",
        )

    def _mutation_arguments(
        self, service: Service, method: Method, imports: Imports
    ) -> tuple[Argument, ...]:
        resource = service.resource
        assert (
            resource is not None
            and method.operation is not None
            and method.standard is not None
        )
        metadata = self.api.messages.get(method.operation.metadata)
        id_field = metadata.field(resource.request_id_field) if metadata else None
        metadata_id = (  # the runtime writes the new resource's (string) id there
            resource.request_id_field
            if id_field and id_field.type.scalar == "string" and not id_field.repeated
            else ""
        )
        arguments = [
            Argument("kind", member(MUTATION_KINDS[method.standard])),
            Argument("method", python_literal(f"/{service.full_name}/{method.name}")),
            Argument("request", imports.message(method.input)),
            Argument("description", python_literal(f"{method.name} {resource.label}")),
            Argument(
                "metadata",
                (
                    imports.message(method.operation.metadata)
                    if _typed_metadata(method)
                    else "None"
                ),
            ),
            Argument("metadata_id_field", python_literal(metadata_id)),
            Argument(
                "running_status",
                self._status(service, imports, RUNNING_STATUSES[method.standard]),
            ),
        ]
        if method.standard is StandardMethod.CREATE:
            copied = [
                f.name for f in self.api.mirrored_fields(method.input, resource.message)
            ]
            arguments.append(
                Argument(
                    "copy_fields",
                    tuple_expression(
                        [python_literal(name) for name in copied],
                        _SPEC_INDENT,
                        before="copy_fields=",
                        after=",",
                    ),
                )
            )
        if method.standard is StandardMethod.UPDATE:
            fieldmask_module = imports.aliases[module_name(service.file, "_fieldmask")]
            arguments.append(
                Argument("mask", f"{fieldmask_module}.{mask_class_name(method)}.SPEC")
            )
            arguments.append(Argument("mask_field", python_literal(UPDATE_MASK)))
        return tuple(arguments)


def _typed_metadata(method: Method) -> bool:
    """Whether the operation has metadata of a known type for the server to fill."""
    return bool(method.operation and method.operation.metadata_message != ANY)


def mask_class_name(method: Method) -> str:
    return method.input.rsplit(".", 1)[-1] + "Mask"


def _constant(name: str) -> str:
    return snake_case(name).upper()


def _check_view(constraint: Constraint) -> CheckView:
    return CheckView(
        kind=member(constraint.kind),
        sentence=python_literal(constraint.sentence),
        bound=(
            expression(bound_expression(constraint.bound), _CHECK_INDENT, "bound=", ",")
            if constraint.bound
            else ""
        ),
        pattern=python_literal(constraint.pattern) if constraint.pattern else "",
    )
