"""The one place a failure is classified: the shell that caught the exception.

``classify`` turns an exception into the typed ``FailureKind`` the supervisor decides
on; the remote is blamed only for what it sent or refused, and only by the actor that
owns its connection.
"""

import pytest

from actors.core.supervision import FailureKind
from actors.errors import (DialTimeoutError, HandshakeRejectedByRemoteError, ProxyUnreachableError,
                           TransportError)
from actors.faults.injector import CrashInjected
from actors.shells.base import classify
from actors.shells.link import ProtocolViolation
from protocol.errors import (EnvelopeError, HandshakeRejectedError, LocalProtocolError,
                             NickAuthError, ProtocolError)


@pytest.mark.parametrize("owns_remote", [True, False])
@pytest.mark.parametrize("exc", [OSError("x"), ConnectionResetError(), TimeoutError(),
                                 TransportError("x"), ProxyUnreachableError("x"),
                                 DialTimeoutError("x")])
def test_network_errors_are_network_anywhere(exc, owns_remote):
    assert classify(exc, owns_remote) is FailureKind.NETWORK


@pytest.mark.parametrize("exc", [EnvelopeError("x"), NickAuthError("x"), ProtocolViolation("x")])
def test_what_a_remote_sent_is_its_violation_in_the_actor_owning_it(exc):
    assert classify(exc, owns_remote=True) is FailureKind.REMOTE_VIOLATION
    assert classify(exc, owns_remote=False) is FailureKind.LOCAL_BUG


@pytest.mark.parametrize("exc", [HandshakeRejectedError("x"), HandshakeRejectedByRemoteError("x")])
def test_a_refused_handshake_is_a_rejection(exc):
    assert classify(exc, owns_remote=True) is FailureKind.REJECTED
    assert classify(exc, owns_remote=False) is FailureKind.LOCAL_BUG


@pytest.mark.parametrize("owns_remote", [True, False])
@pytest.mark.parametrize("exc", [LocalProtocolError("invalid location-string 'x'"),
                                 ProtocolError("names no side"), ValueError("x"), KeyError("x"),
                                 RuntimeError("x"), CrashInjected("directory.on_line"),
                                 AssertionError()])
def test_our_own_errors_are_local_bugs_even_in_a_link_actor(exc, owns_remote):
    assert classify(exc, owns_remote) is FailureKind.LOCAL_BUG
