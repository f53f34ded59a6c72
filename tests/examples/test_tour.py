"""examples/tour.py — the README's tour — runs as documented against the local network.

Both ways the README shows: on its own (a LocalNet in the example's process), and
against a separate ``python -m localnet --socks-port N``. Real processes, real sockets.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "examples" / "tour.py"
README = ROOT / "README.md"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _check_output(stdout: str) -> None:
    assert "connected to 3 of 3 directories" in stdout
    assert "direct link to J5" in stdout and ": up" in stdout
    assert "!auth sent via direct" in stdout and "!ioauth arrived via" in stdout
    assert stdout.rstrip().endswith("the session ended on: direct")


@pytest.mark.timeout(90)
def test_tour_runs_on_its_own_local_network():
    result = subprocess.run([sys.executable, str(TOUR)], cwd=ROOT, env=ENV, capture_output=True,
                            text=True, timeout=80)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    _check_output(result.stdout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.timeout(90)
def test_tour_runs_against_python_m_localnet():
    port = _free_port()
    with subprocess.Popen([sys.executable, "-m", "localnet", "--socks-port", str(port)],
                          cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True) as net:
        try:
            lines = []
            while not (line := net.stdout.readline()).startswith("running"):
                assert line, "python -m localnet exited early"
                lines.append(line)
            directories = [text.strip().strip('",') for text in lines
                           if text.strip().startswith('"') and ".onion:" in text]
            assert len(directories) == 3
            result = subprocess.run(
                [sys.executable, str(TOUR), "--socks-port", str(port), *directories],
                cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=70)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
            _check_output(result.stdout)
        finally:
            net.send_signal(signal.SIGINT)
            try:
                net.wait(20)
            except subprocess.TimeoutExpired:
                net.kill()
                net.wait(10)


def test_readme_shows_the_tour_as_it_is():
    """The README's excerpt is the file's text, line for line (a faithful excerpt)."""
    readme = README.read_text()
    start = readme.index("```python\n", readme.index("## A 60-second tour")) + len("```python\n")
    excerpt = readme[start:readme.index("```", start)].splitlines()
    source = TOUR.read_text().splitlines()
    assert len(excerpt) >= 20
    statements = {line.strip() for line in source}  # the excerpt is dedented
    body = [line.strip() for line in excerpt if line.strip() and line.strip() != "..."]
    missing = [line for line in body if line not in statements]
    assert not missing, f"README lines not in examples/tour.py: {missing}"
    assert "python examples/tour.py" in readme and "python -m localnet --socks-port" in readme
