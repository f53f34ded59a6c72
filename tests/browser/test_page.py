"""The orderbook page in a real browser (Debian's headless chromium) against a LocalNet.

The ``jm-multidir watch`` process is a real subprocess dialling the LocalNet through its
onion SOCKS gateway; the browser loads the page from the process and the tests read the
DOM it built. Each test leaves a screenshot under its tmp dir for a person to look at.
Refreshes are counted (the page counts its polls in ``body[data-polls]``), never timed.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from actors.app.watcher import API_DIRECTORIES, API_ORDERBOOK

from localnet.network import LocalNet
from protocol.envelope import MsgType
from tests.browser.cdp import Browser, chromium_path
from tests.helpers.process import Process, eventually, write_config

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

ROWS = """Array.from(document.querySelectorAll('#offers tbody tr'))
          .map(tr => [tr.dataset.maker, Number(tr.dataset.oid)])"""
POLLS = "Number(document.body.dataset.polls || 0)"
WAITS = ("--interval", "1", "--max-wait", "5", "--min-wait", "0.5", "--quiet-period", "0.5")


@pytest.fixture
def net():
    with LocalNet(directories=("ng", "ng", "ref"), makers=3) as net:
        yield net


@pytest.fixture
def browser(tmp_path):
    chromium_path()  # skips with a how-to when chromium is absent
    browser = Browser(tmp_path / "chromium")
    yield browser
    browser.close()


@pytest.fixture
def watcher(net, tmp_path):
    """A ``jm-multidir watch`` process on ``net``; yields (process, base URL)."""
    workdir = tmp_path / "watch"
    workdir.mkdir()
    config = write_config(tmp_path / "c.toml", net)
    process = Process(["watch", "--config", str(config), *WAITS], workdir)
    try:
        yield process, process.url()
    finally:
        if process.popen.poll() is None:
            process.popen.kill()
        process.popen.wait(10)


def api(url: str, path: str) -> dict:
    with urllib.request.urlopen(url + path, timeout=5) as response:
        return json.load(response)


def api_offers(url: str) -> set[tuple[str, int]]:
    return {(o["maker"], o["oid"]) for o in api(url, API_ORDERBOOK)["offers"]}


def book_with_makers(url: str, nicks: set[str]) -> set[tuple[str, int]] | None:
    offers = api_offers(url)
    return offers if nicks <= {maker for maker, _ in offers} else None


def next_polls(browser: Browser, polls: int, process: Process) -> int:
    """Wait until the page has polled ``polls`` more times; return the new count."""
    target = browser.evaluate(POLLS) + polls
    return eventually(lambda: (n := browser.evaluate(POLLS)) >= target and n, 20, process)


def open_page(browser: Browser, url: str, process: Process) -> None:
    browser.navigate(url + "/")
    eventually(lambda: browser.evaluate("document.readyState") == "complete"
               and browser.evaluate(POLLS) >= 1, 20, process)


def test_table_shows_the_api_offers_and_sorting_and_filters_change_rows(
        net, watcher, browser, tmp_path):
    process, url = watcher
    makers = {maker.nick for maker in net.makers}
    book = eventually(lambda: book_with_makers(url, makers), 30, process)
    open_page(browser, url, process)

    # exactly the offers the API returns (the page polls; the book is stable here)
    eventually(lambda: {tuple(row) for row in browser.evaluate(ROWS)} == api_offers(url),
               20, process)
    rows = browser.evaluate(ROWS)
    assert len(rows) == len(book) and {tuple(row) for row in rows} == book

    # sorting by max size: ascending, then descending, and the order did change
    def max_sizes() -> list[int]:
        return browser.evaluate("""Array.from(document.querySelectorAll('#offers tbody tr'))
            .map(tr => Number(tr.children[4].textContent.replace(/,/g, '')))""")
    before = browser.evaluate(ROWS)
    browser.evaluate("document.querySelector('#offers th[data-key=maxsize]').click()")
    ascending = max_sizes()
    assert ascending == sorted(ascending) and len(set(ascending)) > 1
    assert browser.evaluate(ROWS) != before
    browser.evaluate("document.querySelector('#offers th[data-key=maxsize]').click()")
    assert max_sizes() == sorted(ascending, reverse=True)
    assert browser.evaluate(
        "document.querySelector('#offers th[data-key=maxsize]').getAttribute('aria-sort')"
    ) == "descending"

    # the type filter keeps exactly that type's offers
    absolute = {(o["maker"], o["oid"]) for o in api(url, API_ORDERBOOK)["offers"]
                if o["ordertype"] == "sw0absoffer"}
    assert absolute and absolute != book
    browser.evaluate("""(() => { const s = document.getElementById('type');
        s.value = 'sw0absoffer'; s.dispatchEvent(new Event('input')); })()""")
    assert {tuple(row) for row in browser.evaluate(ROWS)} == absolute
    assert browser.evaluate("document.getElementById('count').textContent").startswith(
        f"{len(absolute)} of {len(book)} offers")

    # text search on a maker's nick, on top of the type filter
    nick = sorted(makers)[0]
    browser.evaluate(f"""(() => {{ const s = document.getElementById('search');
        s.value = {json.dumps(nick.lower())}; s.dispatchEvent(new Event('input')); }})()""")
    assert {tuple(row) for row in browser.evaluate(ROWS)} == {
        key for key in absolute if key[0] == nick}

    # one fee unit for all offers: 0.002 % of 0.1 BTC is 200 sat, an absolute fee of
    # 1,000 sat is 0.01 % of it (the localnet makers' offers)
    def fees(unit: str) -> set[tuple[str, str]]:
        browser.evaluate(f"""(() => {{ const s = document.getElementById('unit');
            s.value = '{unit}'; s.dispatchEvent(new Event('change')); }})()""")
        return set(map(tuple, browser.evaluate("""Array.from(
            document.querySelectorAll('#offers tbody tr')).map(tr =>
            [tr.children[2].textContent, tr.children[6].firstChild.textContent])""")))
    assert fees("sat") == {("sw0absoffer", "1,000 sat")}
    assert fees("btc") == {("sw0absoffer", "0.00001000 BTC")}
    assert fees("pct") == {("sw0absoffer", "0.0100 %")}
    browser.evaluate("""(() => { const s = document.getElementById('type');
        s.value = 'sw0reloffer'; s.dispatchEvent(new Event('input')); })()""")
    browser.evaluate("""(() => { const s = document.getElementById('search');
        s.value = ''; s.dispatchEvent(new Event('input')); })()""")
    assert fees("pct") == {("sw0reloffer", "0.00200 %")}
    assert fees("btc") == {("sw0reloffer", "0.00000200 BTC")}
    assert fees("sat") == {("sw0reloffer", "200 sat")}

    # both pictures are drawn as inline SVG
    browser.evaluate("""(() => { for (const id of ['type', 'search']) {
        const s = document.getElementById(id); s.value = '';
        s.dispatchEvent(new Event('input')); } })()""")
    assert browser.evaluate("document.querySelectorAll('#fee-chart polyline').length") == len(book)
    assert browser.evaluate("document.querySelectorAll('#size-chart rect').length") >= 1
    assert "orderbook fetched" in browser.evaluate("document.getElementById('age').textContent")
    shot = browser.screenshot(tmp_path / "orderbook.png")
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


def test_a_killed_directory_shows_as_down_within_one_refresh(net, watcher, browser, tmp_path):
    """The directory rows come from the client's health book (``directory_status()``):
    once the process has seen the connection fail, the page's next refresh shows the row
    down, retrying (or already connecting again), with that connection's error."""
    process, url = watcher
    open_page(browser, url, process)
    states = "Object.fromEntries(Array.from(document.querySelectorAll('#directories tbody tr'))" \
             ".map(tr => [tr.dataset.name, [tr.className, tr.dataset.state, " \
             "tr.querySelector('.state').textContent, tr.querySelector('.error').textContent]]))"
    eventually(lambda: {row[1] for row in browser.evaluate(states).values()} == {"up"}, 20,
               process)

    lost = net.directories[0]
    lost.stop()
    eventually(lambda: next(d for d in api(url, API_DIRECTORIES)["directories"]
                            if d["name"] == lost.location)["failures"], 20, process)
    # the process knows: the page shows it after its next complete refresh
    next_polls(browser, 2, process)
    shown = browser.evaluate(states)
    css, state, text, error = shown[lost.location]
    assert css == "down" and state in ("retrying", "connecting")
    assert text.startswith(state) and (state != "retrying" or text.endswith(" s"))
    assert lost.location in error and "failed attempt" in error
    assert [row[:3] for name, row in shown.items() if name != lost.location] == [
        ["up", "up", "up"], ["up", "up", "up"]]
    browser.screenshot(tmp_path / "directory-down.png")


