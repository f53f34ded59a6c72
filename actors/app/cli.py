"""``jm-multidir``: the command line of the standalone process.

Commands: ``run`` (the supervised service; ``watch`` = ``run --watch`` also keeps its
orderbook page fresh), ``orderbook`` and ``status`` (one-shot
looks at the network), ``demo``. Every network command takes ``--config FILE`` and
``--localnet``; the latter starts a loopback JoinMarket network in this process and
points the client at it, so each command works on a fresh machine without Tor.
Human-facing progress goes to stderr and results to stdout, so output can be piped.
:func:`main` returns the exit code (:class:`actors.app.service.ExitCode`).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import get_args

import msgspec

from actors.api.client import ClientCore
from actors.api.facade import GRACE
from actors.app.service import ExitCode, Service, configure_logging, live_views, make_client
from actors.app.settings import DEFAULT_CONFIG, LogLevel, ServiceSettings, SettingsError, load_settings
from actors.app.table import offer_table

__all__ = ["INTERACTIVE_LOG_LEVEL", "LOCALNET_WAITS", "REAL_WAITS", "main"]

#: fetch_orderbook waits: API.md's defaults suit a real network; a loopback one answers
#: in milliseconds, so ``--localnet`` uses short ones unless told otherwise.
REAL_WAITS = {"max_wait": 120.0, "min_wait": 30.0, "quiet_period": 15.0}
LOCALNET_WAITS = {"max_wait": 20.0, "min_wait": 1.0, "quiet_period": 1.0}
INTERACTIVE_LOG_LEVEL = "WARNING"  # orderbook/status: logs would drown the answer


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: keep main's int contract
        return exc.code if isinstance(exc.code, int) else ExitCode.OK
    if args.print_default_config:
        sys.stdout.write(DEFAULT_CONFIG)
        return ExitCode.OK
    if args.command is None:
        parser.print_usage(sys.stderr)
        return ExitCode.CONFIG
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        print(f"jm-multidir: configuration error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    except OSError as exc:  # e.g. the metrics port is taken
        print(f"jm-multidir: {exc}", file=sys.stderr)
        return ExitCode.FAILURE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jm-multidir", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"jm-multidir {_version()}")
    parser.add_argument("--print-default-config", action="store_true",
                        help="print a commented configuration file with every default")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def network_command(name: str, help: str) -> argparse.ArgumentParser:  # noqa: A002
        command = commands.add_parser(name, help=help, description=help)
        command.add_argument("--config", metavar="FILE", help="TOML configuration file")
        command.add_argument("--localnet", action="store_true",
                             help="start a loopback JoinMarket network here and use it")
        command.add_argument("--log-level", type=str.upper, choices=get_args(LogLevel),
                             help="override [logging] level (any case)")
        command.add_argument("--fault-plan", metavar="FILE",
                             help="inject the faults of this plan (docs/fault-injection.md); "
                                  "overrides JM_FAULT_PLAN")
        return command

    run = network_command("run", "run the supervised service with /healthz /readyz /metrics "
                                 "and the orderbook page at /")
    run.add_argument("--watch", action="store_true", help="keep the page's orderbook fresh")
    watch = network_command("watch", "run the service and keep its orderbook page fresh "
                                     "(same as run --watch)")
    for command, watching in ((run, False), (watch, True)):
        command.add_argument("--interval", type=float, metavar="S",
                             help="seconds between orderbook fetches (default: [watcher] "
                                  "interval, 60)")
        for wait, real, local in (("max", 120, 20), ("min", 30, 1), ("quiet", 15, 1)):
            flag = "--quiet-period" if wait == "quiet" else f"--{wait}-wait"
            command.add_argument(flag, type=float, metavar="S",
                                 help=f"each fetch's {flag[2:]} (default {real}; {local} "
                                      "with --localnet)")
        command.set_defaults(handler=_run, watch=watching)
    book = network_command("orderbook", "connect, fetch the orderbook and print it")
    book.add_argument("--max-wait", type=float, help="seconds (default 120; 20 with --localnet)")
    book.add_argument("--min-wait", type=float, help="seconds (default 30; 1 with --localnet)")
    book.add_argument("--quiet-period", type=float,
                      help="seconds without a new offer (default 15; 1 with --localnet)")
    book.set_defaults(handler=_orderbook)
    status = network_command("status", "connect and print each directory's state; "
                                       "exit 0 if at least one is connected, else 1")
    status.add_argument("--wait", type=float, default=2.0,
                        help="seconds to let peerlists arrive before counting nicks (default 2)")
    status.set_defaults(handler=_status)
    demo = commands.add_parser("demo", help="walk through the client against a local network")
    demo.add_argument("--tor", action="store_true", help="use a private Tor network instead")
    demo.set_defaults(handler=_demo)
    return parser


def _version() -> str:
    try:
        return metadata.version("jm-multidir")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


@contextmanager
def _settings(args: argparse.Namespace, log_level: str | None) -> Iterator[ServiceSettings]:
    """Load the configuration, set up logging, and with ``--localnet`` run a local network
    for the duration and substitute its directories, network and SOCKS gateway."""
    settings = load_settings(args.config)
    configure_logging(settings.logging, args.log_level or log_level)
    if not args.localnet:
        yield settings
        return
    from localnet.network import LocalNet
    with LocalNet() as net:
        print(f"localnet: {len(net.directories)} directories, {len(net.makers)} makers, "
              f"SOCKS5 {net.socks_host}:{net.socks_port}", file=sys.stderr, flush=True)
        yield msgspec.structs.replace(
            settings,
            client=msgspec.structs.replace(settings.client, network=net.network,
                                           directories=tuple(net.directory_servers)),
            socks=msgspec.structs.replace(settings.socks, host=net.socks_host,
                                          port=net.socks_port))


def _connect(core: ClientCore) -> int:
    """Connect (bounded by connection_timeout) and say how it went on stderr: the count,
    then one WARNING line per directory that is not up, with its reason — whatever the
    log level, since a user without Tor must learn why without knowing about logging."""
    try:
        connected = core.connect_all().result(core.config.connection_timeout + 1)
    except TimeoutError:
        connected = core.connected_count()
    print(f"connected to {connected} of {len(core.config.directories)} directories",
          file=sys.stderr, flush=True)
    now = time.time()
    for name, health in core.directory_status().items():
        if health.state != "up":
            print(f"WARNING: directory {name}: {health.describe(now)}", file=sys.stderr,
                  flush=True)
    return connected


class Progress:
    """One line that rewrites itself on a terminal; plain lines, every ``every`` s, in a pipe."""

    def __init__(self, stream=None, every: float = 5.0) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every = every
        self._last: float | None = None
        self._width = 0

    def update(self, text: str, now: float) -> None:
        if self._tty:
            self._stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        elif self._last is None or now - self._last >= self._every:
            self._stream.write(text + "\n")
            self._last = now
        else:
            return
        self._stream.flush()

    def done(self) -> None:
        """End the live line so what follows starts on a fresh one."""
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()


# -- commands -----------------------------------------------------------------------------

def _run(args: argparse.Namespace) -> int:
    """``run`` and ``watch``: the service; watching adds the orderbook refresh loop."""
    if args.interval is not None and not args.interval > 0:
        raise SettingsError(f"--interval: must be > 0, got {args.interval}")
    with _settings(args, None) as settings:
        if args.interval is not None:
            settings = msgspec.structs.replace(settings, watcher=msgspec.structs.replace(
                settings.watcher, interval=args.interval))
        defaults = LOCALNET_WAITS if args.localnet else REAL_WAITS
        waits = {key: default if getattr(args, key) is None else getattr(args, key)
                 for key, default in defaults.items()} if args.watch else None
        return Service(settings, announce=lambda line: print(line, flush=True),
                       watch_waits=waits, fault_plan=args.fault_plan).run()


def _orderbook(args: argparse.Namespace) -> int:
    with _settings(args, INTERACTIVE_LOG_LEVEL) as settings:
        defaults = LOCALNET_WAITS if args.localnet else REAL_WAITS
        waits = {key: default if getattr(args, key) is None else getattr(args, key)
                 for key, default in defaults.items()}
        core = make_client(settings, args.fault_plan)
        try:
            if not _connect(core):
                print("no directory connected; no orderbook", file=sys.stderr)
                return ExitCode.FAILURE
            future = core.fetch_orderbook(**waits)
            start = time.monotonic()
            progress = Progress()
            while True:
                try:
                    offers = future.result(timeout=1.0)
                    break
                except TimeoutError:
                    elapsed = time.monotonic() - start
                    if elapsed > waits["max_wait"] + GRACE:
                        progress.done()
                        print("the orderbook fetch did not finish in time", file=sys.stderr)
                        return ExitCode.FAILURE
                    progress.update(f"  collecting offers: {elapsed:.0f}s of at most "
                                    f"{waits['max_wait']:.0f}s, {core.connected_count()} "
                                    "directories up", elapsed)
            progress.done()
        finally:
            core.close()
    print("\n".join(offer_table(offers)))
    makers = len({offer.counterparty for offer in offers})
    print(f"{len(offers)} offers from {makers} makers", file=sys.stderr)
    return ExitCode.OK


def _status(args: argparse.Namespace) -> int:
    with _settings(args, INTERACTIVE_LOG_LEVEL) as settings:
        core = make_client(settings, args.fault_plan)
        try:
            _connect(core)
            time.sleep(max(0.0, args.wait))
            health = core.directory_status()
            views = live_views(core)
            present = views.registry.present if views else {}
            peers = len(views.router.peers) if views else 0
        finally:
            core.close()
    print("\n".join(status_table(health, present, time.time())))
    connected = sum(h.state == "up" for h in health.values())
    print(f"{connected} of {len(health)} directories connected; {len(present)} nicks tracked; "
          f"{peers} direct peers")
    return ExitCode.OK if connected else ExitCode.FAILURE


def status_table(health: dict, present, now: float) -> list[str]:
    """One row per directory: state, nicks it carries, and what happened (the reason)."""
    width = max(len(name) for name in health)
    rows = [f"{'directory'.ljust(width)}  {'state':<10}  nicks  detail"]
    for name, entry in health.items():
        nicks = sum(name in where for where in present.values())
        rows.append(f"{name.ljust(width)}  {entry.state:<10}  {nicks:>5}  {entry.describe(now)}")
    return rows


def _demo(args: argparse.Namespace) -> int:
    configure_logging(ServiceSettings().logging, INTERACTIVE_LOG_LEVEL)
    if args.tor:  # the demos pull in localnet; only load them when asked
        from actors.app.tordemo import run_tor_demo
        return int(run_tor_demo() or 0)
    from actors.app.demo import run_demo
    return int(run_demo() or 0)
