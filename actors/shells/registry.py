"""NickRegistry actor: the single writer of nick presence (the all-directories-gone rule).

Fed by peerlists (DirectoryActors), verified messages (the Inbox) and explicit
``sync_nicks_with_peerlist`` calls. Publishes an immutable view after every change and
emits ``NickLeft`` exactly once when a nick has left every directory it was seen on.
"""

from __future__ import annotations

from loguru import logger

from actors.shells.base import ChildActor, handles
from actors.core.nicktracker import NickTracker
from actors.core.messages import NickLeft, NickSeen, PeerlistReceived, PublishView, SyncNicks, ViewsChanged
from actors.shells.runtime import settle


class NickRegistry(ChildActor):
    kind = "registry"

    def __init__(self, ctx, name: str, generation: int) -> None:
        super().__init__(ctx, name, generation)
        self.tracker = NickTracker(ignored_locations=ctx.config.directories,
                                   max_nicks=ctx.config.limits.max_tracked_nicks)
        self._reminder_pending = False

    def started(self) -> None:
        # A restarted registry starts empty: the next peerlists and messages refill it.
        self._publish(force=True)

    @handles(PeerlistReceived)
    def on_peerlist(self, message: PeerlistReceived) -> None:
        self.ctx.crash_point("registry", "registry.on_update", self.name)
        self._gone(self.tracker.apply_peerlist(message.directory, message.entries))

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
