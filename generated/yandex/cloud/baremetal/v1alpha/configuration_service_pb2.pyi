from google.api import annotations_pb2 as _annotations_pb2
from yandex.cloud.baremetal.v1alpha import configuration_pb2 as _configuration_pb2
from yandex.cloud import validation_pb2 as _validation_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetConfigurationRequest(_message.Message):
    __slots__ = ("configuration_id", "folder_id")
    CONFIGURATION_ID_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    configuration_id: str
    folder_id: str
    def __init__(self, configuration_id: _Optional[str] = ..., folder_id: _Optional[str] = ...) -> None: ...

class ListConfigurationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "order_by", "filter", "folder_id")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    order_by: str
    filter: str
    folder_id: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order_by: _Optional[str] = ..., filter: _Optional[str] = ..., folder_id: _Optional[str] = ...) -> None: ...

class ListConfigurationsResponse(_message.Message):
    __slots__ = ("configurations", "next_page_token")
    CONFIGURATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    configurations: _containers.RepeatedCompositeFieldContainer[_configuration_pb2.Configuration]
    next_page_token: str
    def __init__(self, configurations: _Optional[_Iterable[_Union[_configuration_pb2.Configuration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
