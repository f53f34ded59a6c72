"""``python -m localnet``: a fixed SOCKS port and a TOML block a user can paste as is."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

from actors.app.settings import settings_from_dict
from protocol import NickIdentity
from supervisor import BlockingMultiDirectoryClient

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_prints_a_pasteable_config_on_the_requested_socks_port():
    port = _free_port()
    command = [sys.executable, "-m", "localnet", "--directories", "ng,ref", "--makers", "1",
               "--socks-port", str(port)]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True) as proc:
        try:
            lines = []
            while not (line := proc.stdout.readline()).startswith("running"):
                assert line, "python -m localnet exited before it was running"
                lines.append(line)
            start = next(i for i, text in enumerate(lines) if text.startswith("# jm-multidir"))
            settings = settings_from_dict(tomllib.loads("".join(lines[start:])))
            assert settings.socks.port == port and settings.client.network == "regtest"
            assert len(settings.client.directories) == 2
            client = BlockingMultiDirectoryClient(
                settings.client.directories, settings.client.network, NickIdentity(),
                socks_host=settings.socks.host, socks_port=settings.socks.port,
                connection_timeout=settings.client.connection_timeout)
            try:
                assert client.connect_all() == 2
            finally:
                client.close_all()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def test_socks_port_out_of_range_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "localnet", "--socks-port", "70000"],
                            cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--socks-port 70000" in result.stderr


def test_socks_port_in_use_names_the_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "localnet", "--socks-port", str(port)],
                                cwd=REPO, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"--socks-port {port}: cannot start the network" in result.stderr
    assert "Traceback" not in result.stderr
