"""A headless Debian ``chromium`` driven over the DevTools protocol (a small client).

Just enough for the page tests: navigate, evaluate an expression in the page and get its
value back as JSON, take a screenshot. The browser runs in its own session (process
group) with a throw-away profile under the test's tmp dir and is killed as a group at
close, so no renderer outlives the test. It listens on a loopback port the OS picks.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from itertools import count
from pathlib import Path
from typing import Any

import pytest

websocket = pytest.importorskip(
    "websocket", reason="websocket-client is missing: pip install -e '.[test]'")

HOW_TO = ("Debian's chromium is not installed: `apt-get install chromium` "
          "(.ci/run does it when run as root)")


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(HOW_TO)
    return path


class Browser:
    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self._log = workdir / "chromium.log"
        with open(self._log, "w") as log:
            self._process = subprocess.Popen(
                [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-sync", "--hide-scrollbars",
                 "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                 f"--user-data-dir={workdir / 'profile'}", "--window-size=1280,1700",
                 "about:blank"],
                stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        self._ids = count(1)
        try:
            self._socket = websocket.create_connection(self._page_socket(), timeout=30,
                                                       suppress_origin=True)
            self.call("Page.enable")
            self.call("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _page_socket(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/",
                              self._log.read_text(errors="replace"))
            if match:
                with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/json/list",
                                            timeout=10) as response:
                    pages = [t for t in json.load(response) if t["type"] == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            if self._process.poll() is not None:
                break
            time.sleep(0.1)
        pytest.fail(f"chromium did not start; its log:\n{self._log.read_text()[-3000:]}")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events in between are skipped)."""
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            reply = json.loads(self._socket.recv())
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page; a thrown error fails the test."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            pytest.fail(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        socket = getattr(self, "_socket", None)
        if socket is not None:
            socket.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the whole group: renderers too
            try:
                os.killpg(self._process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self._process.wait(10)
                break
            except subprocess.TimeoutExpired:
                continue
