"""Inbox actor: verifies every incoming PRIVMSG once and routes it to waits or the orderbook.

Why a separate actor (the design card lists four kinds): reply collection and orderbook
aggregation are one concern — "what did the makers say" — distinct from routing (the
Router) and presence (the NickRegistry). Keeping them in one single-threaded place is
what makes the guarantees simple: a reply is verified once even when N directories
relay it, attributed only to its verified sender, handed out once, and waits are
completed by push the moment the line is decoded (no polling).
"""

from __future__ import annotations

from collections import OrderedDict

from loguru import logger

from actors.shells.base import ChildActor, handles
from actors.core.orderbook import LISTED, UNLISTED, VERIFIED, BondData, Offer, OrderbookFetch
from actors.core.sources import OfferSources
from actors.core.replies import ReplyBook, Reply
from actors.core.routing import channel_directory
from actors.shells.names import REGISTRY, ROUTER, directory_name, peer_name
from actors.shells.runtime import settle
from actors.core.messages import (BroadcastPubmsg, FetchTick, NickSeen, PrivmsgReceived, PubmsgReceived,
                             RegisterWait, StartOrderbookFetch, WaitExpired)
from protocol.bond import parse_bond_proof, verify_bond_proof
from protocol.crypto import verify_privmsg
from protocol.errors import BondError, ProtocolError
from protocol.jmmessage import OFFER_TYPES, PrivMsg, split_commands
from protocol.offers import OfferSegment, parse_cancel, parse_offer_body

__all__ = [
    "VERIFIED_CACHE", "Inbox",
]

VERIFIED_CACHE = 4_096
VERIFIED_SENDERS = 4_096  # nicks remembered as having sent a verified privmsg (offer trust)


