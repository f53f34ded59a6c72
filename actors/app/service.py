"""The supervised standalone process: one client, health/readiness/metrics, signals.

This is the only place that touches process-global state — loguru sinks, the stdlib
logging bridge, signal handlers — because the library must not (ARCHITECTURE.md §3).
The HTTP endpoints listen on loopback only and use their own prometheus
``CollectorRegistry``, so embedding the library elsewhere never exports our metrics.

Exit codes are the contract with systemd (``Restart=on-failure``): a requested stop is
0, an escalated supervisor is 3 so the unit is restarted, a bad configuration is 2 so a
restart loop is visibly pointless (docs/operations.md, "Exit codes").
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from enum import IntEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import msgspec
from loguru import logger
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector,
                               generate_latest)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from actors.api.client import ClientCore
from actors.daemon.server import serve_from_settings
from actors.errors import ClientClosedError
from actors.faults import plan_from_env
from actors.core.messages import DirectoryStatus, Escalated
from actors.shells.runtime import Views
from actors.app.settings import LoggingSettings, ServiceSettings, SettingsError
from actors.app.watcher import SECURITY_HEADERS, OrderbookWatcher, WebPage
from protocol.crypto import NickIdentity

__all__ = ["ClientCollector", "ExitCode", "InterceptHandler", "LIBRARY_PACKAGES", "STOP_DEADLINE",
           "Service", "configure_logging", "directory_states", "live_views", "make_client",
           "metrics_registry"]

LIBRARY_PACKAGES = ("actors", "protocol", "localnet")
STOP_DEADLINE = 15.0  # systemd's default TimeoutStopSec is 90 s; we stay well inside it


class ExitCode(IntEnum):
    OK = 0                #: stopped on request (SIGTERM/SIGINT)
    FAILURE = 1           #: the command failed (e.g. ``status`` found no directory up)
    CONFIG = 2            #: bad configuration or command line: restarting will not help
    ESCALATED = 3         #: the supervisor gave up on the actor tree: restart the process
    STOP_TIMEOUT = 4      #: the graceful stop overran its deadline; the process was cut short


# -- logging ------------------------------------------------------------------------------

class InterceptHandler(logging.Handler):
    """Forward stdlib ``logging`` records (pykka logs that way) into loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = logging.currentframe(), 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame, depth = frame.f_back, depth + 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(settings: LoggingSettings, level: str | None = None) -> None:
    """Replace every loguru sink by the configured ones and bridge stdlib logging."""
    level = level or settings.level
    logger.remove()
    # diagnose=False: tracebacks must not print local variables (keys, tokens) into logs
    logger.add(sys.stderr, level=level, serialize=settings.json, diagnose=False)
    if settings.file:
        try:
            logger.add(settings.file, level=level, serialize=settings.json, diagnose=False,
                       rotation="50 MB", retention=5)
        except OSError as exc:
            raise SettingsError(f"logging.file: cannot open {settings.file}: {exc}") from None
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for package in LIBRARY_PACKAGES:  # libraries stay silent until the application opts in
        logger.enable(package)


# -- the client ---------------------------------------------------------------------------

def make_client(settings: ServiceSettings, fault_plan: str | None = None) -> ClientCore:
    """A not-yet-started client for ``settings``; configuration errors are SettingsError.

    ``fault_plan`` (``--fault-plan FILE``) or else ``JM_FAULT_PLAN`` (actors.faults)
    loads a fault plan, ``JM_FAULT_SEED`` replacing its seed, so that a fault scenario —
    including a failing test's replay hint — can be rehearsed against the real process.
    """
    client = settings.client
    if not client.directories:
        raise SettingsError("client.directories: empty; list at least one directory "
                            "(or run the command with --localnet)")
    environ = os.environ if fault_plan is None else {
        "JM_FAULT_PLAN": fault_plan, "JM_FAULT_SEED": os.environ.get("JM_FAULT_SEED", "")}
    try:
        plan = plan_from_env(environ)
    except (OSError, ValueError, msgspec.MsgspecError) as exc:
        source = "--fault-plan" if fault_plan is not None else "JM_FAULT_PLAN"
        raise SettingsError(f"{source}: {exc}") from None
    if plan is not None:
        logger.warning("fault plan {!r} (seed {}) is active: this run injects faults",
                       plan.name, plan.seed)
    try:
        return ClientCore(
            client.directories, client.network, NickIdentity(),
            socks_host=settings.socks.host, socks_port=settings.socks.port,
            connection_timeout=client.connection_timeout, neutrino_compat=client.neutrino_compat,
            prefer_direct_connections=client.prefer_direct,
            stream_isolation=client.stream_isolation, allow_clearnet=client.allow_clearnet,
            nick_auth_mode=client.nick_auth_mode, limits=settings.client_limits, fault_plan=plan)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def live_views(core: ClientCore) -> Views | None:
    """The client's published views, or None before start and after close."""
    try:
        return core.ctx.views if core.started else None
    except ClientClosedError:  # closed between the check and the read
        return None


