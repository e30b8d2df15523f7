from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Configuration(_message.Message):
    __slots__ = ("id", "name", "memory_gib", "cpu_num")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEMORY_GIB_FIELD_NUMBER: _ClassVar[int]
    CPU_NUM_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    memory_gib: int
    cpu_num: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., memory_gib: _Optional[int] = ..., cpu_num: _Optional[int] = ...) -> None: ...
