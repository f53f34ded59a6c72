"""The orderbook watcher: a refresh loop, directory history, and the page's JSON views.

``jm-multidir watch`` (or ``run --watch``) keeps one orderbook snapshot fresh by calling
``fetch_orderbook`` every ``interval`` seconds. The page served at ``/`` (actors/app/web/)
polls ``/api/orderbook`` and ``/api/directories``, whose bodies :func:`orderbook_view` and
:func:`directories_view` build from plain values so they can be tested without a network.
What each directory is doing and why comes from ``ClientCore.directory_status()`` (the
Supervisor's health book), the same source as ``jm-multidir status``, so the page and the
CLI never disagree. The JSON shape is documented in docs/watcher.md.

Everything a remote peer chose — nicks, features, bond fields — goes into the JSON as
data; the page inserts it with ``textContent`` only, and :class:`WebPage` serves the page
under a Content-Security-Policy that forbids inline script as a second line of defence.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from importlib import resources
from typing import Any

import msgspec
from loguru import logger

from actors.api.client import ClientCore
from actors.api.facade import GRACE
from actors.core.dirhealth import UP, DirectoryHealth
from actors.core.nicktracker import EMPTY_VIEW, RegistryView
from actors.core.orderbook import Offer
from actors.errors import ClientClosedError
from actors.shells.runtime import RouterView

#: Browsers poll this often (seconds); the page reads it from /api/orderbook.
__all__ = ["API_DIRECTORIES", "API_ORDERBOOK", "OrderbookWatcher", "SECURITY_HEADERS",
           "Snapshot", "WebPage",
           "directories_view", "merge_book", "offer_json", "orderbook_view"]

POLL_SECONDS = 2.0
#: While no directory is up the loop checks again this often instead of fetching nothing.
IDLE_RECHECK = 1.0

Response = tuple[int, str, bytes]


class Snapshot(msgspec.Struct, frozen=True):
    """The book after the last finished fetch: each offer with when (wall clock) it was
    last received, when that fetch ended and how long it took."""

    entries: tuple[tuple[Offer, float], ...]
    fetched_at: float
    took: float

    @property
    def offers(self) -> list[Offer]:
        return [offer for offer, _ in self.entries]


def merge_book(previous: Snapshot | None, fetched: Iterable[Offer],
               still_present: Callable[[str], bool], now: float
               ) -> tuple[tuple[Offer, float], ...]:
    """The watched book after one fetch.

    Makers rate-limit their answers to ``!orderbook`` (a maker that answered a minute ago
    may stay silent now), so a fetch is not the whole book: a maker that answered replaces
    all its offers, one that did not keeps its earlier offers while some directory still
    lists it, and a maker that left every directory is dropped.
    """
    fetched = list(fetched)
    answered = {offer.counterparty for offer in fetched}
    kept = [(offer, seen) for offer, seen in (previous.entries if previous else ())
            if offer.counterparty not in answered and still_present(offer.counterparty)]
    merged = kept + [(offer, now) for offer in fetched]
    return tuple(sorted(merged, key=lambda entry: (entry[0].counterparty, entry[0].oid)))


class OrderbookWatcher:
    """A thread that fetches the orderbook, waits ``interval`` seconds, and again.

    The interval counts from the end of one fetch to the start of the next, so a slow
    network never stacks fetches. While no directory is up it does not fetch (an empty
    book would replace a useful one) and says so in :attr:`state`.
    """

    def __init__(self, core: ClientCore, interval: float, waits: Mapping[str, float],
                 clock: Callable[[], float] = time.time) -> None:
        self.interval = interval
        self._core = core
        self._waits = dict(waits)
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._state = "starting"
        self._last_error: str | None = None
        self._fetches = 0
        self._thread = threading.Thread(target=self._loop, name="jm-watcher")

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"state": self._state, "fetches": self._fetches,
                    "last_error": self._last_error, "snapshot": self._snapshot}

    def _set(self, **changes: Any) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, f"_{key}", value)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._core.connected_count() == 0:
                self._set(state="waiting for a directory")
                self._stop.wait(IDLE_RECHECK)
                continue
            self._fetch_once()
            self._stop.wait(self.interval)

    def _fetch_once(self) -> None:
        self._set(state="fetching")
        started = self._clock()
        try:
            future = self._core.fetch_orderbook(**self._waits)
        except ClientClosedError:
            self._stop.set()
            return
        deadline = time.monotonic() + self._waits["max_wait"] + GRACE
        while not self._stop.is_set():
            try:
                offers = future.result(timeout=0.5)
            except FutureTimeout:
                if time.monotonic() > deadline:
                    logger.warning("orderbook fetch did not finish in time; retrying later")
                    self._set(state="idle", last_error="the last fetch did not finish in time")
                    return
                continue
            except Exception as exc:  # noqa: BLE001 - the loop must outlive one failed fetch
                logger.warning("orderbook fetch failed: {!r}; retrying later", exc)
                self._set(state="idle", last_error=f"the last fetch failed: {exc!r}")
                return
            ended = self._clock()
            registry = self._registry()
            entries = merge_book(self._snapshot, offers, registry.is_active, ended)
            self._set(state="idle", last_error=None, fetches=self._fetches + 1,
                      snapshot=Snapshot(entries, ended, ended - started))
            logger.info("orderbook refreshed: {} offers received in {:.1f}s, {} in the book",
                        len(offers), ended - started, len(entries))
            return

    def _registry(self) -> RegistryView:
        try:
            return self._core.ctx.views.registry
        except ClientClosedError:
            return EMPTY_VIEW


# -- JSON views -----------------------------------------------------------------------------

def _fee_kind(ordertype: str) -> str:
    return "relative" if ordertype.endswith("reloffer") else "absolute"


def _direct(nick: str, registry: RegistryView, router: RouterView) -> str:
    """``connected`` (a direct link is up), ``reachable`` (its onion is known) or ``relay``."""
    if nick in router.peers:
        return "connected"
    return "reachable" if registry.locations.get(nick) else "relay"


def offer_json(offer: Offer, seen_at: float, registry: RegistryView, router: RouterView,
               directories: Iterable[str]) -> dict[str, Any]:
    bond = offer.fidelity_bond_data
    present = registry.present.get(offer.counterparty, frozenset())
    return {
        "maker": offer.counterparty, "oid": offer.oid, "ordertype": offer.ordertype,
        "minsize": offer.minsize, "maxsize": offer.maxsize, "txfee": offer.txfee,
        "cjfee": str(offer.cjfee), "cjfee_kind": _fee_kind(offer.ordertype),
        "signed": offer.verified,
        "bond": None if bond is None else {
            "utxo_txid": bond.utxo_txid, "utxo_vout": bond.utxo_vout, "locktime": bond.locktime,
            "utxo_pub": bond.utxo_pub, "cert_pub": bond.cert_pub,
            "cert_expiry": bond.cert_expiry, "proof_verified": True, "value": None},
        "features": sorted(offer.features),
        "directories": [name for name in directories if name in present],
        "direct": _direct(offer.counterparty, registry, router),
        "received_at": seen_at,
    }


def orderbook_view(status: Mapping[str, Any] | None, interval: float | None,
                   registry: RegistryView, router: RouterView, directories: Iterable[str],
                   now: float) -> dict[str, Any]:
    """The body of ``/api/orderbook``; ``status`` is None when the process does not watch."""
    directories = list(directories)
    snapshot: Snapshot | None = status["snapshot"] if status else None
    entries = snapshot.entries if snapshot else ()
    return {
        "now": now, "poll_seconds": POLL_SECONDS,
        "watching": status is not None, "interval": interval,
        "state": status["state"] if status else "not watching",
        "fetches": status["fetches"] if status else 0,
        "last_error": status["last_error"] if status else None,
        "fetched_at": snapshot.fetched_at if snapshot else None,
        "fetch_seconds": snapshot.took if snapshot else None,
        "age_seconds": now - snapshot.fetched_at if snapshot else None,
        "offers": [offer_json(offer, seen, registry, router, directories)
                   for offer, seen in entries],
    }


def directories_view(health: Mapping[str, DirectoryHealth], registry: RegistryView,
                     router: RouterView, offers: Iterable[Offer], now: float) -> dict[str, Any]:
    """The body of ``/api/directories``: each directory's health (``directory_status()``,
    in configuration order) and what it shows of the network and the book."""
    offers = list(offers)
    rows = []
    for name, entry in health.items():
        on_it = {nick for nick, where in registry.present.items() if name in where}
        offered = [offer for offer in offers if offer.counterparty in on_it]
        rows.append({
            "name": name, "state": entry.state, "up": entry.state == UP, "since": entry.since,
            "last_error": entry.last_error or None, "next_retry": entry.next_retry,
            "failures": entry.failures, "detail": entry.describe(now),
            "features": sorted(router.directory_features.get(name, ())),
            "nicks": len(on_it), "offers": len(offered),
            "makers": len({offer.counterparty for offer in offered}),
        })
    return {"now": now, "directories": rows,
            "direct_peers": len(router.peers), "tracked_nicks": len(registry.present)}


# -- HTTP -----------------------------------------------------------------------------------

#: Static files under actors/app/web/, served as package data (no build step).
#: The JSON endpoints (docs/watcher.md); the page polls both.
API_ORDERBOOK, API_DIRECTORIES = "/api/orderbook", "/api/directories"

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}

#: Sent with every page and API response: no inline script or style, nothing from
#: elsewhere, no framing — a string that slipped past escaping still could not run.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; connect-src 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _error(status: int, message: str) -> Response:
    return status, "application/json", json.dumps({"error": message}).encode() + b"\n"


def _loopback_host(host: str) -> bool:
    """Whether a Host header names a loopback listener (refuses DNS-rebinding pages)."""
    if host.startswith("["):  # "[::1]:port"
        name = host[1:host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class WebPage:
    """The page, its static files and the two JSON endpoints, for one client."""

    def __init__(self, core: ClientCore, watcher: OrderbookWatcher | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._core = core
        self._watcher = watcher
        self._clock = clock
        web = resources.files("actors.app") / "web"
        self._static = {path: (web.joinpath(name).read_bytes(), ctype)
                        for path, (name, ctype) in STATIC.items()}

    def paths(self) -> frozenset[str]:
        return frozenset(STATIC) | {API_ORDERBOOK, API_DIRECTORIES}

    def respond(self, path: str, query: str, host: str) -> Response:
        """Answer a GET for one of :meth:`paths`; everything wrong is a 4xx."""
        if not _loopback_host(host):
            return _error(400, "Host must be a loopback address or localhost")
        if query:
            return _error(400, "this endpoint takes no query parameters")
        if path in self._static:
            body, content_type = self._static[path]
            return 200, content_type, body
        views = self._views()
        now = self._clock()
        if path == API_ORDERBOOK:
            status = self._watcher.status() if self._watcher else None
            body = orderbook_view(status, self._watcher.interval if self._watcher else None,
                                  *views, self._core.config.directories, now)
        else:
            status = self._watcher.status() if self._watcher else None
            offers = status["snapshot"].offers if status and status["snapshot"] else ()
            body = directories_view(self._core.directory_status(), *views, offers, now)
        return 200, "application/json", json.dumps(body).encode() + b"\n"

    def _views(self) -> tuple[RegistryView, RouterView]:
        try:
            views = self._core.ctx.views if self._core.started else None
        except ClientClosedError:
            views = None
        return (views.registry, views.router) if views else (EMPTY_VIEW, RouterView())
