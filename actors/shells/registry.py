"""NickRegistry actor: the single writer of nick presence (the all-directories-gone rule).

Fed by peerlists (DirectoryActors), verified messages (the Inbox) and explicit
``sync_nicks_with_peerlist`` calls. Publishes an immutable view after every change and
emits ``NickLeft`` exactly once when a nick has left every directory it was seen on.
"""

from __future__ import annotations

from loguru import logger

from actors.shells.base import ChildActor, handles
from actors.core.nicktracker import NickTracker
from actors.core.messages import (DirectoryDown, DirectoryExpired, DirectoryUp, NickLeft, NickSeen,
                                  PeerlistReceived, PublishView, SyncNicks, ViewsChanged)
from actors.shells.runtime import settle


class NickRegistry(ChildActor):
    kind = "registry"

    def __init__(self, ctx, name: str, generation: int) -> None:
        super().__init__(ctx, name, generation)
        self.tracker = NickTracker(ignored_locations=ctx.config.directories,
                                   max_nicks=ctx.config.limits.max_tracked_nicks,
                                   directories=len(ctx.config.directories))
        self._reminder_pending = False
        self._outages: dict[str, tuple[int, object]] = {}  # directory -> (token, timer)
        self._tokens = 0

    def started(self) -> None:
        # A restarted registry starts empty: the next peerlists and messages refill it.
        self._publish(force=True)

    @handles(PeerlistReceived)
    def on_peerlist(self, message: PeerlistReceived) -> None:
        self.ctx.crash_point("registry", "registry.on_update", self.name)
        self._back(message.directory)
        try:
            self._gone(self.tracker.apply_peerlist(message.directory, message.entries))
        finally:
            self.ctx.backlogs.done(message.directory, "registry")
        for nick, claims in self.tracker.conflicts:
            logger.warning("directories disagree on the location of {}: {}", nick, claims)
        self.tracker.conflicts.clear()

    # -- lost directories: their entries expire (docs/limits.md lost_directory_ttl) -------

    @handles(DirectoryDown)
    def on_directory_down(self, message: DirectoryDown) -> None:
        if message.name in self._outages:
            return
        self._tokens += 1
        token, name = self._tokens, message.name
        timer = self.ctx.scheduler.call_later(
            self.ctx.config.limits.lost_directory_ttl,
            lambda: self._tell_self(DirectoryExpired(name, token)))
        self._outages[name] = (token, timer)

    @handles(DirectoryUp)
    def on_directory_up(self, message: DirectoryUp) -> None:
        self._back(message.name)

    def _back(self, directory: str) -> None:
        outage = self._outages.pop(directory, None)
        if outage is not None:
            outage[1].cancel()

    @handles(DirectoryExpired)
    def on_expired(self, message: DirectoryExpired) -> None:
        outage = self._outages.get(message.name)
        if outage is None or outage[0] != message.token:
            return
        del self._outages[message.name]
        gone = self.tracker.forget_directory(message.name)
        logger.info("directory {} lost for {}s: forgot its entries ({} nicks gone)", message.name,
                    self.ctx.config.limits.lost_directory_ttl, len(gone))
        self.ctx.stats.inc("directories_expired")
        self._publish(force=True)
        self._gone(gone)

    def _tell_self(self, message) -> None:
        try:
            self.actor_ref.tell(message)
        except Exception:  # noqa: BLE001 - the actor stopped; a new one starts empty anyway
            pass

    def cleanup(self) -> None:
        for _, timer in self._outages.values():
            timer.cancel()

    @handles(NickSeen)
    def on_seen(self, message: NickSeen) -> None:
        if self.tracker.mark_present(message.nick, message.directory):
            self._publish()

    @handles(SyncNicks)
    def on_sync(self, message: SyncNicks) -> None:
        self._gone(self.tracker.sync(message.directory, message.nicks))
        if message.applied is not None:
            self._publish(force=True)  # the caller reads the view once this resolves
            settle(message.applied, None)

    @handles(PublishView)
    def on_publish(self, _: PublishView) -> None:
        self._reminder_pending = False
        self._publish()

    def _gone(self, nicks: list[str]) -> None:
        self._publish(force=bool(nicks))  # callbacks may read is_nick_active at once
        for nick in nicks:
            logger.info("nick {} left every directory", nick)
            self.ctx.stats.inc("nicks_left")
            self.ctx.record(self.name, "nick.left", nick)
            self.ctx.emit(NickLeft(nick))
        if self.tracker.location_conflicts:
            self.ctx.stats.inc("location_conflicts", self.tracker.location_conflicts)
            self.tracker.location_conflicts = 0
        if self.tracker.refused_nicks:
            self.ctx.stats.inc("tracked_nicks_refused", self.tracker.refused_nicks)
            self.tracker.refused_nicks = 0

    def _publish(self, force: bool = False) -> None:
        """Publish the current view; under load, once per burst instead of per message.

        Rebuilding the view is O(tracked nicks), so a flood of new nicks one message at a
        time would be quadratic. While more messages wait in the mailbox we defer, and a
        single ``PublishView`` reminder at the back of the queue guarantees the deferred
        view is published after the burst.
        """
        if force or self.actor_inbox.empty():
            view = self.tracker.view()
            if view is not self.ctx.views.registry:
                self.ctx.views.registry = view
                self.ctx.emit(ViewsChanged())
        elif not self._reminder_pending:
            self._reminder_pending = True
            self.actor_ref.tell(PublishView())
