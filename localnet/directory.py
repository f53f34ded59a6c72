"""A JoinMarket directory on 127.0.0.1 for tests and demos (PROTOCOL.md §11 points 1-17).

Two profiles reproduce the two directory implementations a taker meets in the wild:
``"ng"`` (joinmarket-ng: strict handshake, GETPEERLIST, PING, nick-auth, sender checks)
and ``"ref"`` (the reference implementation: lenient handshake, no GETPEERLIST, dies on
PONG, adds itself to every peerlist). Tests use the differences to catch clients that
only work against one of them.

The server owns one thread running one asyncio loop, so a test can start several
directories, talk to them over real sockets from ordinary blocking code and stop them
without leaking anything. Connection handling lives in
:mod:`localnet.directory_engine`; this module is the thread-safe facade around it.

Run one by hand with ``python -m localnet.directory --profile ng --port 5222``.
"""

import argparse
import asyncio
import concurrent.futures
import signal
import threading
from collections.abc import Callable

import msgspec

from localnet.directory_engine import DirectoryStats, Hub, Settings
from localnet.onion import random_onion_host
from protocol import handshake, nickauth
from protocol.crypto import NickIdentity
from protocol.errors import NickAuthError

__all__ = ["DirectoryServer", "DirectoryStats", "main"]

HOST = "127.0.0.1"
ONION_PORT = 5222  # the virtual port every directory's location advertises (§2.1)
BACKLOG = 2048  # a test may connect a thousand peers at once
CALL_TIMEOUT = 30.0
RelayPolicy = Callable[[int, str, str, str], object]
PROFILES = {
    "ng": {"max_line": 65_536, "features": frozenset({"peerlist_features", "ping"}),
           "routable_delay": 0.05},
    "ref": {"max_line": 40_000, "features": frozenset(), "routable_delay": 0.0},
}


def _run_into(future: concurrent.futures.Future, fn, args) -> None:
    try:
        future.set_result(fn(*args))
    except BaseException as exc:  # handed to the calling thread, which re-raises it
        future.set_exception(exc)