HOSTILE = ("<script>document.title='pwned'</script>", "<img src=x onerror=document.title=1>")


def test_a_hostile_nick_is_rendered_as_text(net, watcher, browser, tmp_path):
    process, url = watcher
    makers = {maker.nick for maker in net.makers}
    eventually(lambda: book_with_makers(url, makers), 30, process)
    directory = net.directories[0]
    (ours,) = directory.connected_nicks() - makers

    def injected() -> bool:
        """Offers are taken while a fetch runs: announce until the watcher kept them."""
        for oid, nick in enumerate(HOSTILE):
            line = f"{nick}!PUBLIC!sw0absoffer {oid} 27300 2000000 0 777"
            directory.inject(ours, json.dumps({"type": int(MsgType.PUBMSG), "line": line}).encode())
        return set(HOSTILE) <= {maker for maker, _ in api_offers(url)}

    eventually(lambda: injected() or time.sleep(0.2), 30, process)
    open_page(browser, url, process)
    eventually(lambda: set(HOSTILE) <= {row[0] for row in browser.evaluate(ROWS)}, 20, process)

    # the hostile offers were announced on one directory only: filtering by another hides them
    other = net.directories[1].location
    browser.evaluate(f"""(() => {{ const s = document.getElementById('directory');
        s.value = {json.dumps(other)}; s.dispatchEvent(new Event('input')); }})()""")
    assert {row[0] for row in browser.evaluate(ROWS)} == makers
    browser.evaluate("""(() => { const s = document.getElementById('directory');
        s.value = ''; s.dispatchEvent(new Event('input')); })()""")

    cells = browser.evaluate("""Array.from(document.querySelectorAll('#offers td.maker'))
        .map(td => td.firstChild.textContent)""")
    assert set(HOSTILE) <= set(cells)  # shown verbatim, as text
    assert browser.evaluate("document.querySelectorAll('main script, main img').length") == 0
    assert browser.evaluate("document.title") == "jm-multidir orderbook"
    browser.screenshot(tmp_path / "hostile.png")
