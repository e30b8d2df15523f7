"""`yandex.cloud.endpoint.ApiEndpointService`: where clients find each API of this server.

Clients such as the official SDK ask it, without credentials, for the address of each service id
(`compute`, `operation`, ...) before their first call. Here every id is served at one address:
this server's advertised address.
"""

from __future__ import annotations

import re
from typing import Iterable

import grpc

from yandex.cloud.endpoint import (
    api_endpoint_pb2,
    api_endpoint_service_pb2,
    api_endpoint_service_pb2_grpc,
)

from .contract import HttpRoute, PathVariable
from .errors import Violation, invalid_argument, not_found, rpc

# What every server lists besides its APIs: IAM (the SDK exchanges credentials there),
# operations and this service itself.
BUILTIN_IDS = ("endpoint", "iam", "operation")
_PAGE_TOKEN = re.compile(r"[1-9][0-9]{0,8}")  # the offset of the page's first endpoint

ApiEndpoint = api_endpoint_pb2.ApiEndpoint


class ApiEndpointService(api_endpoint_service_pb2_grpc.ApiEndpointServiceServicer):
    """Lists `BUILTIN_IDS` and `endpoint_ids`, sorted by id, all at `address`.

    `page_size` 0 means every endpoint from the token on, in one page: the official SDK asks
    once, with no page size, and never follows `next_page_token`. `page_token` is the offset of
    the next endpoint, as a decimal number: anything this server could not have issued is
    INVALID_ARGUMENT."""

    def __init__(self, address: str, endpoint_ids: Iterable[str] = ()) -> None:
        ids = sorted(set(BUILTIN_IDS) | set(endpoint_ids))
        self._endpoints = [ApiEndpoint(id=item, address=address) for item in ids]

    # The rules of yandex/cloud/endpoint/api_endpoint_service.proto, for the REST face.
    HTTP_ROUTES = (
        HttpRoute(
            "/yandex.cloud.endpoint.ApiEndpointService/Get",
            "GET",
            ("endpoints", PathVariable(("api_endpoint_id",))),
        ),
        HttpRoute(
            "/yandex.cloud.endpoint.ApiEndpointService/List", "GET", ("endpoints",)
        ),
    )

    def add_to_server(self, server: grpc.Server) -> None:
        api_endpoint_service_pb2_grpc.add_ApiEndpointServiceServicer_to_server(
            self, server
        )

    @rpc
    def Get(
        self,
        request: api_endpoint_service_pb2.GetApiEndpointRequest,
        context: grpc.ServicerContext,
    ) -> ApiEndpoint:
        for endpoint in self._endpoints:
            if endpoint.id == request.api_endpoint_id:
                return endpoint
        raise not_found("api endpoint", request.api_endpoint_id)

    @rpc
    def List(
        self,
        request: api_endpoint_service_pb2.ListApiEndpointsRequest,
        context: grpc.ServicerContext,
    ) -> api_endpoint_service_pb2.ListApiEndpointsResponse:
        if request.page_size < 0:
            raise invalid_argument(
                [Violation("page_size", "The value must not be negative.")]
            )
        start = self._offset(request.page_token)
        end = start + request.page_size if request.page_size else len(self._endpoints)
        response = api_endpoint_service_pb2.ListApiEndpointsResponse(
            endpoints=self._endpoints[start:end]
        )
        if end < len(self._endpoints):
            response.next_page_token = str(end)
        return response

    def _offset(self, token: str) -> int:
        if not token:
            return 0
        if _PAGE_TOKEN.fullmatch(token) and int(token) < len(self._endpoints):
            return int(token)
        raise invalid_argument(
            [
                Violation(
                    "page_token", "not a valid page token: not issued by this server"
                )
            ]
        )
