"""A private Tor network on 127.0.0.1, so the production SOCKS5 path meets a real Tor.

Chutney-style: ``n_authorities`` directory authorities and ``n_relays`` relays vote a
consensus among themselves with ``TestingTorNetwork`` timings. Only once every relay is
Running+Valid+HSDir in that consensus, and every relay has itself fetched a consensus and
bootstrapped, do the onion-service tor and the client tor start: starting them earlier
made clients cache a partial consensus and back off for minutes, or stall building
circuits through relays that could not extend them yet.

Everything listens on free loopback ports, so parallel runs do not clash. Every tor runs
in the foreground under this process: ``stop()`` kills exactly the PIDs it started, and
``__OwningControllerProcess`` makes each authority and relay exit on its own if this
process dies without calling ``stop()``. (The onion-service and client tors cannot have
it: stem sends TAKEOWNERSHIP when that option names our PID, and tor then exits as soon
as that short-lived control connection closes.)

Typical use::

    net = TorNetwork(tmp_dir)
    net.start()
    onion = net.add_onion(my_loopback_port)        # "<56 chars>.onion", port 5222
    net.wait_onion_reachable(onion, DEFAULT_VIRTUAL_PORT)
    ... dial through SocksConfig(port=net.socks_port) ...
    net.stop()
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey
from python_socks import ProxyError, ProxyTimeoutError, ProxyType
from python_socks.sync import Proxy

from localnet.onion import onion_host_for

LOOPBACK = "127.0.0.1"
#: The relay flags a node needs before onion services and clients can use it.
REQUIRED_FLAGS = frozenset({"Running", "Valid", "HSDir"})
#: The port an onion service listens on unless told otherwise (JoinMarket's onion port).
DEFAULT_VIRTUAL_PORT = 5222
LOG_TAIL_LINES = 15
POLL_SECONDS = 0.25
STOP_GRACE_SECONDS = 10.0
#: One SOCKS connect attempt; a stuck attempt must not eat the whole reachability wait.
ATTEMPT_SECONDS = 20.0
#: Launches of the onion-service or client tor before giving up on finding free ports.
PORT_ATTEMPTS = 5

_INSTALL_HINT = "install Debian's tor (apt-get install tor), which also provides tor-gencert"


#: How long start() waits for authorities and relays to log "Bootstrapped 100%".
RELAY_BOOTSTRAP_GRACE = 60.0


class TorNetworkError(RuntimeError):
    """The private Tor network could not be set up or used."""


class TorNotInstalledError(TorNetworkError):
    """The ``tor`` or ``tor-gencert`` binary is missing."""


class TorBootstrapError(TorNetworkError):
    """A tor process died or a bootstrap stage did not complete in time."""


def find_tor_binaries() -> tuple[str, str]:
    """Paths of ``tor`` and ``tor-gencert`` (Debian's tor is in /usr/sbin, often off PATH)."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    tor = shutil.which("tor", path=search)
    gencert = shutil.which("tor-gencert", path=search)
    if tor is None or gencert is None:
        missing = " and ".join(n for n, p in (("tor", tor), ("tor-gencert", gencert)) if p is None)
        raise TorNotInstalledError(f"{missing} not found: {_INSTALL_HINT}")
    return tor, gencert


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports the kernel considers free right now.

    The sockets are held open until all are chosen so the kernel cannot hand out the same
    port twice; another socket may still take one before its user binds it, so callers
    bind soon (see ``TorNetwork._launch_on_fresh_ports``).
    """
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, for error messages that show tor's own words."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty)"


@dataclass
class _Node:
    """One tor process: its directory, ports and, once launched, its Popen."""

    nickname: str
    datadir: Path
    control_port: int | None = None
    or_port: int | None = None
    dir_port: int | None = None
    process: subprocess.Popen | None = None

    @property
    def torrc(self) -> Path:
        return self.datadir / "torrc"

    @property
    def log(self) -> Path:
        return self.datadir / "notice.log"

    @property
    def stdout_log(self) -> Path:
        return self.datadir / "stdout.log"

    def describe_failure(self) -> str:
        """The node's last notice-log lines, or its stdout if it died before logging."""
        source = self.log if self.log.exists() else self.stdout_log
        return f"last lines of {source}:\n{log_tail(source)}"


class TorNetwork:
    """Authorities, relays, one onion-service tor and one client tor on 127.0.0.1.

    ``base_dir`` must be empty or absent: it receives one data directory per node (keys,
    torrc, ``notice.log``). ``vote_interval``/``vote_delay`` are the authorities' voting
    timings in seconds; 20/4 stayed robust on a loaded 2-core CI machine, 10/2 is faster.
    """

    def __init__(self, base_dir: str | os.PathLike, n_authorities: int = 3, n_relays: int = 2,
                 vote_interval: int = 20, vote_delay: int = 4) -> None:
        if n_authorities < 1 or n_authorities + n_relays < 4:
            # 3 relays in total failed to build onion circuits (no node for hop 3).
            raise ValueError("need at least 1 authority and 4 relays in total (authorities count)")
        self.base_dir = Path(base_dir).resolve()
        self.vote_interval = vote_interval
        self.vote_delay = vote_delay
        self._authorities = [self._node(f"auth{i}") for i in range(n_authorities)]
        self._relays = [self._node(f"relay{i}") for i in range(n_relays)]
        self._hs = self._node("hs")
        self._client = self._node("client")
        self._socks_port: int | None = None
        #: Authorities/relays that had not logged "Bootstrapped 100%" when the grace ended.
        self.lagging: list[str] = []
        #: Seconds from the start of :meth:`start` to the end of each bootstrap phase.
        self.phase_seconds: dict[str, float] = {}

    def _node(self, nickname: str) -> _Node:
        return _Node(nickname, self.base_dir / nickname)

    @property
    def socks_port(self) -> int:
        """The client tor's SocksPort (``IsolateSOCKSAuth``); valid after :meth:`start`."""
        return self._require_started(self._socks_port)

    @property
    def client_control_port(self) -> int:
        """The client tor's ControlPort (cookie auth), e.g. for STREAM events."""
        return self._require_started(self._client.control_port)

    @property
    def hs_control_port(self) -> int:
        """The onion-service tor's ControlPort (cookie auth), where ADD_ONION goes."""
        return self._require_started(self._hs.control_port)

    def _require_started(self, port: int | None) -> int:
        if port is None:
            raise TorNetworkError("the Tor network is not started")
        return port

    # -- start / stop -----------------------------------------------------------------

    def start(self, timeout: float = 300.0) -> None:
        """Bring the whole network up, or stop every process started and raise.

        Returns once the client tor has bootstrapped to 100 %; onion services added with
        :meth:`add_onion` are then reachable within seconds.
        """
        began = time.monotonic()
        deadline = began + timeout
        tor, gencert = find_tor_binaries()
        if self.base_dir.exists() and any(self.base_dir.iterdir()):
            raise TorNetworkError(f"{self.base_dir} is not empty; give TorNetwork a fresh one")
        try:
            self._configure(tor, gencert)
            self.phase_seconds["keys"] = time.monotonic() - began
            relays = self._authorities + self._relays
            for node in relays:
                self._launch(tor, node)
            for node in self._authorities:
                self._wait(lambda n=node: "Published microdesc consensus" in _read(n.log),
                           deadline, "a published consensus", node)
            self.phase_seconds["first consensus"] = time.monotonic() - began
            for node in self._authorities:
                self._wait(lambda n=node: self._consensus_complete(n), deadline,
                           "every relay Running+Valid+HSDir in the consensus", node)
            self.phase_seconds["complete consensus"] = time.monotonic() - began
            # Relays at 100 % make the client's own bootstrap faster (the consensus is
            # already fetched and cached), but onion traffic does not need every one of
            # them there: wait a bounded time and go on with any that lag. A tor that died
            # still fails the start; the client's bootstrap below is the strict check.
            grace_end = min(deadline, time.monotonic() + RELAY_BOOTSTRAP_GRACE)
            for node in relays:
                try:
                    self._wait_bootstrapped(node, grace_end)
                except TorBootstrapError:
                    if any(n.process.poll() is not None for n in relays):
                        raise
                    self.lagging.append(node.nickname)
            self.phase_seconds["relays bootstrapped"] = time.monotonic() - began
            for node in (self._hs, self._client):
                self._launch_on_fresh_ports(tor, node, deadline)
            for node in (self._hs, self._client):
                self._wait_bootstrapped(node, deadline)
            self.phase_seconds["client bootstrapped"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate every tor this network started and wait for each to exit; idempotent."""
        nodes = [n for n in self._all_nodes() if n.process is not None]
        for node in nodes:
            if node.process.poll() is None:
                node.process.terminate()
        for node in nodes:
            try:
                node.process.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()
            node.process = None
        self._socks_port = self._hs.control_port = self._client.control_port = None

    def __enter__(self) -> TorNetwork:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _all_nodes(self) -> list[_Node]:
        return [*self._authorities, *self._relays, self._hs, self._client]

    def _configure(self, tor: str, gencert: str) -> None:
        """Make authority keys, write ``dirauthorities.inc`` and the relays' torrcs.

        Relay ports are fixed here because the authorities' keys and DirAuthority lines
        name them; the launch follows within seconds, leaving little time for a clash.
        """
        relays = self._authorities + self._relays
        ports = iter(free_ports(3 * len(relays)))
        for node in relays:
            node.or_port, node.dir_port, node.control_port = next(ports), next(ports), next(ports)
        for node in self._all_nodes():
            node.datadir.mkdir(parents=True, mode=0o700)
        lines = [self._authority_line(tor, gencert, node) for node in self._authorities]
        self._include.write_text("\n".join(lines) + "\n")
        for node in relays:
            self._write_torrc(node)

    @property
    def _include(self) -> Path:
        return self.base_dir / "dirauthorities.inc"

    def _launch_on_fresh_ports(self, tor: str, node: _Node, deadline: float) -> None:
        """Launch the onion-service or client tor on ports chosen just now.

        They start half a minute after the relays, whose outgoing connections take
        ephemeral ports from the same range bind-to-port-0 draws from; a port found free
        at the beginning was taken by then in one run. So pick late, and pick again if
        tor still reports "Address already in use".
        """
        for _ in range(PORT_ATTEMPTS):
            ports = free_ports(2)
            node.control_port = ports[0]
            if node is self._client:
                self._socks_port = ports[1]
            self._write_torrc(node)
            self._launch(tor, node)
            # Tor binds its listeners before it logs "Bootstrapped 0%".
            while node.process.poll() is None and "Bootstrapped 0%" not in _read(node.log):
                if time.monotonic() > deadline:
                    raise TorBootstrapError(f"tor {node.nickname} did not start listening in time; "
                                            f"{node.describe_failure()}")
                time.sleep(POLL_SECONDS)
            clash = "Address already in use" in _read(node.stdout_log)
            if node.process.poll() is None or not clash:
                return  # running, or died for another reason that _wait reports with its log
        raise TorBootstrapError(f"tor {node.nickname} found its ports taken {PORT_ATTEMPTS} times; "
                                f"{node.describe_failure()}")

    def _authority_line(self, tor: str, gencert: str, node: _Node) -> str:
        """Create the authority's v3 keys and return its ``DirAuthority`` line."""
        keys = node.datadir / "keys"
        keys.mkdir(mode=0o700)
        _run([gencert, "--create-identity-key", "--passphrase-fd", "0",
              "-i", str(keys / "authority_identity_key"), "-s", str(keys / "authority_signing_key"),
              "-c", str(keys / "authority_certificate"), "-m", "12",
              "-a", f"{LOOPBACK}:{node.dir_port}"], stdin="test-passphrase\n")
        certificate = (keys / "authority_certificate").read_text()
        v3ident = re.search(r"^fingerprint (\w+)$", certificate, re.M)
        _run([tor, "--ignore-missing-torrc", "-f", os.devnull, "--orport", "1",
              "--datadirectory", str(node.datadir), "--list-fingerprint", "--quiet"])
        rsa_fp = (node.datadir / "fingerprint").read_text().split()[1]
        return (f"DirAuthority {node.nickname} orport={node.or_port} no-v2 "
                f"v3ident={v3ident.group(1)} {LOOPBACK}:{node.dir_port} {rsa_fp}")

    def _write_torrc(self, node: _Node) -> None:
        node.torrc.write_text("\n".join(self._torrc(node)) + "\n")

    def _torrc(self, node: _Node) -> list[str]:
        """chutney's common.i plus the node's role (relay.i, authority.i, client, hs)."""
        lines = [
            "TestingTorNetwork 1",
            "PathsNeededToBuildCircuits 0.67",
            "TestingDirAuthVoteExit *",
            "TestingDirAuthVoteHSDir *",
            "TestingDirAuthVoteGuard *",
            "TestingMinExitFlagThreshold 0",
            "V3AuthNIntervalsValid 2",
            f"DataDirectory {node.datadir}",
            f"Nickname {node.nickname}",
            f"ControlPort {LOOPBACK}:{node.control_port}",
            "CookieAuthentication 1",
            f"Log notice file {node.log}",
            "SafeLogging 0",
            "LogTimeGranularity 1",
            "ShutdownWaitLength 0",
            "Sandbox 0",
            "AvoidDiskWrites 1",
            f"%include {self._include}",
        ]
        if node is self._client:
            return lines + [f"SocksPort {LOOPBACK}:{self._socks_port} IsolateSOCKSAuth"]
        lines.append("SocksPort 0")
        if node is self._hs:
            return lines
        lines += [
            f"__OwningControllerProcess {os.getpid()}",
            f"Address {LOOPBACK}",
            f"ORPort {LOOPBACK}:{node.or_port}",
            f"DirPort {LOOPBACK}:{node.dir_port}",
            "ExitRelay 0",
            "ExitPolicy reject *:*",
            "AssumeReachable 1",
            "ServerDNSDetectHijacking 0",
            "ServerDNSTestAddresses",
            "ServerDNSResolvConfFile /dev/null",
        ]
        if node in self._authorities:
            delay = self.vote_delay
            lines += [
                "AuthoritativeDirectory 1",
                "V3AuthoritativeDirectory 1",
                "ContactInfo auth@test.test",
                f"TestingV3AuthInitialVotingInterval {self.vote_interval}",
                f"TestingV3AuthInitialVoteDelay {delay}",
                f"TestingV3AuthInitialDistDelay {delay}",
                f"V3AuthVotingInterval {self.vote_interval}",
                f"V3AuthVoteDelay {delay}",
                f"V3AuthDistDelay {delay}",
            ]
        return lines

    def _launch(self, tor: str, node: _Node) -> None:
        with open(node.stdout_log, "wb") as out:
            node.process = subprocess.Popen([tor, "-f", str(node.torrc)], stdin=subprocess.DEVNULL,
                                            stdout=out, stderr=subprocess.STDOUT)

    def _wait(self, ready, deadline: float, what: str, node: _Node) -> None:
        """Poll ``ready()`` until true; fail fast if any tor died, quoting that tor's log."""
        while not ready():
            for other in self._all_nodes():
                if other.process is not None and other.process.poll() is not None:
                    raise TorBootstrapError(
                        f"tor {other.nickname} exited with code {other.process.returncode} while "
                        f"waiting for {what} of {node.nickname}; {other.describe_failure()}")
            if time.monotonic() > deadline:
                raise TorBootstrapError(
                    f"timed out waiting for {what} of {node.nickname}; {node.describe_failure()}")
            time.sleep(POLL_SECONDS)

    def _wait_bootstrapped(self, node: _Node, deadline: float) -> None:
        self._wait(lambda: "Bootstrapped 100%" in _read(node.log), deadline,
                   "bootstrap to 100%", node)

    def _consensus_complete(self, authority: _Node) -> bool:
        """Whether the authority serves a consensus listing every relay with the flags we need."""
        conn = http.client.HTTPConnection(LOOPBACK, authority.dir_port, timeout=5)
        try:
            conn.request("GET", "/tor/status-vote/current/consensus-microdesc")
            response = conn.getresponse()
            if response.status != 200:
                return False
            text = response.read().decode(errors="replace")
        except OSError:
            return False
        finally:
            conn.close()
        flags: dict[str, set[str]] = {}
        nickname = None
        for line in text.splitlines():
            if line.startswith("r "):
                nickname = line.split()[1]
            elif line.startswith("s ") and nickname is not None:
                flags[nickname] = set(line.split()[1:])
        return all(REQUIRED_FLAGS <= flags.get(n.nickname, set())
                   for n in self._authorities + self._relays)

    # -- onion services ---------------------------------------------------------------

    def add_onion(self, target_port: int, virtual_port: int = DEFAULT_VIRTUAL_PORT,
                  key: bytes | None = None) -> str:
        """Publish a v3 onion service forwarding ``virtual_port`` to ``127.0.0.1:target_port``.

        ``key`` is a 32-byte ed25519 seed: the service then has the name
        :func:`onion_for_key` gives for it, so a caller can announce that name before its
        listener exists (a new random key when None). Uses ADD_ONION with the Detach flag,
        so the service outlives the short-lived control connection (stem's controller
        threads must not linger), and returns once tor has uploaded the descriptor to an
        HSDir. Returns ``"<56 chars>.onion"``.
        """
        from stem.control import Controller  # stem is a test extra; only this needs it

        key_type, key_content = ("NEW", "ED25519-V3") if key is None else (
            "ED25519-V3", base64.b64encode(expanded_secret_key(key)).decode("ascii"))
        with Controller.from_port(address=LOOPBACK, port=self.hs_control_port) as controller:
            controller.authenticate()
            service = controller.create_ephemeral_hidden_service(
                {virtual_port: f"{LOOPBACK}:{target_port}"}, key_type=key_type,
                key_content=key_content, discard_key=True, detached=True,
                await_publication=True, timeout=60)
        return f"{service.service_id}.onion"

    def remove_onion(self, onion: str) -> None:
        """Withdraw a service published with :meth:`add_onion` (DEL_ONION).

        Detached services live as long as the onion-service tor, so whoever shares one
        network between several users removes its own services when done with them.
        """
        from stem.control import Controller

        with Controller.from_port(address=LOOPBACK, port=self.hs_control_port) as controller:
            controller.authenticate()
            controller.remove_ephemeral_hidden_service(onion.removesuffix(".onion"))

    def wait_onion_reachable(self, onion: str, port: int, timeout: float = 60.0) -> float:
        """Retry a SOCKS connect to ``onion:port`` until it succeeds; return the seconds taken.

        The first attempt can fail while the descriptor is still propagating to HSDirs.
        """
        start = time.monotonic()
        deadline = start + timeout
        proxy = Proxy(ProxyType.SOCKS5, LOOPBACK, self.socks_port, rdns=True)
        while True:
            remaining = deadline - time.monotonic()
            try:
                proxy.connect(dest_host=onion, dest_port=port,
                              timeout=min(max(remaining, 1.0), ATTEMPT_SECONDS)).close()
                return time.monotonic() - start
            except (ProxyError, ProxyTimeoutError, OSError) as exc:
                if time.monotonic() + 1.0 > deadline:
                    raise TorNetworkError(
                        f"{onion}:{port} not reachable within {timeout}s (last error: {exc}); "
                        f"{self._client.describe_failure()}") from exc
            time.sleep(1.0)


def expanded_secret_key(seed: bytes) -> bytes:
    """The 64-byte expanded ed25519 secret key (clamped scalar || nonce prefix) of ``seed``.

    That is the form ADD_ONION's ``ED25519-V3:`` key blob takes (tor's
    ``hs_ed25519_secret_key``), not the 32-byte seed most libraries store.
    """
    if len(seed) != 32:
        raise ValueError(f"an ed25519 seed is 32 bytes, got {len(seed)}")
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return bytes(digest)


def onion_for_key(seed: bytes) -> str:
    """The v3 onion name (``"<56 chars>.onion"``) of the service whose key seed is ``seed``."""
    return onion_host_for(SigningKey(seed).verify_key.encode())


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def _run(argv: list[str], stdin: str | None = None) -> None:
    """Run a short tor tool, raising with its output if it fails."""
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise TorBootstrapError(
            f"{argv[0]} failed ({result.returncode}): {result.stdout}{result.stderr}")
