from google.api import annotations_pb2 as _annotations_pb2
from yandex.cloud.endpoint import api_endpoint_pb2 as _api_endpoint_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetApiEndpointRequest(_message.Message):
    __slots__ = ("api_endpoint_id",)
    API_ENDPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    api_endpoint_id: str
    def __init__(self, api_endpoint_id: _Optional[str] = ...) -> None: ...

class ListApiEndpointsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApiEndpointsResponse(_message.Message):
    __slots__ = ("endpoints", "next_page_token")
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    endpoints: _containers.RepeatedCompositeFieldContainer[_api_endpoint_pb2.ApiEndpoint]
    next_page_token: str
    def __init__(self, endpoints: _Optional[_Iterable[_Union[_api_endpoint_pb2.ApiEndpoint, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