class Inbox(ChildActor):
    kind = "inbox"

    def __init__(self, ctx, name: str, generation: int) -> None:
        super().__init__(ctx, name, generation)
        limits = ctx.config.limits
        self.book = ReplyBook(replay_ttl=limits.replay_ttl, replay_max=limits.replay_max,
                              max_waits=limits.max_pending_waits)
        self._waits: dict[int, tuple] = {}  # wait_id -> (reply future, timer, command)
        self._fetches: dict[int, tuple] = {}  # fetch_id -> (OrderbookFetch, reply future, timer)
        self._sources: dict[int, OfferSources] = {}  # fetch_id -> which directories relayed what
        self._verified: OrderedDict[tuple[str, str, str, str, str], bool] = OrderedDict()
        self._bonds: OrderedDict[tuple[str, str], BondData | None] = OrderedDict()
        self._senders: OrderedDict[str, None] = OrderedDict()  # verified senders, newest last

    # -- incoming messages ----------------------------------------------------------------------

    @staticmethod
    def _link_name(channel: str, from_nick: str) -> str:
        """The link actor that handed us a message (its backlog is credited when done)."""
        directory = channel_directory(channel)
        return directory_name(directory) if directory is not None else peer_name(from_nick)

    @handles(PrivmsgReceived)
    def on_privmsg(self, message: PrivmsgReceived) -> None:
        try:
            self._privmsg(message)
        finally:
            self.ctx.backlogs.done(self._link_name(message.channel, message.msg.from_nick), "inbox")

    def _privmsg(self, message: PrivmsgReceived) -> None:
        msg = message.msg
        if not self._verify(msg):
            return
        directory = channel_directory(message.channel)
        if directory is not None:
            self._seen(msg.from_nick, directory)
        if msg.command in OFFER_TYPES:
            self._offers(msg.from_nick, f"{msg.command} {msg.data}", True, message.channel)
            return
        args = msg.data
        self.ctx.record(self.name, "reply.verified", f"{msg.from_nick} {msg.command} {message.channel}")
        logger.trace("verified !{} from {} via {}", msg.command, msg.from_nick, message.channel)
        completions = self.book.deliver(
            Reply(msg.from_nick, msg.command, self._wire_data(msg), args, message.channel),
            self.ctx.clock.now())
        for completion in completions:
            self._complete(completion)

    def _seen(self, nick: str, directory: str) -> None:
        """Tell the NickRegistry, unless its published view already has it (saves a hop
        per message on the hot path; bench/scale.py)."""
        if directory not in self.ctx.views.registry.present.get(nick, ()):
            self.ctx.book.tell(REGISTRY, NickSeen(nick, directory))

    @staticmethod
    def _wire_data(msg: PrivMsg) -> str:
        """Everything after the command word as on the wire (API.md precise point 3)."""
        if msg.command == "error":
            return msg.data
        return f"{msg.data} {msg.pubkey_hex} {msg.sig_b64}"

    def _verify(self, msg: PrivMsg) -> bool:
        # the pubkey is part of the key: a line verified under the sender's key must not
        # vouch for a copy that carries another key (hostile/test_forgery.py)
        key = (msg.from_nick, msg.command, msg.data, msg.pubkey_hex, msg.sig_b64)
        cached = self._verified.get(key)
        if cached is None:
            try:
                verify_privmsg(msg)
                cached = True
                self.ctx.stats.inc("privmsg_verified")
                self._senders.pop(msg.from_nick, None)
                self._senders[msg.from_nick] = None
                if len(self._senders) > VERIFIED_SENDERS:
                    self._senders.popitem(last=False)
            except ProtocolError as exc:
                cached = False
                self.ctx.stats.inc("privmsg_forged")
                logger.warning("dropped unverifiable {} from {}: {}", msg.command, msg.from_nick, exc)
            self._verified[key] = cached
            if len(self._verified) > VERIFIED_CACHE:
                self._verified.popitem(last=False)
        return cached

    @handles(PubmsgReceived)
    def on_pubmsg(self, message: PubmsgReceived) -> None:
        try:
            self._pubmsg(message)
        finally:
            self.ctx.backlogs.done(self._link_name(message.channel, message.from_nick), "inbox")

    def _pubmsg(self, message: PubmsgReceived) -> None:
        try:
            commands = split_commands(message.body)
        except ProtocolError:
            self.ctx.stats.inc("pubmsg_malformed")
            return
        if any(cmd in OFFER_TYPES for cmd, _ in commands):
            self._offers(message.from_nick, message.body, False, message.channel)
        for cmd, args in commands:
            if cmd == "cancel":
                try:
                    oid = parse_cancel(args)
                except ProtocolError:
                    self.ctx.stats.inc("cancel_malformed")
                    continue
                for fetch, _, _ in self._fetches.values():
                    fetch.cancel(message.from_nick, oid)

    def _offers(self, maker: str, body: str, verified: bool, channel: str) -> None:
        try:
            segments, tbond, errors = parse_offer_body(body)
        except ProtocolError:  # the line itself does not split into commands
            self.ctx.stats.inc("offers_rejected")
            return
        if errors:
            self.ctx.stats.inc("offers_rejected", len(errors))
        if not segments:
            return
        directory = channel_directory(channel)
        if not verified and directory is not None:
            # a directory's orderbook is authoritative for presence (API.md "Orderbook")
            self._seen(maker, directory)
        if tbond and not verified:
            # a bond proof names the taker it is for, so only a signed privmsg can carry ours
            self.ctx.stats.inc("bonds_ignored_unsigned")
        bond = self._bond(maker, tbond) if (tbond and verified) else None
        now = self.ctx.clock.now()
        if not self._fetches:
            self.ctx.stats.inc("offers_outside_fetch", len(segments))
        directory = channel_directory(channel)
        trust = self._trust(maker, verified)
        for fetch_id, (fetch, _, _) in list(self._fetches.items()):
            answered = len(fetch.answered)
            for seg in segments:
                fetch.add(_offer(maker, seg, bond, verified), now, channel, trust)
                if directory is not None:
                    self._sources[fetch_id].note(maker, seg.oid, directory)
            # a maker's first answer can bring the stop earlier than planned only while
            # the plan is "max_wait" (nothing had arrived) or "min_wait" (early stop)
            if len(fetch.answered) > answered and (
                    answered == 0 or now - fetch.start < fetch.min_wait):
                self._schedule(fetch_id)

    def _trust(self, maker: str, verified: bool) -> int:
        """Verified-signed > listed by a connected directory's peerlist > anything else."""
        if verified or maker in self._senders:
            return VERIFIED
        return LISTED if self.ctx.views.registry.listed.get(maker) else UNLISTED

    def _bond(self, maker: str, tbond: str) -> BondData | None:
        """The verified bond, once per (maker, proof): every offer of a maker carries the
        same proof, relayed by every directory (6 checks per maker with 2 offers x 3
        directories, ~0.1 ms each, in the burst that ends a fetch; bench/orderbook.py)."""
        key = (maker, tbond)
        if key in self._bonds:
            self._bonds.move_to_end(key)
            return self._bonds[key]
        bond = self._check_bond(maker, tbond)
        self._bonds[key] = bond
        if len(self._bonds) > VERIFIED_CACHE:
            self._bonds.popitem(last=False)
        return bond

    def _check_bond(self, maker: str, tbond: str) -> BondData | None:
        try:
            proof = parse_bond_proof(tbond)
            verify_bond_proof(proof, self.ctx.identity.nick, maker)
        except BondError as exc:
            self.ctx.stats.inc("bonds_rejected")
            logger.info("rejected fidelity bond from {}: {}", maker, exc)
            return None
        return BondData(utxo_txid=proof.txid_hex, utxo_vout=proof.vout, locktime=proof.locktime,
                        utxo_pub=proof.utxo_pub.hex(), cert_pub=proof.cert_pub.hex(),
                        cert_expiry=proof.cert_expiry)

    # -- waits ------------------------------------------------------------------------------------

    @handles(RegisterWait)
    def on_register(self, message: RegisterWait) -> None:
        try:
            done = self.book.register(message.wait_id, message.nicks, message.command,
                                      dict(message.counts), self.ctx.clock.now())
        except OverflowError as exc:
            self.ctx.stats.inc("waits_refused")
            settle(message.reply, error=exc)
            return
        timer = self.ctx.scheduler.call_later(
            message.timeout, lambda: self._tell_self(WaitExpired(message.wait_id)))
        self._waits[message.wait_id] = (message.reply, timer, message.command)
        wait_id = message.wait_id
        message.reply.add_done_callback(
            lambda f: f.cancelled() and self._tell_self(WaitExpired(wait_id)))
        if done is not None:
            self._complete(done)

    @handles(WaitExpired)
    def on_expired(self, message: WaitExpired) -> None:
        completion = self.book.expire(message.wait_id)
        if completion is not None:
            self._complete(completion)

    def _complete(self, completion) -> None:
        reply, timer, command = self._waits.pop(completion.wait_id)
        timer.cancel()
        results = self.book.results(completion.wait_id)
        if completion.missing:
            logger.info("wait for {}: no complete answer from {}", command, ", ".join(completion.missing))
        settle(reply, results)

    def _tell_self(self, message) -> None:
        try:
            self.actor_ref.tell(message)
        except Exception:  # noqa: BLE001 - the actor stopped; the facade's own timeout covers it
            pass

    # -- orderbook ----------------------------------------------------------------------------------

    @handles(StartOrderbookFetch)
    def on_fetch(self, message: StartOrderbookFetch) -> None:
        limits = self.ctx.config.limits
        fetch = OrderbookFetch(self.ctx.clock.now(), message.max_wait, message.min_wait,
                               message.quiet_period, limits.max_offers, limits.max_offers_per_maker,
                               sources=len(self.ctx.config.directories) + 1)  # + "direct"
        self._fetches[message.fetch_id] = (fetch, message.reply, None)
        self._sources[message.fetch_id] = OfferSources(limits.max_offers)
        self.ctx.book.tell(ROUTER, BroadcastPubmsg("orderbook"))
        self._schedule(message.fetch_id)

    @handles(FetchTick)
    def on_tick(self, message: FetchTick) -> None:
        if message.fetch_id in self._fetches:
            self._schedule(message.fetch_id)

    def _schedule(self, fetch_id: int) -> None:
        fetch, reply, timer = self._fetches[fetch_id]
        if timer is not None:
            timer.cancel()  # one planned check per fetch, however often it is re-planned
        registry = self.ctx.views.registry
        makers = [n for n in registry.locations if registry.is_active(n)]
        delay = fetch.next_check(self.ctx.clock.now(), makers)
        if delay is None:
            del self._fetches[fetch_id]
            if fetch.dropped:
                self.ctx.stats.inc("offers_dropped_cap", fetch.dropped)
            if fetch.dropped_per_maker:
                self.ctx.stats.inc("offers_dropped_per_maker", fetch.dropped_per_maker)
            if fetch.evicted:
                self.ctx.stats.inc("offers_evicted", fetch.evicted)
            settle(reply, self._sources.pop(fetch_id).apply(fetch.offers(registry.features)))
            return
        timer = self.ctx.scheduler.call_later(delay, lambda: self._tell_self(FetchTick(fetch_id)))
        self._fetches[fetch_id] = (fetch, reply, timer)

    def cleanup(self) -> None:
        for reply, timer, _ in self._waits.values():
            timer.cancel()
            settle(reply, {})
        for _, reply, timer in self._fetches.values():
            if timer is not None:
                timer.cancel()
            settle(reply, [])
        self._sources.clear()


def _offer(maker: str, seg: OfferSegment, bond: BondData | None, verified: bool) -> Offer:
    return Offer(counterparty=maker, oid=seg.oid, ordertype=seg.ordertype, minsize=seg.minsize,
                 maxsize=seg.maxsize, txfee=seg.txfee, cjfee=seg.cjfee, fidelity_bond_data=bond,
                 verified=verified)