def directory_states(core: ClientCore) -> dict[str, str]:
    """``{"host:port": "up" | "down"}`` in configuration order."""
    views = live_views(core)
    up = set(views.router.directories_up) if views else set()
    return {name: "up" if name in up else "down" for name in core.config.directories}


# -- metrics ------------------------------------------------------------------------------

class ClientCollector(Collector):
    """Reads the client at scrape time: gauges from its views, counters from its Stats.

    Counters are discovered, not declared, so every counter an actor increments shows up
    as ``jm_<name>_total`` without a list to keep in sync.
    """

    def __init__(self, core: ClientCore) -> None:
        self._core = core

    def collect(self):
        views = live_views(self._core)
        states = directory_states(self._core)
        yield GaugeMetricFamily("jm_directories_configured", "Directory servers configured",
                                value=len(states))
        yield GaugeMetricFamily("jm_directories_connected", "Directory servers handshaked now",
                                value=sum(state == "up" for state in states.values()))
        per_directory = GaugeMetricFamily("jm_directory_up", "1 while this directory is a route",
                                          labels=["directory"])
        for name, state in states.items():
            per_directory.add_metric([name], state == "up")
        yield per_directory
        yield GaugeMetricFamily("jm_direct_peers", "Handshaked direct maker connections",
                                value=len(views.router.peers) if views else 0)
        yield GaugeMetricFamily("jm_tracked_nicks", "Nicks tracked by the NickRegistry",
                                value=len(views.registry.present) if views else 0)
        for name, value in sorted(self._core.stats().items()):
            metric = "jm_" + "".join(c if c.isalnum() else "_" for c in name)
            yield CounterMetricFamily(metric, f"Actor counter {name!r}", value=value)


def metrics_registry(core: ClientCore) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(ClientCollector(core))
    ProcessCollector(registry=registry)  # process_start_time_seconds, CPU, memory, fds
    return registry


# -- HTTP ---------------------------------------------------------------------------------

class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would reverse-resolve the host (getfqdn): skip the DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _Handler(BaseHTTPRequestHandler):
    """GET only; every other method is a 405 and a failing endpoint a bare 500 (the
    traceback goes to the log, never to the client)."""

    server: _HttpServer
    default_request_version = "HTTP/1.0"  # an unparsable request still gets a status line

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        service, url = self.server.service, urlsplit(self.path)
        route = {"/healthz": service.health, "/readyz": service.readiness,
                 "/metrics": service.metrics}.get(url.path)
        try:
            if route is not None:
                status, content_type, body = route()
            elif url.path in service.page.paths():
                status, content_type, body = service.page.respond(
                    url.path, url.query, self.headers.get("Host", ""))
            else:
                status, content_type, body = 404, "text/plain", b"not found\n"
        except Exception:  # noqa: BLE001 - a bug in one endpoint must not reach the client
            logger.exception("http GET {} failed", url.path)
            status, content_type, body = 500, "text/plain", b"internal error\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server blames itself (501, 505) for an unknown method or HTTP version: for
        # this server those are the client's mistakes, 405 and 400
        super().send_error({501: 405, 505: 400}.get(code, code), message, explain)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        logger.debug("http {} {}", self.client_address[0], format % args)


