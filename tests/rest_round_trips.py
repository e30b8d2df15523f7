"""The round trips of tests/round_trips.py over the REST face: each rpc called as a REST client
would call it, from its `google.api.http` rule (the model's), with the request message written
as JSON into the path, the query and the body, and the answer read back from JSON.

An error answer becomes an `HttpRpcError`, which reads as the grpc.RpcError the gRPC round trip
sees (code, details, and the google.rpc.Status in trailing metadata), so that the same steps
and checks run on both faces.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote, urlencode

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import status_pb2

from generator.http import HttpBinding, PathVariable
from generator.model import Api, Method, Service
from round_trips import Messages, RoundTrip

_CODES = {code.value[0]: code for code in grpc.StatusCode}


class HttpRpcError(grpc.RpcError):
    """A REST error answer, read as gRPC's: code, details, the rich status."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        rich = status_pb2.Status()
        json_format.ParseDict(body, rich, ignore_unknown_fields=True)
        self.rich = rich

    def code(self) -> grpc.StatusCode:
        return _CODES[self.body["code"]]

    def details(self) -> str:
        return str(self.body.get("message", ""))

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return (("grpc-status-details-bin", self.rich.SerializeToString()),)


class RestRoundTrip(RoundTrip):
    """RoundTrip over HTTP/JSON at `address` (host:port of the REST face)."""

    def __init__(self, api: Api, messages: Messages, address: str) -> None:
        super().__init__(api, messages, channel=None)  # type: ignore[arg-type]
        host, port = address.rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.calls = 0

    def _call(self, service: Service, method: Method, request: Message) -> Any:
        assert method.http is not None, f"{method.full_name} has no HTTP rule"
        binding = method.http.binding
        path, body, query = _transcoded(binding, request, self.messages)
        url = path + (f"?{urlencode(query, doseq=True)}" if query else "")
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        self.connection.request(binding.method, url, body=data, headers=headers)
        answer = self.connection.getresponse()
        payload = json.loads(answer.read() or b"{}")
        self.calls += 1
        if answer.status != 200:
            raise HttpRpcError(answer.status, payload)
        if binding.response_body:
            payload = {binding.response_body: payload}
        response = self.messages.new(method.output)
        json_format.ParseDict(payload, response, descriptor_pool=self.messages.pool)
        return response


def _transcoded(
    binding: HttpBinding, request: Message, messages: Messages
) -> tuple[str, Any, list[tuple[str, str]]]:
    """The request as a REST client sends it: path, JSON body (None for none), query."""
    document = json_format.MessageToDict(
        request, preserving_proto_field_name=True, descriptor_pool=messages.pool
    )
    parts = []
    taken: set[str] = set()
    for segment in binding.path.segments:
        if isinstance(segment, PathVariable):
            value: Any = document
            for name in segment.field_path:
                value = value.get(name, "") if isinstance(value, dict) else ""
            parts.append(quote(str(value), safe="/" if segment.segments != "*" else ""))
            if len(segment.field_path) == 1:
                taken.add(segment.field)
        else:
            parts.append(segment)
    path = (
        "/" + "/".join(parts) + (f":{binding.path.verb}" if binding.path.verb else "")
    )
    rest = {key: value for key, value in document.items() if key not in taken}
    if binding.body == "*":
        return path, rest, []
    if binding.body:
        return (
            path,
            rest.get(binding.body),  # None (no body) while the field is unset
            _query({k: v for k, v in rest.items() if k != binding.body}),
        )
    return path, None, _query(rest)


def _query(document: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Fields as query parameters: nested ones as `a.b`, repeated ones repeated."""
    found: list[tuple[str, str]] = []
    for key, value in document.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            found += _query(value, f"{name}.")
        elif isinstance(value, list):
            found += [(name, _text(item)) for item in value]
        else:
            found.append((name, _text(value)))
    return found


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)
