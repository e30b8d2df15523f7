"""The REST face of the generated server (`api_server.py --http-port`), over real HTTP on
127.0.0.1: the image API's round trip, what gRPC answers for the same calls, errors in Yandex's
JSON shape, and the gRPC conventions (tokens, request ids, idempotency keys) as headers.
"""

from __future__ import annotations

import http.client
import json
import shutil
import os
import re
import subprocess
import uuid
from typing import Any, Iterator

import grpc
import pytest

from support import GENERATED, ROOT, ServerProcess, serves_then_stops

FOLDER = "b1gfolder"
IMAGES = "/baremetal/v1alpha/images"


class Http:
    """A keep-alive HTTP/1.1 connection to the REST face, answering (status, JSON, headers)."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        sent = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        self.connection.request(method, path, body=data, headers=sent)
        response = self.connection.getresponse()
        payload = response.read()
        return (
            response.status,
            json.loads(payload) if payload else None,
            {k.lower(): v for k, v in response.getheaders()},
        )


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    running = ServerProcess(
        GENERATED, "--db", ":memory:", "--http-port", "0", "--no-reference-checks"
    ).start()
    yield running
    assert running.stop() == 0  # SIGTERM stops both faces gracefully


@pytest.fixture()
def rest(server: ServerProcess) -> Iterator[Http]:
    client = Http(server.http_address)
    yield client
    client.connection.close()


def create(rest: Http, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "uri": "https://storage/x.iso", **fields}
    if "folder_id" not in body:
        body.setdefault("folderId", FOLDER)
    status, operation, _ = rest("POST", IMAGES, body)
    assert status == 200, operation
    assert operation["done"] is True
    return operation


def test_the_image_round_trip(rest: Http) -> None:
    operation = create(rest, "round-trip", labels={"env": "test"})
    image_id = operation["metadata"]["imageId"]
    assert operation["response"]["@type"].endswith(".Image")

    status, image, headers = rest("GET", f"{IMAGES}/{image_id}")
    assert status == 200 and headers["x-request-id"]
    assert image["name"] == "round-trip" and image["folderId"] == FOLDER
    assert image["labels"] == {"env": "test"} and image["status"] == "READY"

    status, updated, _ = rest(
        "PATCH",
        f"{IMAGES}/{image_id}",
        {"updateMask": "description", "description": "new", "name": "ignored"},
    )
    assert status == 200 and updated["response"]["description"] == "new"
    assert updated["response"]["name"] == "round-trip"  # not in the mask

    status, listed, _ = rest(
        "GET", f"{IMAGES}?folderId={FOLDER}&filter=name%3D%22round-trip%22"
    )
    assert status == 200 and [i["id"] for i in listed["images"]] == [image_id]

    status, operations, _ = rest("GET", f"{IMAGES}/{image_id}/operations")
    assert status == 200
    assert {o["description"] for o in operations["operations"]} >= {"Update image"}

    status, fetched, _ = rest("GET", f"/operations/{operation['id']}")
    assert status == 200 and fetched["id"] == operation["id"]

    status, deleted, _ = rest("DELETE", f"{IMAGES}/{image_id}")
    assert status == 200 and deleted["done"] is True
    status, error, _ = rest("GET", f"{IMAGES}/{image_id}")
    assert status == 404 and error["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ResourceInfo"


def test_paging_tokens_go_between_the_faces(rest: Http, server: ServerProcess) -> None:
    from yandex.cloud.baremetal.v1alpha import image_service_pb2 as pb
    from yandex.cloud.baremetal.v1alpha import image_service_pb2_grpc as pb_grpc

    folder = "b1gpaging"
    for index in range(3):
        create(rest, f"page-{index}", folderId=folder)
    status, first, _ = rest("GET", f"{IMAGES}?folderId={folder}&pageSize=2")
    assert status == 200 and len(first["images"]) == 2
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.ImageServiceStub(channel)
        second = stub.List(
            pb.ListImagesRequest(
                folder_id=folder, page_size=2, page_token=first["nextPageToken"]
            )
        )
        grpc_first = stub.List(pb.ListImagesRequest(folder_id=folder, page_size=2))
    names = {f"page-{index}" for index in range(3)}
    last = names - {i["name"] for i in first["images"]}
    assert [i.name for i in second.images] == sorted(last)
    status, rest_second, _ = rest(
        "GET",
        f"{IMAGES}?folderId={folder}&pageSize=2&pageToken={grpc_first.next_page_token}",
    )
    assert [i["name"] for i in rest_second["images"]] == sorted(last)


def test_rest_and_grpc_answer_alike(rest: Http, server: ServerProcess) -> None:
    from google.protobuf import json_format
    from yandex.cloud.baremetal.v1alpha import image_service_pb2 as pb
    from yandex.cloud.baremetal.v1alpha import image_service_pb2_grpc as pb_grpc

    image_id = create(rest, "alike")["metadata"]["imageId"]
    _, over_rest, _ = rest("GET", f"{IMAGES}/{image_id}")
    with grpc.insecure_channel(server.address) as channel:
        stub = pb_grpc.ImageServiceStub(channel)
        over_grpc = stub.Get(pb.GetImageRequest(image_id=image_id))
        with pytest.raises(grpc.RpcError) as raised:
            stub.Get(pb.GetImageRequest(image_id="bad id"))
    assert over_rest == json_format.MessageToDict(over_grpc)
    status, error, _ = rest("GET", f"{IMAGES}/bad%20id")
    assert status == 400 and error["code"] == raised.value.code().value[0]
    assert error["message"] == raised.value.details()


@pytest.mark.parametrize(
    "method, path, kwargs, status, code, text",
    [
        (
            "POST",
            IMAGES,
            {"raw": b"{not json", "headers": {"Content-Type": "application/json"}},
            400,
            3,
            "not valid JSON",
        ),
        (
            "POST",
            IMAGES,
            {"raw": b"folderId=x", "headers": {"Content-Type": "text/plain"}},
            400,
            3,
            "must be JSON",
        ),
        ("GET", "/no/such/path", {}, 404, 5, "no method is served"),
        ("PUT", IMAGES, {}, 405, 12, "not allowed"),
        (
            "GET",
            f"{IMAGES}?folderId={FOLDER}&colour=red",
            {},
            400,
            3,
            "has no field 'colour'",
        ),
        (
            "POST",
            IMAGES,
            {"body": {"folderId": FOLDER, "uri": "u", "name": "Bad Name"}},
            400,
            3,
            "regular expression",
        ),
        (
            "POST",
            IMAGES,
            {"body": {"folderId": FOLDER, "name": "x", "unknownField": 1}},
            400,
            3,
            "has no field 'unknownField'",
        ),
    ],
)
def test_errors_have_yandex_json_shape(
    rest: Http,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: int,
    text: str,
) -> None:
    got_status, error, _ = rest(method, path, **kwargs)
    assert got_status == status, error
    assert error["code"] == code and text in error["message"], error
    assert set(error) == {"code", "message", "details"}
    assert len(json.dumps(error)) < 2000


def test_an_oversized_body_is_refused_briefly(rest: Http) -> None:
    status, error, _ = rest(
        "POST",
        IMAGES,
        raw=b"x" * (5 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
    )
    assert (
        status == 413 and error["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    )


def test_headers_carry_the_grpc_conventions(rest: Http) -> None:
    status, _, headers = rest(
        "GET", f"{IMAGES}?folderId={FOLDER}", headers={"X-Client-Request-Id": "mine-1"}
    )
    assert status == 200 and headers["x-client-request-id"] == "mine-1"
    body = {"folderId": FOLDER, "name": "idempotent", "uri": "u"}
    key = {"Idempotency-Key": "4f1e0c7e-1b1a-4a47-9d59-2f3c0b8e9a11"}
    _, first, _ = rest("POST", IMAGES, body, headers=key)
    _, again, _ = rest("POST", IMAGES, body, headers=key)
    assert first["id"] == again["id"]


def test_tokens_are_required_as_over_grpc() -> None:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--http-port", "0", "--token", "secret"
    ).start()
    try:
        rest = Http(server.http_address)
        status, error, _ = rest("GET", f"{IMAGES}?folderId={FOLDER}")
        assert (
            status == 401 and error["code"] == grpc.StatusCode.UNAUTHENTICATED.value[0]
        )
        status, _, _ = rest(
            "GET",
            f"{IMAGES}?folderId={FOLDER}",
            headers={"Authorization": "Bearer secret"},
        )
        assert status == 200
        status, _, _ = rest("GET", "/endpoints")  # discovery is public, as over gRPC
        assert status == 200
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_curl_session_runs_as_written(server: ServerProcess) -> None:
    """README's REST session, run by bash with curl as a user types it: the round trip, then
    each error kind in Yandex's JSON shape."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (session,) = [
        block
        for block in re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
        if block.startswith("REST=")
    ]
    # Each curl's answer on a line of its own (curl writes none after the body).
    script = 'curl() { command curl "$@"; echo; }\nset -e\n' + session
    ran = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REST": f"http://{server.http_address}"},
    )
    assert ran.returncode == 0, ran.stderr
    answers = [json.loads(line) for line in ran.stdout.splitlines() if line]
    created, fetched, updated, listed, operations, deleted, *errors = answers
    assert fetched["name"] == "ubuntu" and updated["response"]["description"] == "LTS"
    assert [image["description"] for image in listed["images"]] == ["LTS"]
    assert len(operations["operations"]) == 2 and deleted["done"] is True
    assert [error["code"] for error in errors] == [5, 3, 3, 3, 12, 5]
    assert all(set(error) == {"code", "message", "details"} for error in errors)


