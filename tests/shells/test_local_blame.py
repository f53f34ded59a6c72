"""Issue 10's confirmed bug, end to end: our own mistake never stops a healthy directory.

Config validation now refuses an invalid ``our_location`` at construction
(tests/api/test_client_config.py). This test goes one step further and smuggles such a
value past it, as a future config path might: the DirectoryActor then cannot build its
handshake. Before the fix that ``HandshakeError`` was counted as the *directory's*
protocol violation and the directory was stopped for good; now it is a local error,
classified as our bug: restarted (counted), never stopped.
"""

import pytest

from localnet.network import LocalNet
from protocol.crypto import NickIdentity
from supervisor import BlockingMultiDirectoryClient
from tests.helpers.polling import wait_until


class _Unchecked:
    """The real config with some fields overridden, skipping its validation."""

    def __init__(self, config, **overrides) -> None:
        self._config, self._overrides = config, overrides

    def __getattr__(self, name):
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._config, name)


@pytest.mark.timeout(40)
def test_a_handshake_we_cannot_build_is_our_bug_not_the_directorys_violation():
    with LocalNet(directories=("ng",), makers=0) as net:
        client = BlockingMultiDirectoryClient(
            net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
            socks_port=net.socks_port, connection_timeout=5)
        try:
            core = client._core
            core.config = _Unchecked(core.config, our_location="nowhere")
            core.connect_all()
            wait_until(lambda: client.stats().get("restarts_directory", 0) >= 1, 15,
                       "the directory to be restarted after our local error")
            stats = client.stats()
            assert stats.get("stopped_directory", 0) == 0, stats
            assert net.directories[0].stats().handshakes_rejected == 0
        finally:
            client.close_all()