def _json(status: int, body: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(body).encode() + b"\n"


# -- the service --------------------------------------------------------------------------

class Service:
    """Runs one client until a signal (exit 0) or an escalation (exit 3).

    ``announce`` receives the one line a supervisor or test needs on stdout: where the
    HTTP endpoints listen (the port may have been chosen by the OS).
    """

    def __init__(self, settings: ServiceSettings, announce=print,
                 watch_waits: dict[str, float] | None = None,
                 fault_plan: str | None = None) -> None:
        self._settings = settings
        self._core = make_client(settings, fault_plan)
        self._watcher = (None if watch_waits is None else
                         OrderbookWatcher(self._core, settings.watcher.interval, watch_waits))
        self.page = WebPage(self._core, self._watcher)
        self._daemon: Any = None
        self._registry = metrics_registry(self._core)
        try:
            self._http = _HttpServer(settings.metrics_address, self)
        except OSError as exc:
            raise OSError(f"metrics.address: cannot listen on {settings.metrics.address}: "
                          f"{exc.strerror or exc}") from None
        self._announce = announce
        self._stop = threading.Event()
        self._exit_code = ExitCode.OK

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    # endpoints

    def health(self) -> tuple[int, str, bytes]:
        if self._core.escalation is not None:
            return _json(503, {"status": "escalated", "reason": self._core.escalation})
        return _json(200, {"status": "ok"})

    def readiness(self) -> tuple[int, str, bytes]:
        states = directory_states(self._core)
        connected = sum(state == "up" for state in states.values())
        return _json(200 if connected else 503, {
            "ready": connected > 0, "connected": connected, "configured": len(states),
            "directories": states})

    def metrics(self) -> tuple[int, str, bytes]:
        return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)

    # lifecycle

    def run(self) -> int:
        """Serve until stopped; returns the exit code (see :class:`ExitCode`)."""
        handlers = {signum: signal.signal(signum, self._on_signal)
                    for signum in (signal.SIGTERM, signal.SIGINT)}
        http_thread = threading.Thread(target=self._http.serve_forever,
                                       kwargs={"poll_interval": 0.2}, name="jm-http")
        try:
            self._core.listeners.append(self._on_event)
            http_thread.start()
            self._announce(f"metrics listening on {self.url}")
            logger.info("orderbook page at {}/ ({})", self.url,
                        "refreshed every {:g}s".format(self._watcher.interval) if self._watcher
                        else "not watching: start with 'jm-multidir watch' to refresh it")
            self._start_daemon()
            logger.info("nick {}; connecting to {} directories", self._core.identity.nick,
                        len(self._core.config.directories))
            self._core.connect_all().add_done_callback(self._first_round)
            if self._watcher is not None:
                self._watcher.start()
            while not self._stop.wait(1.0):
                pass
        finally:
            for signum, previous in handlers.items():
                signal.signal(signum, previous)
            self._shutdown(http_thread)
        return self._exit_code

    def _first_round(self, done: Any) -> None:
        """Say how the first round went, with one WARNING per directory not up and why."""
        logger.info("first connection round: {} of {} directories up", done.result(),
                    len(self._core.config.directories))
        now = time.time()
        for name, health in self._core.directory_status().items():
            if health.state != "up":
                logger.warning("directory {}: {}", name, health.describe(now))

    def _start_daemon(self) -> None:
        """Daemon mode (docs/daemon.md), when [daemon] names a socket or TCP address."""
        try:
            self._daemon = serve_from_settings(self._core, self._settings.daemon)
        except ValueError as exc:
            raise SettingsError(f"daemon: {exc}") from None
        except OSError as exc:
            daemon = self._settings.daemon
            keys = [f"daemon.{key} = {value!r}"
                    for key, value in (("socket", daemon.socket), ("tcp", daemon.tcp)) if value]
            raise OSError(f"{', '.join(keys)}: cannot listen: {exc.strerror or exc}") from None
        if self._daemon is not None:
            logger.info("daemon serving {}", self._daemon.address)

    def stop(self, code: ExitCode) -> None:
        """Ask :meth:`run` to return ``code`` (the first reason to stop wins)."""
        if not self._stop.is_set():
            self._exit_code = code
            self._stop.set()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        logger.info("{} received: stopping within {:.0f}s", signal.Signals(signum).name,
                    STOP_DEADLINE)
        self.stop(ExitCode.OK)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, DirectoryStatus):
            logger.info("directory {} is {}", event.name, "up" if event.up else "down")
        elif isinstance(event, Escalated):
            logger.critical("supervisor escalated ({}): exiting with code {}", event.reason,
                            int(ExitCode.ESCALATED))
            self.stop(ExitCode.ESCALATED)

    def _shutdown(self, http_thread: threading.Thread) -> None:
        """Stop the daemon, the client, then HTTP, within :data:`STOP_DEADLINE`.

        The deadline is hard: actor threads are not daemons, so a stuck one would keep the
        interpreter alive forever; past the deadline the process exits at once.
        """
        def stop_all() -> None:
            try:
                if self._watcher is not None:
                    self._watcher.stop()
                if self._daemon is not None:  # its sessions use the client: stop it first
                    self._daemon.stop()
                self._core.close()
            except Exception:  # noqa: BLE001 - still stop HTTP; the exit code tells
                logger.exception("closing the client failed")
                self._exit_code = max(self._exit_code, ExitCode.FAILURE)
            finally:
                if http_thread.is_alive():
                    self._http.shutdown()
                self._http.server_close()

        stopper = threading.Thread(target=stop_all, name="jm-stop")
        stopper.start()
        stopper.join(STOP_DEADLINE)
        if stopper.is_alive():
            logger.critical("graceful stop overran {:.0f}s; exiting now", STOP_DEADLINE)
            logger.complete()
            sys.stdout.flush()
            os._exit(ExitCode.STOP_TIMEOUT)
        logger.info("stopped (exit code {})", int(self._exit_code))
