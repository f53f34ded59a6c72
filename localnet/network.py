"""LocalNet: a whole JoinMarket onion network on loopback, in one object.

A taker under test is configured exactly as for mainnet — a list of
``<onion>:5222`` directory addresses and a SOCKS5 port — and cannot tell the
difference: the :class:`~localnet.socks_gateway.OnionSocksGateway` maps every
directory's onion name to its loopback port and every maker's onion name to its direct
listener, so both directory and direct-maker traffic take the production SOCKS path.
Makers themselves dial the directories over plain loopback TCP.

Usage::

    with LocalNet(directories=("ng", "ng", "ref"), makers=3) as net:
        client = MultiDirectoryClient(net.directory_servers, "regtest", identity,
                                      socks_host=net.socks_host, socks_port=net.socks_port)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from localnet.directory import DirectoryServer
from localnet.maker import ONION_PORT, Maker, onion_host_for
from localnet.socks_gateway import OnionSocksGateway
from protocol.crypto import NickIdentity

MAKER_STYLES = ("ng", "ref")


def _split_location(location: str) -> tuple[str, int]:
    host, _, port = location.rpartition(":")
    return host, int(port)


class LocalNet:
    """Gateway + directories + makers, started and stopped together.

    ``makers`` is a count (styles alternate ng, ref, ng, ...) or a list of
    :class:`~localnet.maker.Maker` keyword dicts. With ``seed``, directory and maker
    nicks and onion names are derived from it, so runs are reproducible.
    """

    def __init__(self, directories: Iterable[str] = ("ng", "ng", "ref"),
                 makers: int | Sequence[Mapping[str, Any]] = 3, network: str = "regtest",
                 seed: int | str | None = None) -> None:
        self.network = network
        self.seed = seed
        self._profiles = tuple(directories)
        self._maker_specs = ([{} for _ in range(makers)] if isinstance(makers, int)
                             else [dict(spec) for spec in makers])
        self.gateway: OnionSocksGateway | None = None
        self.directories: list[DirectoryServer] = []
        self.makers: list[Maker] = []
        self._makers_created = 0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalNet:
        """Bring everything up: gateway, then directories, then makers."""
        if self.gateway is not None:
            return self
        try:
            self.gateway = OnionSocksGateway().start()
            for index, profile in enumerate(self._profiles):
                seeded = {} if self.seed is None else {
                    "identity": NickIdentity(private_key_bytes=self._derive("dir-nick", index)),
                    "onion_host": onion_host_for(self._derive("dir-onion", index))}
                directory = DirectoryServer(profile=profile, network=self.network, port=0,
                                            **seeded).start()
                self.directories.append(directory)
                host, port = _split_location(directory.location)
                self.gateway.map(host, port, directory.address)
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
        if errors:
            raise errors[0]

    def __enter__(self) -> LocalNet:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- makers ----------------------------------------------------------------------------

    def add_maker(self, **kwargs: Any) -> Maker:
        """Start one more maker on every directory and map its onion in the gateway."""
        if self.gateway is None:
            raise RuntimeError("LocalNet is not started")
        index = self._makers_created
        self._makers_created += 1
        kwargs.setdefault("style", MAKER_STYLES[index % len(MAKER_STYLES)])
        kwargs.setdefault("network", self.network)
        kwargs.setdefault("directories", [d.address for d in self.directories])
        if self.seed is not None:
            kwargs.setdefault("identity",
                              NickIdentity(private_key_bytes=self._derive("nick", index)))
            kwargs.setdefault("onion_host", onion_host_for(self._derive("onion", index)))
        maker = Maker(**kwargs).start()
        self.makers.append(maker)
        if maker.direct_port is not None:
            self.gateway.map(maker.onion_host, ONION_PORT, ("127.0.0.1", maker.direct_port))
        return maker

    def remove_maker(self, nick: str) -> None:
        """Stop the maker with ``nick`` (directories then announce it gone) and unmap it."""
        maker = self.maker(nick)
        self.makers.remove(maker)
        if self.gateway is not None:
            self.gateway.unmap(maker.onion_host, ONION_PORT)
        maker.stop()

    def maker(self, nick: str) -> Maker:
        for maker in self.makers:
            if maker.nick == nick:
                return maker
        raise KeyError(f"no maker with nick {nick!r}")

    def _derive(self, purpose: str, index: int) -> bytes:
        return hashlib.sha256(f"localnet:{self.seed}:{purpose}:{index}".encode()).digest()

    # -- what a taker needs ----------------------------------------------------------------

    @property
    def directory_servers(self) -> list[str]:
        """``<onion>:5222`` for each directory: what a taker puts in its config."""
        return [d.location for d in self.directories]

    @property
    def socks_host(self) -> str:
        return self._require_gateway().address[0]

    @property
    def socks_port(self) -> int:
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
