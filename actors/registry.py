"""NickRegistry actor: the single writer of nick presence (the all-directories-gone rule).

Fed by peerlists (DirectoryActors), verified messages (the Inbox) and explicit
``sync_nicks_with_peerlist`` calls. Publishes an immutable view after every change and
emits ``NickLeft`` exactly once when a nick has left every directory it was seen on.
"""

from __future__ import annotations

from loguru import logger

from actors.base import ChildActor, handles
from actors.core.nicktracker import NickTracker
from actors.messages import NickLeft, NickSeen, PeerlistReceived, SyncNicks


class NickRegistry(ChildActor):
    kind = "registry"

    def __init__(self, ctx, name: str, generation: int) -> None:
        super().__init__(ctx, name, generation)
        self.tracker = NickTracker(ignored_locations=ctx.config.directories,
                                   max_nicks=ctx.config.limits.max_tracked_nicks)

    def started(self) -> None:
        # A restarted registry starts empty: the next peerlists and messages refill it.
        self._publish()

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
        if message.applied is not None and not message.applied.done():
            message.applied.set_result(None)

    def _gone(self, nicks: list[str]) -> None:
        self._publish()
        for nick in nicks:
            logger.info("nick {} left every directory", nick)
            self.ctx.stats.inc("nicks_left")
            self.ctx.record(self.name, "nick.left", nick)
            self.ctx.emit(NickLeft(nick))
        if self.tracker.refused_nicks:
            self.ctx.stats.inc("tracked_nicks_refused", self.tracker.refused_nicks)
            self.tracker.refused_nicks = 0

    def _publish(self) -> None:
        self.ctx.views.registry = self.tracker.view()
