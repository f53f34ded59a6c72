"""LocalNet: a whole JoinMarket onion network on loopback, in one object.

A taker under test is configured exactly as for mainnet — a list of
``<onion>:5222`` directory addresses and a SOCKS5 port — and cannot tell the
difference: the :class:`~localnet.socks_gateway.OnionSocksGateway` maps every
directory's onion name to its loopback port and every maker's onion name to its direct
listener, so both directory and direct-maker traffic take the production SOCKS path.
Makers themselves dial the directories over plain loopback TCP.

With ``tor=`` a :class:`~localnet.tornet.TorNetwork`, there is no gateway: every
directory and every maker's direct listener is published as a real v3 onion service on
that network, and the taker dials them through the tor client's SocksPort. Each onion's
key is chosen first, so a component announces its real onion name from the start and is
published once its listener is bound (no port has to be guessed beforehand).

Usage::

    with LocalNet(directories=("ng", "ng", "ref"), makers=3) as net:
        client = MultiDirectoryClient(net.directory_servers, "regtest", identity,
                                      socks_host=net.socks_host, socks_port=net.socks_port)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from localnet.directory import DirectoryServer
from localnet.maker import ONION_PORT, Maker
from localnet.onion import onion_host_for
from localnet.socks_gateway import OnionSocksGateway
from localnet.tornet import TorNetwork, onion_for_key
from protocol.crypto import NickIdentity

#: How long a freshly published onion may take to answer through the tor client.
ONION_REACHABLE_SECONDS = 60.0

MAKER_STYLES = ("ng", "ref")
LOOPBACK = "127.0.0.1"


def _split_location(location: str) -> tuple[str, int]:
    host, _, port = location.rpartition(":")
    return host, int(port)


class LocalNet:
    """Gateway + directories + makers, started and stopped together.

    ``makers`` is a count (styles alternate ng, ref, ng, ...) or a list of
    :class:`~localnet.maker.Maker` keyword dicts. With ``seed``, directory and maker
    nicks and onion names are derived from it, so runs are reproducible. With ``tor``
    (a started :class:`~localnet.tornet.TorNetwork`), components are published as real
    onion services instead of gateway mappings, and withdrawn again by :meth:`stop`.
    """

    def __init__(self, directories: Iterable[str] = ("ng", "ng", "ref"),
                 makers: int | Sequence[Mapping[str, Any]] = 3, network: str = "regtest",
                 seed: int | str | None = None, tor: TorNetwork | None = None,
                 socks_port: int = 0) -> None:
        self.network = network
        self._socks_port = socks_port  # the gateway's port; 0 lets the OS choose
        self.seed = seed
        self.tor = tor
        self._profiles = tuple(directories)
        self._maker_specs = ([{} for _ in range(makers)] if isinstance(makers, int)
                             else [dict(spec) for spec in makers])
        self.gateway: OnionSocksGateway | None = None
        self.directories: list[DirectoryServer] = []
        self.makers: list[Maker] = []
        self._makers_created = 0
        self._running = False
        self._onion_keys: dict[str, bytes] = {}  # tor: onion name -> ed25519 seed
        self._published: list[str] = []  # tor: onions to withdraw at stop

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalNet:
        """Bring everything up: gateway (or nothing, over tor), directories, makers.

        Over tor, returns once every onion answers a SOCKS connect through the tor client.
        """
        if self._running:
            return self
        self._running = True
        try:
            if self.tor is None:
                self.gateway = OnionSocksGateway(port=self._socks_port).start()
            for index, profile in enumerate(self._profiles):
                seeded = {} if self.seed is None else {
                    "identity": NickIdentity(private_key_bytes=self._derive("dir-nick", index))}
                onion_host = self._onion_host("dir-onion", index)
                if onion_host is not None:
                    seeded["onion_host"] = onion_host
                directory = DirectoryServer(profile=profile, network=self.network, port=0,
                                            **seeded).start()
                self.directories.append(directory)
                host, port = _split_location(directory.location)
                self._publish(host, port, directory.address)
            for spec in self._maker_specs:
                self.add_maker(**spec)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop makers, then directories, then the gateway; idempotent, leaves no thread."""
        errors: list[BaseException] = []
        for component in [*self.makers, *self.directories, self.gateway]:
            if component is None:
                continue
            try:
                component.stop()
            except Exception as exc:  # keep stopping the rest; report afterwards
                errors.append(exc)
        self.makers, self.directories, self.gateway = [], [], None
        for onion in self._published:
            try:
                self.tor.remove_onion(onion)
            except Exception as exc:
                errors.append(exc)
        self._published, self._running = [], False
        if errors:
            raise errors[0]

    def __enter__(self) -> LocalNet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- makers ----------------------------------------------------------------------------

    def add_maker(self, **kwargs: Any) -> Maker:
        """Start one more maker on every directory; map (or publish) its direct listener."""
        if not self._running:
            raise RuntimeError("LocalNet is not started")
        if self.tor is not None and "onion_host" in kwargs:
            raise ValueError("over tor the onion name comes from a key LocalNet holds; "
                             "do not pass onion_host")
        index = self._makers_created
        self._makers_created += 1
        kwargs.setdefault("style", MAKER_STYLES[index % len(MAKER_STYLES)])
        kwargs.setdefault("network", self.network)
        kwargs.setdefault("directories", [d.address for d in self.directories])
        if self.seed is not None:
            kwargs.setdefault("identity",
                              NickIdentity(private_key_bytes=self._derive("nick", index)))
        onion_host = self._onion_host("onion", index)
        if onion_host is not None:
            kwargs.setdefault("onion_host", onion_host)
        maker = Maker(**kwargs).start()
        self.makers.append(maker)
        if maker.direct_port is not None:
            self._publish(maker.onion_host, ONION_PORT, ("127.0.0.1", maker.direct_port))
        return maker

    def remove_maker(self, nick: str) -> None:
        """Stop the maker with ``nick`` (directories then announce it gone) and unmap it."""
        maker = self.maker(nick)
        self.makers.remove(maker)
        if self.gateway is not None:
            self.gateway.unmap(maker.onion_host, ONION_PORT)
        elif maker.onion_host in self._published:
            self._published.remove(maker.onion_host)
            self.tor.remove_onion(maker.onion_host)
        maker.stop()

    def maker(self, nick: str) -> Maker:
        for maker in self.makers:
            if maker.nick == nick:
                return maker
        raise KeyError(f"no maker with nick {nick!r}")

    def _derive(self, purpose: str, index: int) -> bytes:
        return hashlib.sha256(f"localnet:{self.seed}:{purpose}:{index}".encode()).digest()

    def _onion_host(self, purpose: str, index: int) -> str | None:
        """The onion name for a new component, or None to let it pick a random one.

        Over tor it is the name of a fresh (or seed-derived) service key, remembered for
        :meth:`_publish`; otherwise a seed-derived name, or None without a seed.
        """
        if self.tor is None:
            return None if self.seed is None else onion_host_for(self._derive(purpose, index))
        key = secrets.token_bytes(32) if self.seed is None else self._derive(purpose, index)
        onion = onion_for_key(key)
        self._onion_keys[onion] = key
        return onion

    def _publish(self, onion: str, port: int, target: tuple[str, int]) -> None:
        """Make ``onion:port`` reach ``target``: a gateway mapping, or a real onion service."""
        if self.tor is None:
            self.gateway.map(onion, port, target)
            return
        published = self.tor.add_onion(target[1], virtual_port=port,
                                       key=self._onion_keys.pop(onion))
        self._published.append(published)
        if published != onion:
            raise RuntimeError(f"tor published {published}, not the announced {onion}")
        self.tor.wait_onion_reachable(onion, port, timeout=ONION_REACHABLE_SECONDS)

    # -- what a taker needs ----------------------------------------------------------------

    @property
    def directory_servers(self) -> list[str]:
        """``<onion>:5222`` for each directory: what a taker puts in its config."""
        return [d.location for d in self.directories]

    @property
    def socks_host(self) -> str:
        """Where a taker's SOCKS5 proxy is: the gateway, or the tor client."""
        if self.tor is not None:
            return LOOPBACK
        return self._require_gateway().address[0]

    @property
    def socks_port(self) -> int:
        if self.tor is not None:
            return self.tor.socks_port
        return self._require_gateway().address[1]

    def _require_gateway(self) -> OnionSocksGateway:
        if self.gateway is None:
            raise RuntimeError("LocalNet is not started")
        return self.gateway

    def describe(self) -> str:
        """A printable summary: SOCKS endpoint, directories and makers."""
        lines = [f"LocalNet ({self.network}) SOCKS5 {self.socks_host}:{self.socks_port}",
                 "directories:"]
        for profile, directory in zip(self._profiles, self.directories):
            host, port = directory.address
            lines.append(f"  {profile:<3} {directory.nick} {directory.location} -> {host}:{port}")
        lines.append("makers:")
        for maker in self.makers:
            direct = f"127.0.0.1:{maker.direct_port}" if maker.direct_port else "no direct listener"
            lines.append(f"  {maker.style:<3} {maker.nick} {maker.location} -> {direct}")
        return "\n".join(lines)
