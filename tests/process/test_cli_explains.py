"""The command line explains itself: reasons for missing directories, readable enum
errors, a live progress line, --fault-plan, and listeners that name their key.

Processes are real subprocesses against a LocalNet in this process (as in test_cli.py);
settings, progress and bind errors are checked in-process where nothing starts.
"""

from __future__ import annotations

import io
import socket

import pytest

from actors.app.cli import Progress, main
from actors.app.service import ExitCode, Service
from actors.app.settings import SettingsError, settings_from_dict
from localnet.network import LocalNet
from tests.helpers.process import ROOT, write_config

FLAKY_PLAN = ROOT / "docs" / "examples" / "flaky-directory.toml"


@pytest.fixture(scope="module")
def regtest_net():
    with LocalNet(directories=("ng", "ref"), makers=1) as net:
        yield net


def test_status_on_the_wrong_network_says_why(regtest_net, spawn, tmp_path):
    config = write_config(tmp_path / "c.toml", regtest_net).read_text()
    path = tmp_path / "mainnet.toml"  # the level in lower case is accepted too
    path.write_text(config.replace('network = "regtest"', 'network = "mainnet"')
                    .replace('level = "DEBUG"', 'level = "debug"'))
    process = spawn("status", "--wait", "0", "--config", str(path))
    assert process.wait(30) == ExitCode.FAILURE, process.stderr
    ng, ref = regtest_net.directory_servers
    warnings = [line for line in process.stderr.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 2, process.stderr
    assert f"WARNING: directory {ng}: retrying" in process.stderr
    assert "we sent network 'mainnet', protocol version 5" in process.stderr
    assert f"WARNING: directory {ref}: retrying" in process.stderr
    assert "network 'mainnet' is not 'regtest'" in process.stderr
    assert f"{ng}  retrying" in process.stdout and f"{ref}  retrying" in process.stdout
    assert "0 of 2 directories connected" in process.stdout


def test_fault_plan_option_loads_the_plan(spawn):
    process = spawn("status", "--localnet", "--wait", "0", "--fault-plan", str(FLAKY_PLAN))
    assert process.wait(60) == ExitCode.OK, process.stderr
    assert "fault plan 'flaky directory' (seed 7) is active" in process.stderr


def test_fault_plan_option_that_cannot_be_read_is_a_config_error(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    assert main(["status", "--localnet", "--fault-plan", str(missing)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "--fault-plan" in err and "nope.toml" in err


@pytest.mark.parametrize("raw, allowed", [
    ({"client": {"network": "bitcoin"}}, "mainnet, testnet, signet, regtest"),
    ({"client": {"nick_auth_mode": "on"}}, "disabled, prefer_verified, require_verified"),
    ({"logging": {"level": "loud"}}, "TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL"),
])
def test_enum_errors_list_the_allowed_values(raw, allowed):
    with pytest.raises(SettingsError, match=f"expected one of: {allowed}"):
        settings_from_dict(raw)


@pytest.mark.parametrize("level", ["debug", "Debug", "DEBUG"])
def test_log_levels_are_case_insensitive(level):
    assert settings_from_dict({"logging": {"level": level}}).logging.level == "DEBUG"


def test_clearnet_error_speaks_toml():
    with pytest.raises(SettingsError) as info:
        settings_from_dict({"client": {"directories": ["example.com:5222"]}})
    assert "allow_clearnet = true in [client]" in str(info.value)
    assert "allow_clearnet=True" not in str(info.value)


def test_metrics_address_in_use_names_key_and_address(regtest_net):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = settings_from_dict({
            "client": {"directories": list(regtest_net.directory_servers), "network": "regtest"},
            "metrics": {"address": address}})
        with pytest.raises(OSError, match=f"metrics.address: cannot listen on {address}"):
            Service(settings)


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_rewrites_one_line_on_a_terminal():
    stream = _Stream(tty=True)
    progress = Progress(stream)
    for second in range(29):
        progress.update(f"collecting offers: {second}s", float(second))
    progress.done()
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 29 and "collecting offers: 28s" in text


def test_progress_prints_sparse_plain_lines_into_a_pipe():
    stream = _Stream(tty=False)
    progress = Progress(stream, every=5.0)
    for second in range(29):
        progress.update(f"collecting offers: {second}s", float(second))
    progress.done()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue()
    assert lines == [f"collecting offers: {s}s" for s in (0, 5, 10, 15, 20, 25)]