def test_two_rpcs_on_one_path_are_refused_at_startup() -> None:
    from yc_runtime.calls import CallInterceptor
    from yc_runtime.contract import HttpRoute
    from yc_runtime.rest import Gateway
    from yc_runtime.auth import Authenticator

    class Claims:
        def __init__(self, rpc: str) -> None:
            self.HTTP_ROUTES = (HttpRoute(rpc, "GET", ("things",)),)

        def add_to_server(self, server: Any) -> None:
            pass

    with pytest.raises(ValueError) as raised:
        Gateway(
            [Claims("/a.A/List"), Claims("/b.B/List")],
            CallInterceptor(Authenticator(())),
        )
    assert "/a.A/List" in str(raised.value) and "/b.B/List" in str(raised.value)


def test_tls_serves_both_faces(tmp_path: Any) -> None:
    import ssl

    from support import make_certificate

    cert, key = make_certificate(tmp_path)
    server = ServerProcess(
        GENERATED,
        "--db",
        ":memory:",
        "--http-port",
        "0",
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    ).start()
    try:
        host, port = server.http_address.rsplit(":", 1)
        context = ssl.create_default_context(cafile=str(cert))
        connection = http.client.HTTPSConnection(
            host, int(port), context=context, timeout=30
        )
        connection.request("GET", "/endpoints")
        response = connection.getresponse()
        assert response.status == 200 and json.loads(response.read())["endpoints"]
        plain = http.client.HTTPConnection(host, int(port), timeout=30)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            plain.request("GET", "/endpoints")
            plain.getresponse()
    finally:
        server.stop()


