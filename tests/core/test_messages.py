"""Every actor message is a frozen Struct whose fields hold only immutable data.

The one allowed reference type is ``concurrent.futures.Future`` (a reply channel, like
Akka's ``replyTo``): it carries no shared data, only a write-once result.
"""

import enum
import inspect
import typing
from concurrent.futures import Future

import msgspec
import pytest

import actors.core.messages as messages
from protocol.jmmessage import PrivMsg
from protocol.peerlist import PeerlistEntry

IMMUTABLE_LEAVES = (str, int, float, bool, bytes, type(None))
REFERENCE_TYPES = (Future,)


def _message_classes():
    return [obj for _, obj in inspect.getmembers(messages, inspect.isclass)
            if issubclass(obj, msgspec.Struct) and obj.__module__ == messages.__name__]


def _immutable(tp) -> bool:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType")):
        return all(_immutable(arg) for arg in typing.get_args(tp))
    if origin in (tuple, frozenset):
        return all(_immutable(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)
    if origin is not None:
        return False  # list, dict, set, ...
    if tp in IMMUTABLE_LEAVES or tp in REFERENCE_TYPES:
        return True
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return True  # enum members are singletons
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp.__struct_config__.frozen and all(
            _immutable(t) for t in typing.get_type_hints(tp).values())
    return False


def test_the_module_defines_messages():
    assert len(_message_classes()) >= 25


@pytest.mark.parametrize("cls", _message_classes(), ids=lambda c: c.__name__)
def test_message_is_frozen_with_immutable_fields(cls):
    assert cls.__struct_config__.frozen, f"{cls.__name__} is not frozen"
    for field, tp in typing.get_type_hints(cls).items():
        assert _immutable(tp), f"{cls.__name__}.{field} has mutable type {tp!r}"


def test_protocol_values_carried_in_messages_are_frozen():
    assert _immutable(PrivMsg) and _immutable(PeerlistEntry)


def test_checker_rejects_mutable_fields():
    class Bad(msgspec.Struct, frozen=True):
        items: list[str]

    class NotFrozen(msgspec.Struct):
        x: int

    assert not _immutable(typing.get_type_hints(Bad)["items"])
    assert not _immutable(NotFrozen)
