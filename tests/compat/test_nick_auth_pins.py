"""``nick_auth_directory_ids`` pins and an enum ``nick_auth_mode``, over real sockets.

joinmarket-ng's taker passes ``nick_auth_mode=NickAuthMode.REQUIRE_VERIFIED`` (a StrEnum)
and ``nick_auth_directory_ids={"host:port": id}``; the proof is signed through its own
identity object. A directory proving another id than the pinned one is not used.
"""

from __future__ import annotations

import pytest

from localnet.directory import DirectoryServer
from localnet.socks_gateway import OnionSocksGateway
from supervisor import BlockingMultiDirectoryClient
from tests.helpers.ngstyle import NgNickAuthMode, NgStyleIdentity

DIRECTORY_ID = "test:local-directory"


@pytest.fixture
def auth_directory():
    gateway = OnionSocksGateway().start()
    directory = DirectoryServer(profile="ng", nick_auth_directory_id=DIRECTORY_ID,
                                require_nick_auth=True).start()
    try:
        host, _, port = directory.location.rpartition(":")
        gateway.map(host, int(port), directory.address)
        yield gateway, directory
    finally:
        directory.stop()
        gateway.stop()


def _client(gateway, directory, pin: str, identity) -> BlockingMultiDirectoryClient:
    host, port = gateway.address
    return BlockingMultiDirectoryClient(
        directory_servers=[directory.location], network="regtest", nick_identity=identity,
        socks_host=host, socks_port=port, connection_timeout=5.0,
        nick_auth_mode=NgNickAuthMode.REQUIRE_VERIFIED,
        nick_auth_directory_ids={directory.location: pin})


@pytest.mark.timeout(30)
def test_pinned_directory_id_with_ng_identity_and_enum_mode(auth_directory):
    gateway, directory = auth_directory
    identity = NgStyleIdentity()
    client = _client(gateway, directory, DIRECTORY_ID, identity)
    try:
        assert client.connect_all() == 1
        assert identity.nick in directory.connected_nicks()
        assert any(s.startswith("nick-auth|") for s in identity.signed)
    finally:
        client.close_all()


@pytest.mark.timeout(30)
def test_directory_proving_another_id_than_the_pin_is_not_used(auth_directory):
    gateway, directory = auth_directory
    identity = NgStyleIdentity()
    client = _client(gateway, directory, "test:another-directory", identity)
    try:
        assert client.connect_all() == 0
        assert not any(s.startswith("nick-auth|") for s in identity.signed)  # no proof given
    finally:
        client.close_all()
