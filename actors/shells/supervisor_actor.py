"""Supervisor actor: spawns, names, restarts and stops every child of one client.

Decisions come from the pure ``SupervisorCore`` (network failures restart with backoff
forever and are not counted; protocol violations stop a peer link and restart a directory
on a slower backoff; bugs restart and count
toward the restart intensity, then escalate once). This shell performs them: timers for
delayed restarts, stashing messages for restarting children via the address book, and
the shutdown order (peers, directories, router, registry) with a deadline after which a
stuck child's socket is aborted so its blocked read returns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pykka
from loguru import logger

from actors.core.dirhealth import HealthBook
from actors.core.supervision import (Escalate, Ignore, Restart, RestartPolicy, Stop, SupervisorCore,
                                     shutdown_plan)
from actors.shells.directory import DirectoryActor
from actors.shells.inbox import Inbox
from actors.core.messages import (ChildExited, ChildStarted, DirectoryHealthChanged, Escalated,
                             Message, PeerDown, RestartChild, Shutdown, SpawnPeer, ViewsChanged)
from actors.shells.peer import PeerActor
from actors.shells.registry import NickRegistry
from actors.shells.router import Router
from actors.shells.names import (CORE_ACTORS, INBOX, REGISTRY, ROUTER, SUPERVISOR, directory_name,
                                 peer_name)
from actors.shells.runtime import settle

__all__ = [
    "CORE_POLICY", "DIRECTORY_POLICY", "PEER_POLICY", "Supervisor",
]

CORE_POLICY = RestartPolicy("permanent", max_restarts=3, within_seconds=30.0,
                            backoff_minimum=0.05, backoff_maximum=1.0)
#: Directories: network failures back off 1 s → 60 s; violations and rejections (a full
#: directory says ``accepted: false``) 10 s → 10 min. Both forever (API.md point 7).
DIRECTORY_POLICY = RestartPolicy("permanent", max_restarts=5, within_seconds=60.0,
                                 backoff_minimum=1.0, backoff_maximum=60.0, backoff_jitter=0.2,
                                 violation_backoff_minimum=10.0, violation_backoff_maximum=600.0)
PEER_POLICY = RestartPolicy("temporary")


class Supervisor(pykka.ThreadingActor):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.core = SupervisorCore(rng=random.Random(ctx.rng.getrandbits(64)))
        self.kinds: dict[str, str] = {}
        self.factories: dict[str, Callable[[int], pykka.ActorRef]] = {}
        self.escalated = False
        self.health = HealthBook(ctx.config.directories)  # published as ctx.views.directories

    def on_start(self) -> None:
        self.ctx.book.bind(SUPERVISOR, self.actor_ref)
        try:
            self._start_children()
        except Exception as exc:  # noqa: BLE001 - pykka would only log it; the client must know
            logger.exception("supervisor failed to start its children")
            self.escalated = True
            self.ctx.emit(Escalated(f"supervisor failed to start: {exc!r}"))

    def _start_children(self) -> None:
        classes = {REGISTRY: NickRegistry, INBOX: Inbox, ROUTER: Router}
        for name in CORE_ACTORS:
            cls = classes[name]
            self._add(name, cls.kind, CORE_POLICY,
                      lambda gen, n=name, c=cls: c.start(self.ctx, n, gen))
        for directory in self.ctx.config.directories:
            name = directory_name(directory)
            self._add(name, DirectoryActor.kind, DIRECTORY_POLICY,
                      lambda gen, n=name: DirectoryActor.start(self.ctx, n, gen))

    def _add(self, name: str, kind: str, policy: RestartPolicy,
             factory: Callable[[int], pykka.ActorRef]) -> None:
        self.kinds[name] = kind
        self.factories[name] = factory
        self._spawn(name, self.core.register(name, policy))

    def _spawn(self, name: str, generation: int) -> None:
        ref = self.factories[name](generation)
        self.ctx.book.bind(name, ref)
        self.ctx.record(SUPERVISOR, "child.started", f"{name}#{generation}")
        self._health(self.health.connecting, name)

    def on_receive(self, message: object) -> object:
        handler = {ChildExited: self.on_exited, ChildStarted: self.on_started,
                   RestartChild: self.on_restart, SpawnPeer: self.on_spawn_peer,
                   Shutdown: self.on_shutdown}.get(type(message))
        if handler is None:
            self.ctx.stats.inc("unhandled_messages")
            return None
        try:
            return handler(message)
        except Exception:  # noqa: BLE001 - the supervisor itself must keep running
            logger.exception("supervisor failed handling {}", type(message).__name__)
            return None

    def on_started(self, message: ChildStarted) -> None:
        self.core.on_child_started(message.name, message.generation, self.ctx.clock.now())
        self._health(self.health.up, message.name)

    def on_exited(self, message: ChildExited) -> None:
        if self.ctx.stopping:
            return
        decision = self.core.on_child_exit(message.name, message.generation, message.kind,
                                           self.ctx.clock.now(), message.reason)
        kind = message.kind.value if message.kind is not None else "normal"
        self.ctx.record(SUPERVISOR, "child.exited",
                        f"{message.name}#{message.generation} {kind} -> {type(decision).__name__}")
        if not isinstance(decision, Ignore):
            self._health(self.health.failed, message.name, message.reason,
                         retry_in=decision.delay if isinstance(decision, Restart) else None)
        if isinstance(decision, Restart):
            self.ctx.stats.inc(f"restarts_{self.kinds.get(message.name, 'child')}")
            self.ctx.book.restarting(message.name)
            self.ctx.scheduler.call_later(decision.delay, lambda: self._tell_self(
                RestartChild(decision.name, decision.generation)))
        elif isinstance(decision, Stop):
            self.ctx.stats.inc(f"stopped_{self.kinds.get(message.name, 'child')}")
            logger.warning("{} stopped for good: {}", message.name, decision.reason)
            self.ctx.book.remove(message.name)
        elif isinstance(decision, Escalate):
            self.escalated = True
            logger.error("supervisor escalates: {}", decision.reason)
            self.ctx.emit(Escalated(decision.reason))

    def _health(self, transition: Callable[..., None], name: str, *args: object,
                **kwargs: object) -> None:
        """Record a directory's transition (wall-clock time: it is shown to people)."""
        if name in self.health:
            transition(name, *args, now=time.time(), **kwargs)
            self.ctx.views.directories = self.health.view()
            self.ctx.emit(ViewsChanged())
            self.ctx.book.tell(ROUTER, DirectoryHealthChanged(name))

    def _tell_self(self, message: Message) -> None:
        try:
            self.actor_ref.tell(message)
        except pykka.ActorDeadError:
            pass

    def on_restart(self, message: RestartChild) -> None:
        if self.ctx.stopping or self.core.current_generation(message.name) != message.generation:
            return
        self._spawn(message.name, message.generation)

    def on_spawn_peer(self, message: SpawnPeer) -> None:
        name = peer_name(message.nick)
        if self.ctx.stopping:
            settle(message.attempt, False)
            return
        old = self.ctx.book.get(name)
        if old is not None and old.is_alive():
            old.stop(block=False)
        self.kinds[name] = "peer"
        self.factories[name] = lambda gen, m=message, n=name: PeerActor.start(
            self.ctx, n, gen, m.nick, m.location, m.attempt)
        try:
            self._spawn(name, self.core.register(name, PEER_POLICY))
        except Exception as exc:  # noqa: BLE001 - report to the Router like a failed dial
            self.ctx.book.tell(ROUTER, PeerDown(message.nick, 0, f"spawn failed: {exc}",
                                                  message.attempt))

    def on_shutdown(self, message: Shutdown) -> None:
        """Stop children in order; abort the sockets of any that outlive their share of time."""
        self.ctx.stopping = True
        self.core.begin_shutdown()
        end = time.monotonic() + message.deadline
        stages = shutdown_plan({n: k for n, k in self.kinds.items() if self.ctx.book.get(n)})
        for stage in stages:
            refs = [(name, self.ctx.book.get(name)) for name in stage]
            for _, ref in refs:
                if ref is not None:
                    ref.stop(block=False)
            stage_end = min(end, time.monotonic() + max(0.5, (end - time.monotonic()) / 2))
            for name, ref in refs:
                if ref is None:
                    continue
                if not ref.actor_stopped.wait(max(0.0, stage_end - time.monotonic())):
                    logger.warning("{} did not stop in time; aborting its connection", name)
                    self.ctx.stats.inc("forced_stops")
                    conn = self.ctx.connections.get(name)
                    if conn is not None:
                        conn.abort()
                    ref.actor_stopped.wait(max(0.1, end - time.monotonic()))
                self.ctx.book.remove(name)
