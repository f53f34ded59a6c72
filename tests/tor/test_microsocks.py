"""Our SOCKS5 dial path against microsocks, an independent SOCKS5 server from Debian.

dial() sends only ``.onion`` hosts through the proxy, and microsocks resolves names
itself, so every onion dial through it fails at the CONNECT stage with "general
failure". That is exactly what makes these tests sharp: a CONNECT-stage failure proves
the greeting and RFC 1929 authentication went through, while an authentication problem
fails earlier and must map to ProxyAuthError. The fake onion name contains a character
glibc refuses, so microsocks fails the lookup without sending a DNS query off loopback.
"""

import pytest
from python_socks import ProxyType
from python_socks.sync import Proxy

from actors.errors import DestinationUnreachableError, ProxyAuthError, ProxyUnreachableError
from actors.net.transport import CATEGORY_DIRECTORY, CATEGORY_PEER, SocksConfig, credentials_for, dial
from localnet.tornet import free_ports

pytestmark = pytest.mark.microsocks

UNRESOLVABLE_ONION = "not!resolvable.onion"
TOKEN = "0123456789abcdef0123456789abcdef"
DIAL_TIMEOUT = 5.0


def isolated(port: int, token: str = TOKEN) -> SocksConfig:
    return SocksConfig(port=port, stream_isolation=True, isolation_token=token)


def test_general_failure_maps_to_destination_unreachable(microsocks):
    port = microsocks()
    with pytest.raises(DestinationUnreachableError, match="unreachable through the proxy"):
        dial(UNRESOLVABLE_ONION, 5222, SocksConfig(port=port), CATEGORY_DIRECTORY, DIAL_TIMEOUT)


def test_isolation_credentials_are_accepted(microsocks, echo_port):
    port = microsocks(CATEGORY_DIRECTORY, TOKEN)
    config = isolated(port)
    # Authentication passed: the failure comes from the CONNECT stage, not the login.
    with pytest.raises(DestinationUnreachableError):
        dial(UNRESOLVABLE_ONION, 5222, config, CATEGORY_DIRECTORY, DIAL_TIMEOUT)
    # And the same credentials carry a real stream (remote DNS of "localhost").
    username, password = credentials_for(config, CATEGORY_DIRECTORY)
    proxy = Proxy(ProxyType.SOCKS5, "127.0.0.1", port, username=username, password=password,
                  rdns=True)
    sock = proxy.connect(dest_host="localhost", dest_port=echo_port, timeout=DIAL_TIMEOUT)
    try:
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
    finally:
        sock.close()


def test_wrong_password_is_an_auth_error(microsocks):
    port = microsocks(CATEGORY_DIRECTORY, TOKEN)
    with pytest.raises(ProxyAuthError):
        dial(UNRESOLVABLE_ONION, 5222, isolated(port, "not-the-token"), CATEGORY_DIRECTORY,
             DIAL_TIMEOUT)


def test_category_is_the_username(microsocks):
    port = microsocks(CATEGORY_DIRECTORY, TOKEN)
    with pytest.raises(ProxyAuthError):
        dial(UNRESOLVABLE_ONION, 5222, isolated(port), CATEGORY_PEER, DIAL_TIMEOUT)


def test_no_credentials_against_auth_proxy_is_an_auth_error(microsocks):
    port = microsocks(CATEGORY_DIRECTORY, TOKEN)
    with pytest.raises(ProxyAuthError):
        dial(UNRESOLVABLE_ONION, 5222, SocksConfig(port=port), CATEGORY_DIRECTORY, DIAL_TIMEOUT)


def test_closed_proxy_port_is_proxy_unreachable():
    (closed_port,) = free_ports(1)
    with pytest.raises(ProxyUnreachableError):
        dial(UNRESOLVABLE_ONION, 5222, SocksConfig(port=closed_port), CATEGORY_DIRECTORY,
             DIAL_TIMEOUT)
