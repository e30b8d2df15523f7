"""Unit tests of each view builder, in memory: the values a view hands its template for the
image API (server, client, field mask, gRPC stubs, docs). The templates only lay these out, so
what generated code does is decided here."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.client import ClientBuilder, ClientClass, ClientMethod
from generator.docs import DocsBuilder, docs_format
from generator.docs_faces import Reference
from generator.docs_links import References
from generator.docs_config import load_docs_config
from generator.fieldmask import fieldmask_module
from generator.grpc_stubs import stub_module
from generator.memos import Memos
from generator.model import Api, ProtoFile, build_api
from generator.options import PluginOptions
from generator.runtime.contract import VERSION
from generator.server import ServerBuilder, ServerModule
from docs_links import ranked_link_targets
from support import PROTO, compile_descriptors

IMAGE_SERVICE = "yandex/cloud/baremetal/v1alpha/image_service.proto"
VERSION_CHECK = f'_contract.require_version("{VERSION}", __name__)'


@pytest.fixture(scope="module")
def api() -> Api:
    return build_api(compile_descriptors([IMAGE_SERVICE]).file, [IMAGE_SERVICE])


@pytest.fixture(scope="module")
def image_file(api: Api) -> ProtoFile:
    (found,) = [f for f in api.generated_files if f.name == IMAGE_SERVICE]
    return found


# --- server ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(api: Api, image_file: ProtoFile) -> ServerModule:
    return ServerBuilder(api, PluginOptions()).module(image_file)


def test_server_imports_the_runtime_and_checks_its_version(
    server: ServerModule,
) -> None:
    assert server.runtime_imports == (
        "from yc_runtime import contract as _contract",
        "from yc_runtime import service as _service",
        "from yc_runtime import validation as _validation",
    )
    assert server.version_check == VERSION_CHECK


def test_server_calls_a_standard_method_per_rpc(server: ServerModule) -> None:
    (service,) = server.services
    assert service.class_name == "ImageService"
    assert service.servicer == "image_service_pb2_grpc.ImageServiceServicer"
    calls = {method.name: method.call.split("(")[0] for method in service.methods}
    assert calls == {
        "Get": "self.standard_get",
        "List": "self.standard_list",
        "Create": "self.standard_create",
        "Update": "self.standard_update",
        "Delete": "self.standard_delete",
        "ListOperations": "self.standard_list_operations",
    }
    assert service.mutations.split() == [
        "(",
        "_IMAGE_CREATE,",
        "_IMAGE_UPDATE,",
        "_IMAGE_DELETE,",
        ")",
    ]


def test_server_specs_name_the_runtime_and_the_schema(server: ServerModule) -> None:
    specs = {spec.variable: spec for spec in server.specs}
    update = specs["_IMAGE_UPDATE"]
    assert update.constructor == "_service.MutationSpec"
    arguments = {argument.name: argument.value for argument in update.arguments}
    assert arguments["kind"] == "_contract.MutationKind.UPDATE"
    assert (
        arguments["method"] == '"/yandex.cloud.baremetal.v1alpha.ImageService/Update"'
    )
    assert arguments["mask"] == "image_service_fieldmask.UpdateImageRequestMask.SPEC"
    assert arguments["mask_field"] == '"update_mask"'
    assert arguments["running_status"] == "image_pb2.Image.Status.UPDATING"
    listing = {a.name: a.value for a in specs["_IMAGE_LIST"].arguments}
    assert listing["items_field"] == '"images"'
    assert listing["parent_field"] == '"folder_id"'
    assert listing["default_page_size"] == "20"
    (service,) = server.services
    resource = {argument.name: argument.value for argument in service.resource}
    assert resource["kind"] == '"yandex.cloud.baremetal.v1alpha.Image"'
    assert resource["key"] == '(("id", "image_id"),)'
    assert resource["generated_id"] == "True"
    assert resource["parent_field"] == '"folder_id"'
    assert resource["ready_status"] == "image_pb2.Image.Status.READY"


def test_server_rules_are_checks_of_the_contract(server: ServerModule) -> None:
    rules = {message.full_name: message for message in server.rules}
    update = rules["yandex.cloud.baremetal.v1alpha.UpdateImageRequest"]
    fields = {field.name: field for field in update.fields}
    kinds = [check.kind for check in fields["labels"].checks]
    assert kinds == [  # in the order of the official pages
        "_contract.CheckKind.LENGTH",
        "_contract.CheckKind.KEY_LENGTH",
        "_contract.CheckKind.KEY_PATTERN",
        "_contract.CheckKind.PATTERN",
        "_contract.CheckKind.SIZE",
    ]
    size = fields["labels"].checks[-1]
    assert size.bound == "_contract.Bound(high=64)"
    assert size.sentence == '"No more than 64 per resource."'


def test_server_entry_point_serves_every_service(
    api: Api, image_file: ProtoFile
) -> None:
    builder = ServerBuilder(api, PluginOptions())
    served = [(image_file, service) for service in builder.served_services(image_file)]
    entry = builder.entry_point(served, ["baremetal"])
    assert entry.runtime_imports == (
        "from yc_runtime import contract as _contract",
        "from yc_runtime import server as _server",
    )
    assert entry.services == (
        "SERVICES: tuple[_server.ServiceFactory, ...] = "
        "(image_service_server.ImageService,)"
    )
    assert entry.endpoint_ids == '("baremetal",)'


# --- client ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients(api: Api, image_file: ProtoFile) -> dict[str, ClientClass]:
    module = ClientBuilder(api).module(image_file)
    assert module is not None and module.version_check == VERSION_CHECK
    assert module.runtime_imports == (
        "from yc_runtime import client as _client",
        "from yc_runtime import contract as _contract",
    )
    return {client.name: client for client in module.classes}


def _method(client: ClientClass, name: str) -> ClientMethod:
    (found,) = [method for method in client.methods if method.name == name]
    return found


def test_client_has_a_class_per_flavour(clients: dict[str, ClientClass]) -> None:
    assert list(clients) == ["ImageServiceClient", "AsyncImageServiceClient"]
    blocking, asynchronous = clients.values()
    assert (blocking.connection, blocking.channel) == (
        "_client.Connection",
        "grpc.Channel",
    )
    assert (asynchronous.connection, asynchronous.channel) == (
        "_client.AsyncConnection",
        "grpc.aio.Channel",
    )
    assert [m.name for m in blocking.methods] == [m.name for m in asynchronous.methods]


def test_client_update_computes_its_mask(clients: dict[str, ClientClass]) -> None:
    update = _method(clients["ImageServiceClient"], "update")
    assert update.build == "_client.build_update"
    assert update.build_arguments == (
        "image_service_pb2.UpdateImageRequest",
        "request",
        "update_mask",
        '"update_mask"',
        '("image_id",)',
        "image_id=image_id",
        "name=name",
        "description=description",
        "labels=labels",
    )
    assert [p.name for p in update.positional + update.keywords] == [
        "image_id",
        "update_mask",
        "name",
        "description",
        "labels",
    ]


def test_client_calls_by_kind_of_rpc(clients: dict[str, ClientClass]) -> None:
    blocking, asynchronous = (
        clients["ImageServiceClient"],
        clients["AsyncImageServiceClient"],
    )
    create = _method(asynchronous, "create")
    assert create.connection_call == "operation" and create.coroutine
    assert create.returns == (
        "_client.AsyncOperation[\n"
        "    image_pb2.Image,\n"
        "    image_service_pb2.CreateImageMetadata,\n"
        "]"
    )
    assert create.call_arguments == (
        '"/yandex.cloud.baremetal.v1alpha.ImageService/Create"',
        "message",
        "image_pb2.Image",
        "image_service_pb2.CreateImageMetadata",
    )
    listing = _method(asynchronous, "list")
    assert listing.connection_call == "pages" and not listing.coroutine
    assert listing.call_arguments[-1] == '"images"'
    assert listing.returns.startswith("_client.AsyncPager[")
    get = _method(blocking, "get")
    assert (get.connection_call, get.coroutine, get.returns) == (
        "call",
        False,
        "image_pb2.Image",
    )
    assert _method(asynchronous, "get").coroutine


# --- field mask, stubs, docs -------------------------------------------------------------------


def test_fieldmask_view(api: Api, image_file: ProtoFile) -> None:
    module = fieldmask_module(api, image_file)
    assert module is not None and module.version_check == VERSION_CHECK
    (mask,) = module.classes
    assert (mask.name, mask.request_name, mask.resource_name) == (
        "UpdateImageRequestMask",
        "UpdateImageRequest",
        "Image",
    )
    assert "_contract.MaskKind.MAP" in mask.fields
    assert "_fieldmask.MaskField(" in mask.fields
    paths = [line.strip(' ,"') for line in mask.allowed_paths.splitlines()[1:-1]]
    assert paths == ["name", "description", "labels", "labels.<key>"]


def test_stub_view(api: Api, image_file: ProtoFile) -> None:
    module = stub_module(api, image_file)
    assert module is not None
    (service,) = module.services
    methods = {method.name: method for method in service.methods}
    assert methods["Get"].cardinality == "UnaryUnary"
    assert methods["Get"].parameter == "request: image_service_pb2.GetImageRequest"
    assert methods["Get"].returns == "image_pb2.Image"
    assert methods["Update"].returns == "operation_pb2.Operation"


def test_docs_view(api: Api) -> None:
    builder = DocsBuilder(
        api, load_docs_config(str(PROTO / "docs.toml")), docs_format("classic")
    )
    pages = {page.path: page for page in builder.pages()}
    base = "en/_api-ref-grpc/baremetal/v1alpha/api-ref/grpc/Image"
    assert sorted(pages) == [
        f"{base}/{name}.md"
        for name in ("create", "delete", "get", "list", "listOperations", "update")
    ]
    update = pages[f"{base}/update.md"]
    assert update.title == "BareMetal API, gRPC: ImageService.Update"
    assert [section.title for section in update.sections][:2] == [
        "UpdateImageRequest",
        "operation.Operation",
    ]
    names = [row.name for row in update.sections[0].rows]
    assert names[:2] == ["image_id", "update_mask"]
    assert builder.render(update).startswith("---\neditable: false\nsourcePath: ")


@pytest.mark.parametrize(
    "name, found",
    [
        ("Forecast", ["acme.weather.v1.Forecast"]),
        ("v1.Forecast", ["acme.weather.v1.Forecast"]),
        ("weather.v1.Forecast", ["acme.weather.v1.Forecast"]),
        ("acme.weather.v1.Forecast", ["acme.weather.v1.Forecast"]),
        ("v1.Forecast.Sky", ["acme.weather.v1.Forecast.Sky"]),  # nested: an enum
        ("ForecastService", ["acme.weather.v1.ForecastService"]),
        ("eather.v1.Forecast", []),  # a part of the package is matched whole
        ("garden.v1.Forecast", []),  # another package's qualifier
        (".Forecast", []),  # no name has an empty part
        ("Forecast.", []),
    ],
)
def test_docs_names_from_outside_their_package(name: str, found: list[str]) -> None:
    """docs-format.md §8: a `[...]` that does not resolve from its comment is looked up in
    every package, by its name within the package after any of the package's last parts.
    """
    roots = (PROTO.parent / "tests" / "protos" / "docs", PROTO)
    files = ["acme/garden/v1/plant_service.proto", "acme/weather/v1/forecast.proto"]
    api = build_api(compile_descriptors(files, roots).file, files)
    builder = DocsBuilder(api, load_docs_config(""), docs_format("classic"))
    assert list(builder.references.names._named(name)) == found


LINKED_APIS = {
    "garden and weather": (
        ["acme/garden/v1/plant_service.proto", "acme/weather/v1/forecast.proto"],
        (PROTO.parent / "tests" / "protos" / "docs", PROTO),
    ),
    "image, configuration and operations": (
        [
            IMAGE_SERVICE,
            "yandex/cloud/baremetal/v1alpha/configuration_service.proto",
            "yandex/cloud/operation/operation_service.proto",
        ],
        (PROTO,),
    ),
}


@pytest.mark.parametrize("face", ["grpc", "rest"])
@pytest.mark.parametrize("case", sorted(LINKED_APIS))
def test_link_targets_are_the_best_ranked_pages(case: str, face: str) -> None:
    """A reference to a message or enum off its page links the page its definition names
    (`docs_links.ranked_link_targets`, every page walked): worked out from the pages that
    lead to it, the answer is the same for every message and enum, None where no page
    renders one."""
    files, roots = LINKED_APIS[case]
    api = build_api(compile_descriptors(files, roots).file, files)
    reference = Reference(
        api, load_docs_config(""), docs_format("classic"), "grpc+rest"
    )
    references = (
        reference.grpc.references if face == "grpc" else reference.rest.references
    )
    ranked = ranked_link_targets(references.targets)
    names = [*api.messages, *api.enums]
    assert {name: references.targets.page_of(name) for name in names} == {
        name: ranked.get(name) for name in names
    }
    assert len(ranked) < len(names)


def test_references_link_the_pages_of_the_face_they_are_made_for() -> None:
    """The link core takes a face's link base: the same reference links a REST page as it
    links a gRPC page."""
    roots = (PROTO.parent / "tests" / "protos" / "docs", PROTO)
    files = ["acme/garden/v1/plant_service.proto", "acme/weather/v1/forecast.proto"]
    api = build_api(compile_descriptors(files, roots).file, files)
    grpc = DocsBuilder(api, load_docs_config(""), docs_format("classic"))
    rest = References(
        api,
        grpc.services,
        lambda package: f"/docs/{package.split('.')[1]}/api-ref",
        lambda package: False,
        grpc._page_messages,
    )
    service = api.service("acme.garden.v1.PlantService")
    assert service is not None
    assert rest.page_url(service, "Get") == "/docs/garden/api-ref/Plant/get"
    assert grpc.references.page_url(service, "Get").endswith("/api-ref/grpc/Plant/get")
    (segment,) = rest.parse("[PlantService.Get]", None, service, None)
    assert segment == "[PlantService.Get](/docs/garden/api-ref/Plant/get#Get)"


def test_memos_are_emptied_together_once_over_their_limit() -> None:
    memos = Memos(limit=3)
    first, second = memos.new(), memos.new()
    first.update(a=1, b=2)
    second.update(c=3)
    memos.trim()  # at the limit: kept
    assert (first, second) == ({"a": 1, "b": 2}, {"c": 3})
    second["d"] = 4
    memos.trim()
    assert first == {} and second == {}


def _pages(reference: Reference) -> dict[str, str]:
    pages: dict[str, str] = {}
    for service in reference.documented_services():
        for method in service.methods:
            pages.update(reference.grpc_page(service, method))
        for method in reference.rest_methods(service):
            pages.update(reference.rest_page(service, method))
        pages.update(reference.index(service, "grpc"))
    return pages


@pytest.mark.parametrize("case", sorted(LINKED_APIS))
def test_pages_read_the_same_whatever_the_memos_keep(case: str) -> None:
    """The memos only spare work: with none kept from one package's pages to the next's,
    every page of both faces reads the same, and what is kept is the last package's."""
    files, roots = LINKED_APIS[case]
    api = build_api(compile_descriptors(files, roots).file, files)

    def reference() -> Reference:
        return Reference(api, load_docs_config(""), docs_format("classic"), "grpc+rest")

    kept = reference()
    dropped = reference()
    dropped.memos.limit = 0
    assert _pages(dropped) == _pages(kept)
    packages = {service.package for service in kept.documented_services()}
    assert len(packages) > 1
    assert 0 < _memo_entries(dropped) < _memo_entries(kept)


def _memo_entries(reference: Reference) -> int:
    return sum(map(len, reference.memos._memos))


CYCLES_PROTO = """
syntax = "proto3";
package acme.cycles.v1;

message Tree { repeated Tree children = 1; Leaf leaf = 2; }
message Ping { Pong pong = 1; }
message Pong { Ping ping = 1; map<string, Pong> by_name = 2; }
message Holder { Ping ping = 1; Leaf leaf = 2; }
message Leaf { string name = 1; }
message Keyed { map<string, Keyed> children = 1; }
"""


def test_docs_cyclic_messages_are_those_that_contain_themselves(tmp_path: Path) -> None:
    """A message on a cycle of message fields, itself included; one that only leads to a
    cycle, or holds itself through a map only, is on none."""
    (tmp_path / "cycles.proto").write_text(CYCLES_PROTO)
    api = build_api(compile_descriptors(["cycles.proto"], (tmp_path,)).file, [])
    builder = DocsBuilder(api, load_docs_config(""), docs_format("classic"))
    assert builder.cyclic == {
        "acme.cycles.v1.Tree",
        "acme.cycles.v1.Ping",
        "acme.cycles.v1.Pong",
    }
