"""Fixtures for the tor and microsocks tiers: real daemons from Debian, on 127.0.0.1 only.

Everything long-lived here is a subprocess (tor, microsocks, the echo server), never a
Python thread, so the suite's per-test thread-leak check holds across session fixtures.
Without the Debian packages the tiers skip with the command that installs them.
"""

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from localnet.tornet import (
    DEFAULT_VIRTUAL_PORT,
    TorNetwork,
    TorNotInstalledError,
    find_tor_binaries,
    free_ports,
)

BOOT_TIMEOUT = 300.0
ECHO_SERVER = Path(__file__).with_name("echo_server.py")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def echo_port():
    """Port of a loopback echo server that lives for the whole session."""
    process = subprocess.Popen([sys.executable, str(ECHO_SERVER)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, text=True)
    try:
        yield int(process.stdout.readline())
    finally:
        _stop(process)
        process.stdout.close()


@pytest.fixture(scope="session")
def tor_network():
    """One private Tor network per session (about 30-60 s to bootstrap), stopped at the end.

    Its directory is our own mkdtemp, not pytest's tmp_path: pytest prunes old basetemp
    directories, and another pytest run on the same machine pruned a live network's
    data directories from under it.
    """
    try:
        find_tor_binaries()
    except TorNotInstalledError:
        pytest.skip("install Debian's tor (apt-get install tor) to run the tor tier")
    base_dir = tempfile.mkdtemp(prefix="jm-tornet-")
    network = TorNetwork(base_dir)
    try:
        network.start(timeout=BOOT_TIMEOUT)
        yield network
    finally:
        network.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def echo_onion(tor_network, echo_port) -> str:
    """A published v3 onion, DEFAULT_VIRTUAL_PORT -> the echo server, already reachable."""
    onion = tor_network.add_onion(echo_port)
    tor_network.wait_onion_reachable(onion, DEFAULT_VIRTUAL_PORT, timeout=60)
    return onion


@pytest.fixture
def microsocks():
    """Factory ``start(username=None, password=None) -> port`` for microsocks SOCKS5 servers.

    microsocks is an independent SOCKS5 implementation (RFC 1929 auth with ``-u/-P``), so
    our dial path is checked against something other than Tor. Stopped after the test.
    """
    binary = shutil.which("microsocks")
    if binary is None:
        pytest.skip("install Debian's microsocks (apt-get install microsocks) "
                    "to run the microsocks tier")
    processes = []

    def start(username: str | None = None, password: str | None = None) -> int:
        port = free_ports(1)[0]
        argv = [binary, "-i", "127.0.0.1", "-p", str(port)]
        if username is not None:
            argv += ["-u", username, "-P", password]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        processes.append(process)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"microsocks on 127.0.0.1:{port} did not start "
                                f"(exit code {process.poll()})")
                time.sleep(0.01)

    yield start
    for process in processes:
        _stop(process)
