"""The production dial path over a real private Tor network (real remote DNS of onions).

One network per session (see conftest.tor_network); fixture setup is bounded by the
launcher's own timeouts, so per-test timeouts here cover only the test body.
"""

import base64
import hashlib
import queue

import pytest
from nacl.signing import SigningKey
from stem.control import Controller, EventType
from stem.response.events import StreamEvent

from actors.errors import DestinationRefusedError, DestinationUnreachableError
from actors.net.transport import CATEGORY_DIRECTORY, CATEGORY_PEER, SocksConfig, dial
from localnet.tornet import DEFAULT_VIRTUAL_PORT as ONION_PORT

pytestmark = [pytest.mark.tor, pytest.mark.timeout(60, func_only=True)]

DIAL_TIMEOUT = 30.0


def unpublished_onion() -> str:
    """A well-formed v3 address (fresh ed25519 key, valid checksum) nobody publishes."""
    pubkey = SigningKey.generate().verify_key.encode()
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


def echo_once(transport, payload: bytes) -> bytes:
    transport.send(payload)
    received = b""
    while len(received) < len(payload):
        chunk = transport.recv(len(payload) - len(received))
        assert chunk, "echo server closed the stream"
        received += chunk
    return received


def test_onion_echo_through_real_tor(tor_network, echo_onion):
    transport = dial(echo_onion, ONION_PORT, SocksConfig(port=tor_network.socks_port),
                     CATEGORY_DIRECTORY, DIAL_TIMEOUT)
    try:
        assert echo_once(transport, b"hello over tor") == b"hello over tor"
    finally:
        transport.close()


def test_stream_isolation_per_category(tor_network, echo_onion):
    """Same category shares a circuit; another category gets its own (IsolateSOCKSAuth)."""
    config = SocksConfig(port=tor_network.socks_port, stream_isolation=True)
    succeeded: queue.Queue[StreamEvent] = queue.Queue()

    def on_stream(event: StreamEvent) -> None:
        if event.status == "SUCCEEDED" and event.target_address == echo_onion:
            succeeded.put(event)

    transports = []
    control_port = tor_network.client_control_port
    with Controller.from_port(address="127.0.0.1", port=control_port) as controller:
        controller.authenticate()
        controller.add_event_listener(on_stream, EventType.STREAM)
        circuits = []
        try:
            for category in (CATEGORY_DIRECTORY, CATEGORY_DIRECTORY, CATEGORY_PEER):
                transports.append(dial(echo_onion, ONION_PORT, config, category, DIAL_TIMEOUT))
                circuits.append(succeeded.get(timeout=10).circ_id)
        finally:
            for transport in transports:
                transport.close()
    assert circuits[0] == circuits[1] != circuits[2], circuits


@pytest.mark.timeout(90, func_only=True)
def test_unpublished_onion_is_destination_unreachable(tor_network):
    with pytest.raises(DestinationUnreachableError):
        dial(unpublished_onion(), ONION_PORT, SocksConfig(port=tor_network.socks_port),
             CATEGORY_DIRECTORY, timeout=60)


def test_unmapped_virtual_port_is_destination_refused(tor_network, echo_onion):
    with pytest.raises(DestinationRefusedError):
        dial(echo_onion, ONION_PORT + 1, SocksConfig(port=tor_network.socks_port),
             CATEGORY_DIRECTORY, DIAL_TIMEOUT)