# --- the REST reference pages describe requests this server accepts -------------------------


def rest_pages() -> list[Any]:
    """The REST method pages `make generate` writes for proto/ (index pages describe none)."""
    pages = (GENERATED / "en" / "_api-ref").rglob("*.md")
    return sorted(page for page in pages if page.stem != "index")


def playground(page: Any) -> list[dict[str, Any]]:
    import yaml

    front = page.read_text(encoding="utf-8").split("---\n")[1]
    return yaml.safe_load(front).get("apiPlayground") or []


def example(schema: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
    """A value for each property the page's schema lists, by its JSON name."""
    found: dict[str, Any] = {}
    for name, property_ in ((schema or {}).get("properties") or {}).items():
        if name in values:
            found[name] = values[name]
        elif property_.get("type") == "array":
            found[name] = []
        elif property_.get("type") == "object" or "$ref" in property_:
            found[name] = {}
        elif property_.get("format") == "int64":
            found[name] = "1"
        elif "enum" in property_:
            found[name] = property_["enum"][-1]
        elif property_.get("type") == "boolean":
            found[name] = False
        else:
            found[name] = "doc-value"
    return found


@pytest.mark.parametrize("page", rest_pages(), ids=lambda page: page.stem)
def test_every_rest_page_describes_a_request_the_server_takes(
    rest: Http, page: Any
) -> None:
    """Each page's apiPlayground (method, path, query and body) is a request this server
    routes and parses: any answer but an unknown path or method, or an unknown field. The
    values are the page's own names with made-up values, so a validation error is fine.
    """
    image_id = create(rest, f"page-{uuid.uuid4().hex[:12]}")["metadata"]["imageId"]
    values = {
        "imageId": image_id,
        "folderId": FOLDER,
        "name": "doc-image",
        "uri": "https://storage/x.iso",
        "updateMask": "description",
        "pageSize": "1",
    }
    requests = playground(page)
    assert requests, f"{page} has no apiPlayground"
    for request in requests:
        path_values = example(request["path"], values)
        # https://<host>/<path>: the host is the page's, the path is this server's.
        path = "/" + request["url"].split("://", 1)[1].split("/", 1)[1]
        for name, value in path_values.items():
            path = path.replace("{" + name + "}", str(value))
        query = example(request["query"], values)
        body = example(request["body"], values) if request["body"] else None
        if query:
            from urllib.parse import urlencode

            path += "?" + urlencode(query)
        status, answer, _ = rest(request["method"].upper(), path, body)
        refused = (
            status in (404, 405)
            and answer["code"] in (5, 12)
            and ("no method" in answer["message"] or "not allowed" in answer["message"])
        )
        assert not refused, f"{page.name}: {request['method']} {path}: {answer}"
        assert "has no field" not in json.dumps(answer), f"{page.name}: {answer}"
        # Taken: answered, or refused as a field this server does not implement.
        assert (
            status < 500 or "not implemented by this server" in answer["message"]
        ), f"{page.name}: {answer}"


def test_operations_are_read_and_cancelled_over_rest() -> None:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--http-port", "0", "--operation-delay", "30"
    ).start()
    try:
        rest = Http(server.http_address)
        status, operation, _ = rest(
            "POST", IMAGES, {"folderId": FOLDER, "name": "slow", "uri": "u"}
        )
        assert status == 200 and not operation.get(
            "done"
        )  # false: omitted, as proto3 JSON does
        status, cancelled, _ = rest("GET", f"/operations/{operation['id']}:cancel")
        assert status == 200 and cancelled["done"] is True
        assert cancelled["error"]["code"] == grpc.StatusCode.CANCELLED.value[0]
        status, fetched, _ = rest("GET", f"/operations/{operation['id']}")
        assert fetched == cancelled
        status, error, _ = rest("GET", "/operations/nosuchoperation")
        assert status == 404 and error["code"] == grpc.StatusCode.NOT_FOUND.value[0]
    finally:
        assert server.stop() == 0


