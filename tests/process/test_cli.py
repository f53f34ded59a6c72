"""Black-box tests of the ``jm-multidir`` process: endpoints, signals, exit codes.

Each process is a real subprocess talking to a LocalNet that runs in the test process,
through the LocalNet's onion SOCKS gateway (no clearnet shortcut). Its stdout and stderr
go to files in ``tmp_path`` (no reader threads to leak), and every process still alive
at teardown is killed. Only configuration parsing is also checked in-process, because it
has no side effects before it fails.
"""

from __future__ import annotations

import json
import signal
import time
import tomllib
import urllib.error
import urllib.request

import pytest

from actors.app.cli import main
from actors.app.service import ExitCode, make_client
from actors.app.settings import DEFAULT_CONFIG, ServiceSettings, SettingsError, settings_from_dict
from localnet.network import LocalNet
from tests.helpers.process import STOP_DEADLINE, eventually, write_config

UNKNOWN_ONION = "a" * 56 + ".onion:5222"  # well-formed, but the gateway maps no such name


@pytest.fixture(scope="module")
def shared_net():
    """A network the tests below only read from (no kills, no stops)."""
    with LocalNet(directories=("ng", "ng", "ref"), makers=2) as net:
        yield net


@pytest.fixture
def own_net():
    with LocalNet(directories=("ng", "ng", "ref"), makers=2) as net:
        yield net


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def ready_with(url: str, connected: int):
    """The /readyz body once exactly ``connected`` directories are up, else None."""
    status, body = get(url + "/readyz")
    readiness = json.loads(body)
    return readiness if readiness["connected"] == connected else None


# -- the service -----------------------------------------------------------------------------

def test_run_serves_health_readiness_metrics_and_stops_on_sigterm(shared_net, spawn, tmp_path):
    process = spawn("run", "--config", str(write_config(tmp_path / "c.toml", shared_net)))
    url = process.url()
    assert url.startswith("http://127.0.0.1:")
    assert get(url + "/healthz") == (200, '{"status": "ok"}\n')

    readiness = eventually(lambda: ready_with(url, 3), 10, process)
    assert get(url + "/readyz")[0] == 200
    assert readiness["configured"] == 3 and set(readiness["directories"].values()) == {"up"}

    status, text = get(url + "/metrics")
    assert status == 200
    assert "jm_directories_connected 3.0" in text.splitlines()
    assert metric(text, "jm_directories_configured") == 3.0
    eventually(lambda: metric(get(url + "/metrics")[1], "jm_tracked_nicks") >= 2,  # peerlists
               10, process)
    assert metric(text, "process_start_time_seconds") > 0
    assert get(url + "/nothing")[0] == 404

    started = time.monotonic()
    process.popen.send_signal(signal.SIGTERM)
    assert process.wait(STOP_DEADLINE + 5) == ExitCode.OK
    assert time.monotonic() - started < STOP_DEADLINE
    assert "SIGTERM received" in process.stderr and "stopped (exit code 0)" in process.stderr


def test_directory_loss_keeps_service_ready_and_recovery_shows_in_metrics(own_net, spawn, tmp_path):
    process = spawn("run", "--config", str(write_config(tmp_path / "c.toml", own_net)))
    url = process.url()
    eventually(lambda: ready_with(url, 3), 10, process)
    lost, flaky = own_net.directories[0], own_net.directories[1]

    lost.stop()  # gone for good: the service stays ready on the other two
    readiness = eventually(lambda: ready_with(url, 2), 10, process)
    assert get(url + "/readyz")[0] == 200
    assert readiness["directories"][lost.location] == "down"
    metrics = get(url + "/metrics")[1]
    assert metric(metrics, "jm_directories_connected") == 2.0
    assert f'jm_directory_up{{directory="{lost.location}"}} 0.0' in metrics

    makers = {maker.nick for maker in own_net.makers}
    (ours,) = flaky.connected_nicks() - makers
    assert flaky.kill(ours)  # a dropped connection: the supervisor redials with backoff
    eventually(lambda: metric(get(url + "/metrics")[1], "jm_restarts_directory_total"), 10, process)
    eventually(lambda: ours in flaky.connected_nicks() and ready_with(url, 2), 10, process)

    lost.start()  # back on the same port: the redial loop (backoff <= 60 s) finds it
    readiness = eventually(lambda: ready_with(url, 3), 20, process)
    assert readiness["directories"][lost.location] == "up"

    process.popen.send_signal(signal.SIGINT)
    assert process.wait(STOP_DEADLINE + 5) == ExitCode.OK


