"""The ``jm-multidir`` program as a real subprocess, for the process and browser tiers.

Its stdout and stderr go to files (no reader threads to leak); the ``spawn`` fixture
(:mod:`tests.helpers.fixtures`) kills every process still alive at teardown.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localnet.network import LocalNet

__all__ = ["COMMAND", "Process", "ROOT", "STOP_DEADLINE", "eventually", "write_config"]

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "import sys, supervisor; sys.exit(supervisor.main(sys.argv[1:]))"]
STOP_DEADLINE = 15.0


class Process:
    def __init__(self, args: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.out_path, self.err_path = workdir / "stdout.txt", workdir / "stderr.txt"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.popen = subprocess.Popen(COMMAND + args, cwd=ROOT, stdout=out, stderr=err,
                                          env={**os.environ, **(env or {})})

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"process still running after {timeout}s; stderr:\n{self.stderr[-3000:]}")

    def url(self, timeout: float = 10.0) -> str:
        """The base URL the service printed on start."""
        prefix = "metrics listening on "
        line = eventually(lambda: next((x for x in self.stdout.splitlines()
                                        if x.startswith(prefix)), None), timeout, self)
        return line[len(prefix):]


def write_config(path: Path, net: LocalNet, *, directories: list[str] | None = None,
                 extra: str = "") -> Path:
    path.write_text(f"""
[client]
directories = {json.dumps(directories or net.directory_servers)}
network = "{net.network}"
connection_timeout = 5.0

[socks]
host = "{net.socks_host}"
port = {net.socks_port}

[metrics]
address = "127.0.0.1:0"

[logging]
level = "DEBUG"
{extra}""")
    return path


def eventually(probe, timeout: float, process: Process | None = None):
    """Poll ``probe`` until it returns something truthy; fail with the process's stderr."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = probe()
        if result:
            return result
        if process is not None and process.popen.poll() is not None:
            pytest.fail(f"process exited with {process.popen.returncode}:\n"
                        f"{process.stderr[-3000:]}")
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s" + (f"; stderr:\n{process.stderr[-3000:]}"
                                                 if process else ""))