class DirectoryServer:
    """One fake directory; see the module docstring and PROTOCOL.md §11.

    ``heartbeat`` is ``(sweep, idle, hard_evict, pong_wait)`` seconds (NG only; None
    disables it). ``rate_limit`` is ``(messages per second, burst)`` per connection.
    ``send_timeout`` is how long a recipient may refuse to read before it is removed.
    A stopped server may be started again; it rebinds the same port.
    """

    def __init__(
        self,
        profile: str = "ng",
        network: str = "regtest",
        identity: NickIdentity | None = None,
        onion_host: str | None = None,
        port: int = 0,
        max_line: int | None = None,
        features: frozenset[str] | None = None,
        nick_auth_directory_id: str | None = None,
        require_nick_auth: bool = False,
        routable_delay: float | None = None,
        rate_limit: tuple[float, int] | None = None,
        handshake_timeout: float = 30.0,
        heartbeat: tuple[float, float, float, float] | None = None,
        peerlist_chunk: int = 20,
        peerlist_chunk_delay: float = 0.05,
        send_timeout: float = 30.0,
    ):
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {profile!r}")
        if network not in handshake.NETWORKS:
            raise ValueError(f"network must be one of {sorted(handshake.NETWORKS)}")
        ref = profile == "ref"
        defaults = PROFILES[profile]
        if onion_host is None:
            onion_host = random_onion_host()
        elif not onion_host.endswith(".onion"):
            onion_host += ".onion"
        if not handshake.is_onion_v3_host(onion_host):
            raise ValueError(f"onion_host {onion_host!r} is not a v3 onion name")
        if not 0 <= port <= 65535:
            raise ValueError(f"port {port} out of range")
        if ref and (nick_auth_directory_id or require_nick_auth or heartbeat):
            raise ValueError("nick-auth and heartbeat exist only in the 'ng' profile")
        if require_nick_auth and nick_auth_directory_id is None:
            raise ValueError("require_nick_auth needs nick_auth_directory_id")
        if nick_auth_directory_id is not None:
            try:
                nickauth.build_challenge("0" * 64, nick_auth_directory_id)
            except NickAuthError as exc:
                raise ValueError(f"bad nick_auth_directory_id: {exc}") from None
        if rate_limit is not None and (rate_limit[0] <= 0 or rate_limit[1] < 1):
            raise ValueError("rate_limit must be (positive rate, burst >= 1)")
        if heartbeat is not None and (len(heartbeat) != 4 or min(heartbeat) <= 0):
            raise ValueError("heartbeat must be four positive durations")
        if peerlist_chunk < 1 or handshake_timeout <= 0 or send_timeout <= 0:
            raise ValueError("peerlist_chunk, handshake_timeout and send_timeout must be > 0")
        self._identity = identity or NickIdentity()
        self._onion_host = onion_host
        self._profile = profile
        self._port = port
        advertised = defaults["features"] if features is None else frozenset(features)
        if nick_auth_directory_id is not None:
            advertised |= {"nick_auth"}
        self._settings = Settings(
            ref=ref,
            network=network,
            nick=self._identity.nick,
            location=f"{onion_host}:{ONION_PORT}",
            max_line=max_line or defaults["max_line"],
            features=advertised,
            nick_auth_id=nick_auth_directory_id,
            require_nick_auth=require_nick_auth,
            routable_delay=defaults["routable_delay"] if routable_delay is None else routable_delay,
            rate_limit=rate_limit,
            handshake_timeout=handshake_timeout,
            heartbeat=heartbeat,
            peerlist_chunk=peerlist_chunk,
            peerlist_chunk_delay=peerlist_chunk_delay,
            send_timeout=send_timeout,
        )
        self._hub = Hub(self._settings)
        self._lock = threading.Lock()  # guards the fields below
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._loop_thread: threading.Thread | None = None  # calls from it must not queue
        self._start_error: BaseException | None = None

    # -- identity

    @property
    def profile(self) -> str:
        return self._profile

    @property
    def network(self) -> str:
        return self._settings.network

    @property
    def nick(self) -> str:
        return self._settings.nick

    @property
    def onion_host(self) -> str:
        return self._onion_host

    @property
    def location(self) -> str:
        return self._settings.location

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        return HOST, self._port

    # -- lifecycle

    def start(self) -> "DirectoryServer":
        """Bind and start serving; returns once the socket is listening."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("directory already running")
            ready = threading.Event()
            self._start_error = None
            self._thread = threading.Thread(
                target=self._run, args=(ready,), name=f"directory-{self._profile}", daemon=True
            )
            self._thread.start()
        ready.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error
        return self

    def stop(self) -> None:
        """Close every connection and the listener and join the thread (idempotent)."""
        with self._lock:
            thread, loop, stop_event = self._thread, self._loop, self._stop_event
            self._thread = None
        if thread is None:
            return
        if loop is not None:
            loop.call_soon_threadsafe(stop_event.set)
        thread.join()

    def __enter__(self) -> "DirectoryServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(ready))
        finally:
            loop.close()

    async def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                self._hub.new_connection, HOST, self._port, backlog=BACKLOG
            )
        except OSError as exc:
            self._start_error = exc
            ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        stop_event = asyncio.Event()
        self._hub.start(loop)
        with self._lock:
            self._loop, self._stop_event = loop, stop_event
            self._loop_thread = threading.current_thread()
        ready.set()
        try:
            await stop_event.wait()
        finally:
            server.close()
            await self._hub.shutdown()
            with self._lock:
                self._loop = None
            await asyncio.sleep(0)  # run queries that were queued before the gate closed

    def _call(self, fn, *args):
        """Run ``fn`` on the loop thread (or directly when the server is not running)."""
        with self._lock:
            loop = self._loop
            if loop is not None and threading.current_thread() is not self._loop_thread:
                future: concurrent.futures.Future = concurrent.futures.Future()
                loop.call_soon_threadsafe(_run_into, future, fn, args)
            else:
                future = None
        if future is None:
            return fn(*args)
        return future.result(CALL_TIMEOUT)

    # -- observation and test hooks

    def connected_nicks(self) -> frozenset[str]:
        """Nicks that completed the handshake (and nick-auth, if run) and are connected."""
        return self._call(self._hub.connected_nicks)

    def stats(self) -> DirectoryStats:
        return self._call(self._hub.stats)

    def relayed_privmsgs(self) -> tuple[tuple[str, str, str], ...]:
        """``(from_nick, to_nick, command)`` for every PRIVMSG forwarded, oldest first."""
        return self._call(lambda: tuple(self._hub.relayed))

    def received_lines(self, nick: str | None = None) -> tuple[bytes, ...]:
        """Lines read from ``nick``'s connections (all connections if None), unframed."""
        return self._call(self._hub.lines, "received", nick)

    def sent_lines(self, nick: str | None = None) -> tuple[bytes, ...]:
        """Lines written to ``nick``'s connections (all connections if None), unframed."""
        return self._call(self._hub.lines, "sent", nick)

    def kill(self, nick: str) -> bool:
        """Abort ``nick``'s connection (others get the usual ``;D``); False if not connected."""
        return self._call(self._hub.kill, nick)

    def kill_all(self) -> None:
        """Abort every connection, handshaked or not."""
        self._call(self._hub.kill_all)

    def inject(self, nick: str, raw_line: bytes) -> bool:
        """Send ``raw_line + b"\\r\\n"`` to ``nick`` verbatim; False if not connected."""
        return self._call(self._hub.inject, nick, bytes(raw_line))

    def set_relay_policy(self, policy: RelayPolicy | None) -> None:
        """Fault injection for relayed PUBMSG/PRIVMSG (PROTOCOL.md §11.17).

        ``policy(msg_type, from_nick, to_nick, command)`` runs on the directory thread
        for every message about to be forwarded and returns ``"drop"``, ``"duplicate"``,
        a delay in seconds, or anything else (e.g. None) to forward normally. A dropped
        message is not counted or listed as relayed. None removes the policy.
        """
        self._call(self._hub.set_relay_policy, policy)

    def stall(self, on: bool) -> None:
        """Stop (or resume) reading from every connection, old and new: the directory
        then accepts TCP connections but answers nothing, like a wedged onion service."""
        self._call(self._hub.stall, bool(on))


def main(argv: list[str] | None = None) -> int:
    """Serve one directory until SIGINT/SIGTERM, printing where it listens."""
    parser = argparse.ArgumentParser(prog="python -m localnet.directory", description=main.__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ng")
    parser.add_argument("--port", type=int, default=ONION_PORT)
    parser.add_argument("--network", choices=sorted(handshake.NETWORKS), default="regtest")
    parser.add_argument("--nick-auth-id", help="enable nick-auth with this directory-id")
    args = parser.parse_args(argv)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with DirectoryServer(
        profile=args.profile, network=args.network, port=args.port,
        nick_auth_directory_id=args.nick_auth_id,
    ) as directory:
        host, port = directory.address
        print(f"{host}:{port} profile={directory.profile} network={directory.network} "
              f"nick={directory.nick} location={directory.location}", flush=True)
        while not done.wait(0.5):
            pass
    stats = msgspec.structs.asdict(directory.stats())
    print(" ".join(f"{k}={v}" for k, v in stats.items() if v), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