def test_escalated_supervisor_exits_with_code_3(own_net, spawn, tmp_path):
    """Every registry update crashes (a bug, as far as the supervisor can tell); the fourth
    crash within 30 s exceeds the restart intensity and the process must exit 3."""
    plan = {"seed": 1, "name": "registry-crash", "rules": [
        {"target": "registry", "fault": {"type": "crash", "point": "registry.on_update"}}]}
    process = spawn("run", "--config", str(write_config(tmp_path / "c.toml", own_net)),
                    env={"JM_FAULT_PLAN": json.dumps(plan)})
    url = process.url()
    eventually(lambda: ready_with(url, 3), 10, process)
    makers = {maker.nick for maker in own_net.makers}
    for _ in range(8):  # each reconnection brings a fresh peerlist, hence another crash
        if process.popen.poll() is not None:
            break
        for directory in own_net.directories[:2]:
            for nick in directory.connected_nicks() - makers:
                directory.kill(nick)
        time.sleep(1.5)
    assert process.wait(STOP_DEADLINE + 5) == ExitCode.ESCALATED
    assert "supervisor escalated" in process.stderr


def test_bad_config_exits_2_naming_the_key(spawn, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[client]\ndirectoriez = ["x.onion:5222"]\n')
    process = spawn("run", "--config", str(config))
    assert process.wait(10) == ExitCode.CONFIG
    assert "client.directoriez: unknown key" in process.stderr
    assert process.stdout == ""  # nothing was started, so nothing was announced


@pytest.mark.parametrize("toml, message", [
    ('[limits]\nmax_line = "big"', "limits.max_line: Expected `int`, got `str`"),
    ("[limits]\nmax_offers = 0", "limits.max_offers: Expected `int` >= 1"),
    ('[metrics]\naddress = "0.0.0.0:9477"', "metrics.address: '0.0.0.0' is not a loopback"),
    ('[daemon]\ntcp = "192.168.1.2:80"', "daemon.tcp: '192.168.1.2' is not a loopback"),
    ('[client]\ndirectories = ["example.com:5222"]', "client.directories: 'example.com' is not"),
    ('[client]\nnetwork = "moon"', "client.network: Invalid enum value 'moon'"),
    ("[telemetry]\n", "telemetry: unknown key"),
    ("[client\n", "is not valid TOML"),
])
def test_config_errors_name_the_key(tmp_path, capsys, toml, message):
    config = tmp_path / "c.toml"
    config.write_text(toml + "\n")
    assert main(["status", "--config", str(config)]) == ExitCode.CONFIG
    assert message in capsys.readouterr().err


def test_missing_directories_is_a_config_error():
    with pytest.raises(SettingsError, match=r"client\.directories: empty"):
        make_client(ServiceSettings())


def test_default_config_is_the_defaults_and_version_prints(capsys):
    assert main(["--print-default-config"]) == ExitCode.OK
    printed = capsys.readouterr().out
    assert printed == DEFAULT_CONFIG
    assert settings_from_dict(tomllib.loads(printed)) == ServiceSettings()
    assert main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.startswith("jm-multidir ")
    assert main([]) == ExitCode.CONFIG


# -- one-shot commands -----------------------------------------------------------------------

def test_orderbook_with_localnet_prints_an_aligned_table(spawn):
    process = spawn("orderbook", "--localnet", "--min-wait", "0.5", "--quiet-period", "0.5")
    assert process.wait(30) == ExitCode.OK, process.stderr
    header, *rows = process.stdout.splitlines()
    assert header.split() == ["maker", "oid", "type", "min", "max", "txfee", "cjfee", "bond",
                              "expiry"]
    assert len(rows) >= 3 and all(row.startswith("J5") for row in rows)
    assert len({len(row.split()) for row in rows}) == 1
    assert header.index("max") + len("max") == rows[0].index(rows[0].split()[4]) + len(
        rows[0].split()[4])  # numbers are right-aligned under their heading
    assert "connected to 3 of 3 directories" in process.stderr


def test_status_exit_codes(shared_net, spawn, tmp_path):
    good = spawn("status", "--wait", "0.3", "--config",
                 str(write_config(tmp_path / "good.toml", shared_net)))
    bad = spawn("status", "--wait", "0", "--config",
                str(write_config(tmp_path / "bad.toml", shared_net, directories=[UNKNOWN_ONION])))
    assert good.wait(20) == ExitCode.OK, good.stderr
    assert "3 of 3 directories connected" in good.stdout
    assert all(f"{d}  up" in good.stdout for d in shared_net.directory_servers)
    assert bad.wait(20) == ExitCode.FAILURE, bad.stderr
    assert f"{UNKNOWN_ONION}  retrying" in bad.stdout
    assert f"WARNING: directory {UNKNOWN_ONION}: retrying" in bad.stderr
