"""The watcher's JSON views (pure) and the page's HTTP surface of the real process.

The views are built from plain values, so their shape is checked without a network; the
HTTP tests talk to a ``jm-multidir run``/``watch`` subprocess on a LocalNet with raw
requests, because what matters there is what a client really receives for a bad request.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import Future
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

import pytest

from actors.app.cli import main
from actors.app.service import ExitCode, Service
from actors.app.settings import ServiceSettings, settings_from_dict
from actors.app.watcher import (API_DIRECTORIES, API_ORDERBOOK, OrderbookWatcher, Snapshot,
                                WebPage, directories_view, merge_book, orderbook_view)
from actors.core.dirhealth import HealthBook
from actors.core.nicktracker import RegistryView
from actors.core.orderbook import BondData, Offer
from actors.shells.runtime import PeerHandle, RouterView
from tests.helpers.process import Process, eventually, write_config

WEB = Path(__file__).resolve().parents[2] / "actors" / "app" / "web"
D1, D2 = "a" * 56 + ".onion:5222", "b" * 56 + ".onion:5222"
BOND = BondData(utxo_txid="ab" * 32, utxo_vout=1, locktime=1_900_000_000, utxo_pub="02" + "11" * 32,
                cert_pub="03" + "22" * 32, cert_expiry=52)


def offer(nick: str, oid: int = 0, ordertype: str = "sw0reloffer", cjfee: str | int = "0.0002",
          bond: BondData | None = None) -> Offer:
    return Offer(counterparty=nick, oid=oid, ordertype=ordertype, minsize=27_300,
                 maxsize=10**8, txfee=0, cjfee=cjfee, fidelity_bond_data=bond)


def registry(present: dict[str, set[str]], locations: dict[str, str] | None = None) -> RegistryView:
    return RegistryView(present=MappingProxyType({n: frozenset(d) for n, d in present.items()}),
                        listed=MappingProxyType({}),
                        locations=MappingProxyType(locations or {}),
                        features=MappingProxyType({}))


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- pure views ------------------------------------------------------------------------------

def test_merge_keeps_silent_present_makers_and_drops_those_gone():
    first = Snapshot(merge_book(None, [offer("alice", 0), offer("alice", 1), offer("bob"),
                                       offer("carol")], lambda nick: True, 10.0), 10.0, 1.0)
    # alice answers again with one offer only; bob is silent but listed; carol left
    entries = merge_book(first, [offer("alice", 1, cjfee="0.0003")],
                         lambda nick: nick != "carol", 20.0)
    assert [(o.counterparty, o.oid, o.cjfee, seen) for o, seen in entries] == [
        ("alice", 1, "0.0003", 20.0), ("bob", 0, "0.0002", 10.0)]


def test_orderbook_view_describes_each_offer():
    entries = ((offer("alice", bond=BOND), 5.0), (offer("bob", 3, "sw0absoffer", 1000), 7.0))
    status = {"state": "idle", "fetches": 2, "last_error": None,
              "snapshot": Snapshot(entries, fetched_at=8.0, took=1.5)}
    reg = registry({"alice": {D2, D1}, "bob": {D2}}, locations={"bob": "x.onion:5222"})
    router = RouterView(directories_up=(D1, D2), peers=MappingProxyType(
        {"alice": PeerHandle("alice", "y.onion:5222", frozenset(), 1.0)}))
    view = orderbook_view(status, 60.0, reg, router, [D1, D2], now=10.0)
    assert json.loads(json.dumps(view)) == view  # plain JSON values only
    assert (view["watching"], view["interval"], view["fetches"]) == (True, 60.0, 2)
    assert (view["fetched_at"], view["fetch_seconds"], view["age_seconds"]) == (8.0, 1.5, 2.0)
    alice, bob = view["offers"]
    assert alice == {
        "maker": "alice", "oid": 0, "ordertype": "sw0reloffer", "minsize": 27_300,
        "maxsize": 10**8, "txfee": 0, "cjfee": "0.0002", "cjfee_kind": "relative",
        "signed": True, "features": [], "directories": [D1, D2], "direct": "connected",
        "received_at": 5.0,
        "bond": {"utxo_txid": "ab" * 32, "utxo_vout": 1, "locktime": 1_900_000_000,
                 "utxo_pub": BOND.utxo_pub, "cert_pub": BOND.cert_pub, "cert_expiry": 52,
                 "proof_verified": True, "value": None}}
    assert (bob["cjfee"], bob["cjfee_kind"], bob["bond"]) == ("1000", "absolute", None)
    assert (bob["directories"], bob["direct"]) == ([D2], "reachable")


def test_orderbook_view_without_watching_or_before_the_first_fetch():
    idle = orderbook_view(None, None, registry({}), RouterView(), [D1], now=1.0)
    assert (idle["watching"], idle["state"], idle["offers"], idle["fetched_at"]) == (
        False, "not watching", [], None)
    waiting = orderbook_view({"state": "waiting for a directory", "fetches": 0,
                              "last_error": None, "snapshot": None},
                             30.0, registry({}), RouterView(), [D1], now=1.0)
    assert (waiting["watching"], waiting["age_seconds"], waiting["state"]) == (
        True, None, "waiting for a directory")


def test_directories_view_reports_each_directorys_health_and_what_it_shows():
    book = HealthBook([D1, D2, "c" * 56 + ".onion:5222"])
    book.connecting(D1, 100.0)
    book.up(D1, 110.0)
    book.connecting(D2, 100.0)
    book.failed(D2, "TransportError: refused", 120.0, retry_in=4.0)
    reg = registry({"alice": {D1, D2}, "bob": {D1}, "dave": {D1}})
    view = directories_view(book.view(), reg, RouterView(directories_up=(D1,)),
                            [offer("alice"), offer("alice", 1), offer("bob")], now=121.0)
    assert json.loads(json.dumps(view)) == view  # plain JSON values only
    one, two, three = view["directories"]
    assert one == {"name": D1, "state": "up", "up": True, "since": 110.0, "last_error": None,
                   "next_retry": None, "failures": 0, "detail": "up for 11s", "features": [],
                   "nicks": 3, "makers": 2, "offers": 3}
    assert (two["state"], two["up"], two["since"], two["next_retry"], two["failures"]) == (
        "retrying", False, 120.0, 124.0, 1)
    assert two["last_error"] == "TransportError: refused"
    assert two["detail"] == "retrying in 3s after 1 failed attempt: TransportError: refused"
    assert (two["nicks"], two["makers"], two["offers"]) == (1, 1, 2)
    assert (three["state"], three["up"], three["since"], three["detail"]) == (
        "idle", False, None, "idle (the client has not started)")
    assert (view["tracked_nicks"], view["direct_peers"]) == (3, 0)


class FailingCore:
    """Stands in for the client: one directory up, and every fetch fails."""

    def __init__(self) -> None:
        self.fetches = 0

    def connected_count(self) -> int:
        return 1

    def fetch_orderbook(self, **waits) -> Future:
        self.fetches += 1
        future: Future = Future()
        future.set_exception(RuntimeError(f"broken fetch {self.fetches}"))
        return future


def test_a_failed_fetch_is_reported_and_the_loop_goes_on():
    core = FailingCore()
    watcher = OrderbookWatcher(core, 0.01, {"max_wait": 1.0, "min_wait": 0.0,
                                            "quiet_period": 0.0})
    watcher.start()
    try:
        eventually(lambda: core.fetches >= 2, 10)
    finally:
        watcher.stop()
    status = watcher.status()
    assert status["last_error"].startswith("the last fetch failed: RuntimeError('broken fetch")
    assert (status["fetches"], status["snapshot"]) == (0, None)


@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:9477", 200), ("localhost:9477", 200), ("LOCALHOST", 200), ("[::1]:9477", 200),
    ("127.0.0.2", 200), ("", 400), ("attacker.example", 400), ("127.0.0.1.nip.io:9477", 400),
    ("[::ffff:8.8.8.8]:80", 400), ("10.0.0.1:9477", 400),
])
def test_only_loopback_host_headers_are_served(host, status):
    page = WebPage(core=None)  # static files never touch the client
    assert page.respond("/app.js", "", host)[0] == status


def test_the_script_never_parses_data_as_html():
    script = (WEB / "app.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    page = (WEB / "index.html").read_text()
    assert "<script>" not in page and "style=" not in page  # the CSP allows neither inline


def test_interval_setting_is_checked():
    assert ServiceSettings().watcher.interval == 60.0
    assert settings_from_dict({"watcher": {"interval": 5}}).watcher.interval == 5.0
    with pytest.raises(ValueError, match=r"watcher.interval: Expected `float` > 0"):
        settings_from_dict({"watcher": {"interval": 0}})


# -- HTTP of the real process ----------------------------------------------------------------

@pytest.fixture(scope="module")
def net():
    from localnet.network import LocalNet
    with LocalNet(directories=("ng", "ref"), makers=2) as net:
        yield net


def start(tmp: Path, net, *args: str) -> Process:
    return Process([*args, "--config", str(write_config(tmp / "c.toml", net))], tmp)


@pytest.fixture(scope="module")
def running(net, tmp_path_factory):
    """One ``jm-multidir run`` (not watching) on a LocalNet, for read-only requests."""
    process = start(tmp_path_factory.mktemp("run"), net, "run")
    try:
        yield process, process.url()
    finally:
        process.popen.kill()
        process.popen.wait(10)


@pytest.mark.parametrize("command", [["watch"], ["run", "--watch"]])
def test_watch_keeps_the_book_fresh(net, tmp_path, command):
    process = start(tmp_path, net, *command, "--interval", "0.5", "--max-wait", "5",
                    "--min-wait", "0.5", "--quiet-period", "0.5")
    try:
        url = process.url()
        makers = {maker.nick for maker in net.makers}
        book = eventually(
            lambda: (b := json.loads(request(url, path=API_ORDERBOOK)[2]))["fetches"] >= 2
            and makers <= {o["maker"] for o in b["offers"]} and b, 30, process)
        assert (book["watching"], book["interval"]) == (True, 0.5)
        assert book["age_seconds"] >= 0 and book["fetch_seconds"] > 0
        assert all(set(o["directories"]) == set(net.directory_servers) for o in book["offers"])
        assert {o["cjfee_kind"] for o in book["offers"]} == {"relative", "absolute"}
        assert all(o["bond"] and o["bond"]["proof_verified"] for o in book["offers"])
        directories = json.loads(request(url, path=API_DIRECTORIES)[2])["directories"]
        assert all(d["makers"] == len(makers) and d["up"] for d in directories)
    finally:
        process.popen.kill()
        process.popen.wait(10)


def test_a_non_positive_interval_is_a_configuration_error(capsys):
    assert main(["watch", "--localnet", "--interval", "0"]) == ExitCode.CONFIG
    assert "--interval: must be > 0" in capsys.readouterr().err


def request(url: str, method: str = "GET", path: str = "/", headers: dict | None = None
            ) -> tuple[int, dict[str, str], str]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def raw(url: str, data: bytes) -> str:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_run_serves_the_page_and_both_endpoints(running):
    process, url = running
    status, headers, body = request(url, path="/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for path, content_type in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
        status, headers, _ = request(url, path=path)
        assert status == 200 and headers["Content-Type"].startswith(content_type)
    book = json.loads(request(url, path=API_ORDERBOOK)[2])
    assert (book["watching"], book["offers"], book["state"]) == (False, [], "not watching")
    directories = eventually(
        lambda: (d := json.loads(request(url, path=API_DIRECTORIES)[2]))["directories"]
        and all(row["up"] for row in d["directories"]) and d, 10, process)
    assert len(directories["directories"]) == 2


def test_a_killed_directory_shows_as_retrying_with_its_error(tmp_path):
    """/api/directories reads the client's health book: stopping one directory of the
    network turns its row into a failed state carrying that connection's error, while the
    other stays up."""
    from localnet.network import LocalNet
    with LocalNet(directories=("ng", "ref"), makers=0) as net:
        process = start(tmp_path, net, "run")
        try:
            url = process.url()

            def rows() -> dict[str, dict]:
                body = json.loads(request(url, path=API_DIRECTORIES)[2])
                return {row["name"]: row for row in body["directories"]}

            eventually(lambda: all(d["state"] == "up" for d in rows().values()), 20, process)
            lost, kept = net.directories
            lost.stop()
            shown = eventually(lambda: (d := rows())[lost.location]["failures"] and d, 20, process)
        finally:
            process.popen.kill()
            process.popen.wait(10)
    row = shown[lost.location]
    assert row["state"] in ("retrying", "connecting") and row["up"] is False
    assert lost.location in row["last_error"] and row["last_error"] in row["detail"]
    assert row["detail"].startswith(row["state"])
    if row["state"] == "retrying":
        assert row["next_retry"] >= row["since"]
    assert (shown[kept.location]["state"], shown[kept.location]["up"]) == ("up", True)


@pytest.mark.parametrize("method, path, headers, status", [
    ("GET", API_ORDERBOOK.replace("orderbook", "nothing"), {}, 404),
    ("GET", API_ORDERBOOK + "/", {}, 404),
    ("GET", "/../../etc/passwd", {}, 404),
    ("GET", API_ORDERBOOK + "?limit=1", {}, 400),
    ("GET", "/", {"Host": "attacker.example"}, 400),
    ("GET", API_DIRECTORIES, {"Host": "127.0.0.1.attacker.example"}, 400),
    ("POST", API_ORDERBOOK, {}, 405),
    ("DELETE", "/", {}, 405),
    ("BREW", "/", {}, 405),
])
def test_bad_requests_get_4xx_without_a_trace(running, method, path, headers, status):
    _, url = running
    got, _, body = request(url, method, path, headers)
    assert got == status
    assert "Traceback" not in body and 'File "' not in body


def test_malformed_request_lines_get_400(running):
    _, url = running
    for data in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /\x00 HTTP/1.1 x\r\n\r\n"):
        answer = raw(url, data)
        assert answer.startswith("HTTP/1.0 400") or answer.startswith("HTTP/1.1 400"), answer
        assert "Traceback" not in answer


def test_a_failing_endpoint_is_a_bare_500(tmp_path):
    """A bug behind the page must not show the client a traceback (it goes to the log)."""
    settings = settings_from_dict({"client": {"directories": [D1]},
                                   "metrics": {"address": "127.0.0.1:0"}})
    service = Service(settings, announce=lambda line: None)

    class Broken:
        def paths(self):
            return frozenset({API_ORDERBOOK})

        def respond(self, path, query, host):
            raise KeyError("secret internals")

    service.page = Broken()
    server = service._http  # the service is not run: serve its HTTP server directly
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        status, _, body = request(service.url, path=API_ORDERBOOK)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert (status, body) == (500, "internal error\n")