def test_routes_follow_http_proto_templates() -> None:
    """Variables with a pattern (`{api_endpoint_id=folders/*}`), custom verbs and additional
    bindings, matched and transcoded by the gateway itself (no server)."""
    from yandex.cloud.endpoint import api_endpoint_pb2, api_endpoint_service_pb2 as pb

    from yc_runtime.auth import Authenticator
    from yc_runtime.calls import CallInterceptor
    from yc_runtime.contract import HttpRoute, PathVariable
    from yc_runtime.rest import Gateway

    rpc = "/yandex.cloud.endpoint.ApiEndpointService/Get"

    def echo(request: Any, context: Any) -> Any:
        return api_endpoint_pb2.ApiEndpoint(id=request.api_endpoint_id)

    class Echo:
        HTTP_ROUTES = (
            HttpRoute(
                rpc, "GET", ("v1", PathVariable(("api_endpoint_id",), ("folders", "*")))
            ),
            HttpRoute(
                rpc, "POST", ("v1", PathVariable(("api_endpoint_id",))), verb="look"
            ),
            HttpRoute(rpc, "GET", ("v1", "things", "**")),
        )

        def add_to_server(self, server: Any) -> None:
            handler = grpc.unary_unary_rpc_method_handler(
                echo,
                request_deserializer=pb.GetApiEndpointRequest.FromString,
                response_serializer=api_endpoint_pb2.ApiEndpoint.SerializeToString,
            )
            server.add_generic_rpc_handlers(
                (
                    grpc.method_handlers_generic_handler(
                        "yandex.cloud.endpoint.ApiEndpointService", {"Get": handler}
                    ),
                )
            )

    gateway = Gateway([Echo()], CallInterceptor(Authenticator(())))

    def answer(method: str, path: str, body: bytes = b"") -> Any:
        found = gateway.handle(
            method, path, "", [("content-type", "application/json")], body
        )
        return found.status, json.loads(found.body)

    assert answer("GET", "/v1/folders/f%2F1") == (200, {"id": "folders/f/1"})
    assert answer("GET", "/v1/projects/p1")[0] == 404  # the pattern wants folders/*
    assert answer("POST", "/v1/e1:look", b"{}") == (200, {"id": "e1"})
    assert answer("POST", "/v1/e1")[0] == 404  # the verb is part of the path
    assert answer("GET", "/v1/things/a/b/c")[0] == 200  # ** takes the rest


