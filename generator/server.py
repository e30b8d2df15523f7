"""The server view: per proto file, validation rules and servicers over the runtime's standard
methods; per run, the entry point that serves them all. `templates/server.py.j2` lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from generator.model import (
    ANY,
    EMPTY,
    Action,
    Api,
    ResponseKind,
    Message,
    Method,
    ProtoFile,
    Service,
    StandardMethod,
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
from generator.http import PathVariable
from generator.options import PluginOptions
from generator.python_names import (
    Imports,
    docstring,
    message_module,
    module_name,
    python_literal,
)
from generator.rules import (
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
# The fields of List requests and responses that the runtime pages with (the model recognises
# a List by them), and the mask of an Update.
PAGE_SIZE, PAGE_TOKEN, NEXT_PAGE_TOKEN = "page_size", "page_token", "next_page_token"
FILTER, ORDER_BY = "filter", "order_by"


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
    actions: str  # the same, of the actions the runtime implements
    http_routes: str  # the same, of the rpcs' google.api.http bindings
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


class ServerBuilder:
    def __init__(self, api: Api, options: PluginOptions) -> None:
        self.api = api
        self.options = options
        # Each message's rules, worked out once: many modules validate the same messages.
        self._message_views: dict[str, MessageRulesView] = {}
        # The model shares constraints between fields: each is laid out once (by identity,
        # which keeps -0.0 apart from 0.0).
        self._checks: dict[int, tuple[Constraint, CheckView]] = {}
        # Whether each message, or any message inside it, carries constraints.
        self._carries_rules: dict[str, bool] | None = None

    def work_out_shared_facts(self) -> None:
        """Works out now which messages carry rules, which every server module asks: the
        processes forked to render modules then share it, where each would work it out
        again."""
        self._has_rules()

    def served_services(self, proto_file: ProtoFile) -> list[Service]:
        return [service for service in proto_file.services if not service.is_framework]

    def entry_point(
        self, served: list[tuple[ProtoFile, Service]], endpoint_ids: list[str]
    ) -> EntryPoint:
        """api_server.py, serving `served` (the services of their proto files), whose
        endpoint discovery lists `endpoint_ids` (see generator/endpoints.py)."""
        modules = [module_name(file.name, "_server") for file, _ in served]
        imports = Imports(self.api, modules)
        classes = [
            f"{imports.aliases[module]}.{service.name}"
            for module, (_, service) in zip(modules, served)
        ]
        services = f"SERVICES: tuple[{runtime_name(SERVER, 'ServiceFactory')}, ...] = "
        return EntryPoint(
            runtime_imports=runtime_imports(SERVER),
            version_check=version_check(),
            imports=tuple(imports.lines()),
            services=services + tuple_expression(classes, 0, before=services),
            endpoint_ids=expression(
                Brackets(
                    "(",
                    tuple(python_literal(id_) for id_ in endpoint_ids),
                    ")",
                    one_tuple=len(endpoint_ids) == 1,
                ),
                0,
                before="ENDPOINT_IDS: tuple[str, ...] = ",
            ),
        )

    # --- validation rules ----------------------------------------------------------------------

    def _has_rules(self) -> dict[str, bool]:
        """Whether a message, or any message inside it, carries constraints."""
        if self._carries_rules is not None:
            return self._carries_rules
        memo: dict[str, bool] = {}
        messages = self.api.messages
        ancestors: set[str] = set()  # the messages on the way down to this one

        def visit(name: str) -> bool:
            if name in memo:
                return memo[name]
            if name not in messages or name in ancestors:
                return False
            message = messages[name]
            found = any(not item.rules.empty for item in message.fields) or any(
                oneof.exactly_one for oneof in message.oneofs
            )
            ancestors.add(name)
            for item in message.fields:
                if item.message_type and visit(item.message_type):
                    found = True
            ancestors.discard(name)
            memo[name] = found
            return found

        for name in messages:
            visit(name)
        self._carries_rules = memo
        return memo

    def _rules(self, roots: list[str]) -> tuple[MessageRulesView, ...]:
        ordered: dict[str, None] = {}

        def visit(name: str) -> None:
            if name in ordered or not self._has_rules().get(name):
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
            nested = (
                item.message_type if self._has_rules().get(item.message_type) else ""
            )
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
                served = method.standard or method.action
                if method.operation and served:
                    if _typed_metadata(method):
                        modules.add(message_module(self.api, method.operation.metadata))
                    if (
                        method.operation.response in self.api.messages
                        and method.operation.response != EMPTY
                    ):
                        modules.add(message_module(self.api, method.operation.response))
                if method.shape and method.shape.target:
                    modules.add(message_module(self.api, method.shape.target))
                view = self._view(service, method)
                if view:
                    modules.add(message_module(self.api, view))
            if service.resource:
                modules.add(message_module(self.api, service.resource.message))
                if service.resource.lifecycle:
                    modules.add(
                        message_module(self.api, service.resource.lifecycle.enum)
                    )
                if service.standard_method(StandardMethod.UPDATE):
                    modules.add(module_name(proto_file.name, "_fieldmask"))
        return modules

    def _service(
        self, service: Service, imports: Imports, specs: list[SpecView]
    ) -> ServiceView:
        resource = service.resource
        methods = []
        mutations = []
        actions = []
        for method in service.methods:
            call = self._call(service, method, imports, specs)
            if method.standard in MUTATION_KINDS:
                mutations.append(specs[-1].variable)
            if method.action is not None:
                actions.append(specs[-1].variable)
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
            actions=(
                tuple_expression(actions, _CLASS_INDENT, before="ACTIONS = ")
                if actions
                else ""
            ),
            mutations=(
                tuple_expression(mutations, _CLASS_INDENT, before="MUTATIONS = ")
                if mutations
                else ""
            ),
            http_routes=self._http_routes(service),
            methods=tuple(methods),
        )

    def _http_routes(self, service: Service) -> str:
        """The rpcs' HTTP bindings as data, for the server's REST face: each rpc by its gRPC
        method path, the path template already split into segments (`http.py` read it).
        """
        routes = []
        for method in service.methods:
            if (
                method.http is None
                or method.client_streaming
                or method.server_streaming
            ):
                continue
            path = python_literal(f"/{service.full_name}/{method.name}")
            for binding in method.http.bindings:
                segments = tuple(_segment(segment) for segment in binding.path.segments)
                arguments: list[Expression] = [
                    path,
                    python_literal(binding.method),
                    Brackets("(", segments, ")", len(segments) == 1),
                ]
                for keyword, value in (
                    ("verb", binding.path.verb),
                    ("body", binding.body),
                    ("response_body", binding.response_body),
                ):
                    if value:
                        arguments.append(f"{keyword}={python_literal(value)}")
                route = Brackets(
                    f"{runtime_name(CONTRACT, 'HttpRoute')}(", tuple(arguments), ")"
                )
                routes.append(expression(route, _CLASS_INDENT + 4, after=","))
        if not routes:
            return ""
        return tuple_expression(routes, _CLASS_INDENT, before="HTTP_ROUTES = ")

    def _status(self, service: Service, imports: Imports, role: str) -> str:
        """The Python expression of the status value of `role` ("ready", "creating", ...),
        or "None" if the resource's status has none."""
        resource = service.resource
        assert resource is not None
        lifecycle = resource.lifecycle
        value = getattr(lifecycle, role) if lifecycle else ""
        if not value:
            return "None"
        assert lifecycle is not None
        return f"{imports.message(lifecycle.enum)}.{value}"

    def _resource_arguments(
        self, service: Service, imports: Imports
    ) -> tuple[Argument, ...]:
        resource = service.resource
        assert resource is not None
        lifecycle = resource.lifecycle
        roles = [
            role
            for role in ("stopped", "starting", "stopping", "restarting")
            if lifecycle and getattr(lifecycle, role)
        ]
        if lifecycle and lifecycle.ready and roles:
            roles.insert(0, "ready")
        arguments = [
            Argument("kind", python_literal(resource.message)),
            Argument("label", python_literal(resource.label)),
            Argument("message", imports.message(resource.message)),
            Argument(
                "key",
                _literals(
                    "key=",
                    [
                        _inner_tuple(
                            [python_literal(p.field), python_literal(p.request_field)]
                        )
                        for p in resource.key
                    ],
                ),
            ),
            Argument("generated_id", repr(resource.generated_id)),
            Argument("parent_field", python_literal(resource.parent_field)),
            Argument("name_field", python_literal(resource.name_field)),
            Argument("created_at_field", python_literal(resource.created_at_field)),
            Argument(
                "status_field", python_literal(lifecycle.field if lifecycle else "")
            ),
            Argument("ready_status", self._status(service, imports, "ready")),
            Argument(
                "statuses",
                _literals(
                    "statuses=",
                    [
                        _inner_tuple(
                            [
                                python_literal(role),
                                self._status(service, imports, role),
                            ]
                        )
                        for role in roles
                    ],
                ),
            ),
            Argument(
                "unique_names",
                repr(
                    self.options.unique_names
                    and bool(resource.name_field and resource.parent_field)
                    and resource.name_field not in {p.field for p in resource.key}
                ),
            ),
            Argument(
                "indexed_fields",
                _literals(
                    "indexed_fields=",
                    [python_literal(n) for n in resource.indexed_fields],
                ),
            ),
            Argument(
                "references",
                _literals(
                    "references=",
                    [
                        _inner_tuple(
                            [
                                python_literal(ref.field),
                                python_literal(ref.target),
                                repr(ref.repeated),
                            ]
                        )
                        for ref in resource.references
                    ],
                ),
            ),
        ]
        return tuple(arguments)

    def _view(self, service: Service, method: Method) -> str:
        """The message a List's items are when they are a view of the resource ("" if none)."""
        shape, resource = method.shape, service.resource
        if method.standard is not StandardMethod.LIST or not shape or not resource:
            return ""
        items = self.api.message(method.output).field(shape.items_field)
        assert items is not None
        return items.type.name if items.type.name != resource.message else ""

    def _call(
        self, service: Service, method: Method, imports: Imports, specs: list[SpecView]
    ) -> str:
        kind = method.standard
        shape = method.shape
        variable = f"_{_constant(service.short_name)}_{_constant(method.name)}"
        if kind is StandardMethod.GET:
            assert shape is not None
            if not shape.response_field:
                return f"self.{StandardCall.GET.value}(request, context)"
            specs.append(
                SpecView(
                    variable,
                    runtime_name(SERVICE, "GetSpec"),
                    (
                        Argument("response", imports.message(method.output)),
                        Argument(
                            "response_field", python_literal(shape.response_field)
                        ),
                    ),
                )
            )
            return exploded(
                f"self.{StandardCall.GET_WRAPPED.value}(",
                (variable, "request", "context"),
                ")",
            )
        if kind in (StandardMethod.LIST, StandardMethod.LIST_OPERATIONS):
            specs.append(
                SpecView(
                    variable,
                    runtime_name(SERVICE, "ListSpec"),
                    self._list_arguments(service, method, imports),
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
        if method.action is not None:
            specs.append(
                SpecView(
                    variable,
                    runtime_name(SERVICE, "ActionSpec"),
                    self._action_arguments(service, method, imports),
                )
            )
            call = StandardCall.ACTION.value
            return exploded(f"self.{call}(", (variable, "request", "context"), ")")
        return exploded(
            f"self.{StandardCall.UNIMPLEMENTED.value}(",
            (python_literal(f"/{service.full_name}/{method.name}"), "context"),
            ")",
        )

    def _list_arguments(
        self, service: Service, method: Method, imports: Imports
    ) -> tuple[Argument, ...]:
        shape = method.shape
        assert shape is not None
        request = self.api.message(method.input)
        is_list = method.standard is StandardMethod.LIST

        def optional(name: str) -> str:
            """`name` if the request has that field (and the List uses it), else ""."""
            return python_literal(name if is_list and request.field(name) else "")

        view = self._view(service, method)
        arguments = [
            Argument("response", imports.message(method.output)),
            Argument("items_field", python_literal(shape.items_field)),
            Argument("default_page_size", str(self.options.default_page_size)),
            Argument(
                "page_size_field", python_literal(PAGE_SIZE if shape.paged else "")
            ),
            Argument(
                "page_token_field", python_literal(PAGE_TOKEN if shape.paged else "")
            ),
            Argument(
                "next_page_token_field",
                python_literal(NEXT_PAGE_TOKEN if shape.paged else ""),
            ),
            Argument("parent_field", python_literal(shape.parent_field)),
            Argument("filter_field", optional(FILTER)),
            Argument("order_by_field", optional(ORDER_BY)),
        ]
        if not shape.paged:
            arguments.append(Argument("paged", "False"))
        if shape.filter_fields:
            arguments.append(
                Argument(
                    "equal_fields",
                    _spec_literals(
                        "equal_fields=",
                        [python_literal(n) for n in shape.filter_fields],
                    ),
                )
            )
        if shape.unsupported_fields:
            arguments.append(
                Argument(
                    "unsupported_fields",
                    _spec_literals(
                        "unsupported_fields=",
                        [python_literal(n) for n in shape.unsupported_fields],
                    ),
                )
            )
        if view:
            arguments.append(Argument("view", imports.message(view)))
        return tuple(arguments)

    def _mutation_arguments(
        self, service: Service, method: Method, imports: Imports
    ) -> tuple[Argument, ...]:
        resource = service.resource
        shape = method.shape
        assert (
            resource is not None and shape is not None and method.standard is not None
        )
        operation = method.operation
        synchronous = shape.synchronous or operation is None
        response = (
            method.output if synchronous else (operation.response if operation else "")
        )
        running = {
            StandardMethod.CREATE: "creating",
            StandardMethod.UPDATE: "updating",
            StandardMethod.DELETE: "deleting",
        }[method.standard]
        arguments = [
            Argument("kind", member(MUTATION_KINDS[method.standard])),
            Argument("method", python_literal(f"/{service.full_name}/{method.name}")),
            Argument("request", imports.message(method.input)),
            Argument("returns", imports.message(method.output)),
            Argument("description", python_literal(f"{method.name} {resource.label}")),
            Argument(
                "metadata",
                (
                    imports.message(operation.metadata)
                    if operation and not synchronous and _typed_metadata(method)
                    else "None"
                ),
            ),
            Argument("running_status", self._status(service, imports, running)),
        ]
        if method.standard is StandardMethod.CREATE:
            arguments.append(
                Argument(
                    "copy_fields",
                    _spec_literals(
                        "copy_fields=", [python_literal(n) for n in shape.copy_fields]
                    ),
                )
            )
            spec_fields = [
                _inner_tuple(
                    [
                        python_literal(name),
                        _brackets(self._spec_copies(method, name, resource.message)),
                    ],
                    _SPEC_INDENT,
                )
                for name in shape.spec_fields
            ]
            if spec_fields:
                arguments.append(
                    Argument("spec_fields", _spec_literals("spec_fields=", spec_fields))
                )
        if method.standard is StandardMethod.UPDATE:
            fieldmask_module = imports.aliases[module_name(service.file, "_fieldmask")]
            arguments.append(
                Argument("mask", f"{fieldmask_module}.{mask_class_name(method)}.SPEC")
            )
            arguments.append(Argument("mask_field", python_literal(shape.mask_field)))
        if shape.response is not ResponseKind.RESOURCE:
            arguments.append(Argument("answer", member(shape.response)))
            # Empty by default: the runtime answers google.protobuf.Empty itself.
            if response in self.api.messages and response != EMPTY:
                arguments.append(Argument("response", imports.message(response)))
            if shape.response_field:
                arguments.append(
                    Argument("response_field", python_literal(shape.response_field))
                )
        if synchronous:
            arguments.append(Argument("synchronous", "True"))
        return tuple(arguments)

    def _spec_copies(self, method: Method, name: str, resource: str) -> list[str]:
        """The fields a Create copies from its request's `name`, a message describing the
        resource: those of the resource's name and type."""
        spec = self.api.message(method.input).field(name)
        assert spec is not None
        return [
            python_literal(item.name)
            for item in self.api.mirrored_fields(spec.type.name, resource)
        ]

    def _action_arguments(
        self, service: Service, method: Method, imports: Imports
    ) -> tuple[Argument, ...]:
        shape, action = method.shape, method.action
        assert shape is not None and action is not None and service.resource is not None
        operation = method.operation
        response = operation.response if operation else method.output
        arguments = [
            Argument("kind", member(action)),
            Argument("method", python_literal(f"/{service.full_name}/{method.name}")),
            Argument("returns", imports.message(method.output)),
            Argument(
                "key_fields",
                _spec_literals(
                    "key_fields=", [python_literal(n) for n in shape.key_fields]
                ),
            ),
            Argument(
                "description", python_literal(f"{method.name} {service.resource.label}")
            ),
        ]
        if response in self.api.messages and response != EMPTY:
            arguments.append(Argument("response", imports.message(response)))
        if operation and _typed_metadata(method):
            arguments.append(Argument("metadata", imports.message(operation.metadata)))
        if action is Action.MOVE:
            arguments.append(
                Argument("destination_field", python_literal(shape.parent_field))
            )
        if action is Action.LIST_REFERRING:
            arguments += [
                Argument("target_kind", python_literal(shape.target)),
                Argument("target", imports.message(shape.target)),
                Argument("target_field", python_literal(shape.target_field)),
                Argument("items_field", python_literal(shape.items_field)),
                Argument("paged", repr(shape.paged)),
            ]
        return tuple(arguments)


def _segment(segment: str | PathVariable) -> Expression:
    """A path segment: a literal (or `*`, `**`), or a variable with what it matches."""
    if isinstance(segment, str):
        return python_literal(segment)
    field_path = tuple(python_literal(part) for part in segment.field_path)
    arguments: list[Expression] = [Brackets("(", field_path, ")", len(field_path) == 1)]
    if segment.segments != "*":
        parts = tuple(python_literal(part) for part in segment.segments.split("/"))
        arguments.append(Brackets("(", parts, ")", len(parts) == 1))
    return Brackets(f"{runtime_name(CONTRACT, 'PathVariable')}(", tuple(arguments), ")")


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


def _literals(before: str, items: list[str]) -> str:
    """A tuple expression of `items` (Python expressions), laid out after `before`."""
    return tuple_expression(items, _RESOURCE_INDENT, before=before, after=",")


def _spec_literals(before: str, items: list[str]) -> str:
    """A tuple expression of `items`, laid out after `before` among a spec's arguments."""
    return tuple_expression(items, _SPEC_INDENT, before=before, after=",")


def _brackets(items: Sequence[Expression]) -> Brackets:
    return Brackets("(", tuple(items), ")", one_tuple=len(items) == 1)


def _inner_tuple(values: Sequence[Expression], outer: int = _RESOURCE_INDENT) -> str:
    """A tuple laid out as an item of a tuple exploded at `outer` (see `_literals`)."""
    return expression(_brackets(values), outer + 4, after=",")
