"""Everything the actors of one client share, built once by the facade.

Internal: applications never build or touch a SystemContext; ClientCore owns it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from actors.api.config import ClientConfig
from actors.core.clock import RealClock, RealScheduler
from actors.net.backlog import Backlogs
from actors.net.dialer import Dialer
from actors.shells.names import CORE_ACTORS, SUPERVISOR, directory_name
from actors.shells.runtime import AddressBook, Stats, Views
from protocol.crypto import NickIdentity

__all__ = ["SystemContext"]


class SystemContext:
    """Shared, long-lived collaborators (not messages: actors receive it at construction)."""

    def __init__(self, config: ClientConfig, identity: NickIdentity,
                 on_event: Callable[[Any], None], fault_injector: Any = None,
                 seed: int | None = None) -> None:
        self.config = config
        self.identity = identity
        self.stats = Stats()
        self.views = Views()
        self.book = AddressBook(self.stats)
        for name in (SUPERVISOR, *CORE_ACTORS, *map(directory_name, config.directories)):
            self.book.restarting(name)  # stash until the supervisor has spawned them
        self.clock = RealClock()
        self.scheduler = RealScheduler(self.clock)
        self.dialer = Dialer(config.socks)
        self.faults = fault_injector
        self.trace = getattr(fault_injector, "trace", None)
        self.rng = random.Random(seed)
        self.emit = on_event
        self.stopping = False
        #: live connections by actor name, so a forced shutdown can abort a stuck reader
        self.connections: dict[str, Any] = {}
        #: what each connection handed the Inbox/NickRegistry and they have not handled yet
        self.backlogs = Backlogs()
        self._lock = threading.Lock()

    def wrap(self, transport: Any, kind: str, name: str) -> Any:
        return self.faults.wrap(transport, kind, name) if self.faults else transport

    def crash_point(self, kind: str, point: str, name: str) -> None:
        if self.faults:
            self.faults.crash_points.maybe_crash(kind, point, name)

    def record(self, source: str, kind: str, detail: str = "") -> None:
        if self.trace is not None:
            self.trace.record(source, kind, detail)

    def close(self) -> None:
        self.dialer.close()
        self.scheduler.close()