def test_a_server_without_a_rest_port_needs_no_http_server() -> None:
    """uvicorn is imported only for --http-port: with it unimportable the server still serves
    gRPC, and asking for REST says what is missing."""
    script = (
        "import runpy, sys\n"
        "class NoUvicorn:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'uvicorn':\n"
        "            raise ImportError('No module named uvicorn')\n"
        "sys.meta_path.insert(0, NoUvicorn())\n"
        "sys.argv = ['api_server.py', *sys.argv[1:]]\n"
        "runpy.run_path('api_server.py', run_name='__main__')\n"
    )
    import sys as _sys

    serves_then_stops(["-c", script, "--port", "0", "--db", ":memory:"])
    refused = subprocess.run(
        [
            _sys.executable,
            "-c",
            script,
            "--port",
            "0",
            "--db",
            ":memory:",
            "--http-port",
            "0",
        ],
        cwd=GENERATED,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "uvicorn" in refused.stderr and "Traceback" not in refused.stderr


def test_both_spellings_of_field_names_are_taken(rest: Http) -> None:
    operation = create(rest, "snake-case", folder_id="b1gsnake")
    image = operation["response"]
    assert image["folderId"] == "b1gsnake"  # lowerCamelCase out, whatever came in


def test_a_token_bound_to_parents_is_held_to_them_as_over_grpc() -> None:
    server = ServerProcess(
        GENERATED, "--db", ":memory:", "--http-port", "0", "--token", "tok=b1gmine"
    ).start()
    try:
        rest = Http(server.http_address)
        bearer = {"Authorization": "Bearer tok"}
        status, _, _ = rest("GET", f"{IMAGES}?folderId=b1gmine", headers=bearer)
        assert status == 200
        status, error, _ = rest("GET", f"{IMAGES}?folderId=b1gother", headers=bearer)
        assert (
            status == 403
            and error["code"] == grpc.StatusCode.PERMISSION_DENIED.value[0]
        )
    finally:
        assert server.stop() == 0
