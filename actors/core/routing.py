"""Channel choice for a maker: pure functions over snapshots (API.md "Channel selection").

A channel is ``"direct"`` or ``"directory:<host:port>"``; :func:`directory_channel` and
:func:`channel_directory` are the only places that build and parse the second form.
These functions decide; the Router actor and the facades apply the decision.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import msgspec

__all__ = [
    "DIRECT", "ChannelBinding", "channel_directory", "choose_binding", "directory_channel",
    "parse_force_channel", "relay_candidates", "upgrade_channel",
]

DIRECT = "direct"
_DIRECTORY_PREFIX = "directory:"


class ChannelBinding(msgspec.Struct, frozen=True):
    """The channel a CoinJoin session with ``nick`` is pinned to."""

    nick: str
    channel_id: str
    peer_location: str | None = None

    @property
    def is_direct(self) -> bool:
        return self.channel_id == DIRECT


def directory_channel(directory: str) -> str:
    """The channel id of relaying through ``directory`` (``host:port``)."""
    return _DIRECTORY_PREFIX + directory


def channel_directory(channel: str) -> str | None:
    """The ``host:port`` of a directory channel id; None for ``direct`` or anything else."""
    if channel.startswith(_DIRECTORY_PREFIX):
        return channel[len(_DIRECTORY_PREFIX):] or None
    return None


def parse_force_channel(channel: str, configured: Sequence[str]) -> str | None:
    """Return the directory name of a forced channel, ``None`` for direct; else ValueError."""
    if channel == DIRECT:
        return None
    name = channel_directory(channel)
    if name:
        return name
    raise ValueError(
        f"force_channel must be 'direct' or 'directory:<host>:<port>', got {channel!r}"
        + (f" (configured: {', '.join(configured)})" if configured else "")
    )


def choose_binding(nick: str, *, direct_up: bool, prefer_direct: bool, connected: Sequence[str],
                   carrying: frozenset[str], listing: frozenset[str],
                   location: str | None) -> ChannelBinding | None:
    """``bind_session``: direct, else tracked directory, else listing directory, else any."""
    if direct_up and prefer_direct:
        return ChannelBinding(nick, DIRECT, location)
    for pool in (carrying, listing):
        for directory in connected:
            if directory in pool:
                return ChannelBinding(nick, directory_channel(directory), location)
    if connected:
        return ChannelBinding(nick, directory_channel(connected[0]), location)
    return None


def relay_candidates(connected: Sequence[str], carrying: frozenset[str], listing: frozenset[str],
                     rng: random.Random) -> list[str]:
    """Directories to try, in order, for one relayed privmsg (exactly one will carry it).

    The best non-empty tier (tracking the nick, else listing it, else all) is shuffled for
    load balancing and tried first; the remaining connected directories follow as
    fallbacks, so a stale tracking entry never makes the send fail outright.
    """
    tiers = [[d for d in connected if d in carrying], [d for d in connected if d in listing],
             list(connected)]
    best = next((t for t in tiers if t), [])
    rng.shuffle(best)
    rest = [d for d in connected if d not in best]
    rng.shuffle(rest)
    return best + rest


def upgrade_channel(current: str, *, direct_up: bool, prefer_direct: bool) -> str:
    """Upgrade a directory-pinned session to direct when possible; never downgrade."""
    if current.startswith(_DIRECTORY_PREFIX) and direct_up and prefer_direct:
        return DIRECT
    return current
