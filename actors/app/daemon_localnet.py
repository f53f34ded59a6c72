"""``python -m actors.app.daemon_localnet``: a daemon serving a LocalNet, for tests.

Why here and not in :mod:`actors.daemon.server`: the production daemon must not import
``localnet``; ``actors.app`` is the one package that may (docs/architecture.md,
"Dependency rule"). tests/daemon/test_daemon.py runs this as a subprocess to see what
only a real process shows (SIGTERM while a client waits, a restart the remote facade
reconnects to).

Prints ``ready {json: socket_path, tcp_address, cookie_path, makers}`` once serving and
exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from actors.api.client import ClientCore
from actors.daemon.server import DaemonServer
from protocol.crypto import NickIdentity

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actors.app.daemon_localnet")
    parser.add_argument("--socket", default=None)
    parser.add_argument("--tcp", default=None, help="127.0.0.1:PORT (0 picks a free port)")
    parser.add_argument("--cookie", default=None)
    parser.add_argument("--makers", type=int, default=2)
    parser.add_argument("--per-session", action="store_true", help="shared_identity=False")
    args = parser.parse_args(argv)
    from localnet.network import LocalNet

    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with LocalNet(makers=args.makers) as net:
        def factory(identity: NickIdentity) -> ClientCore:
            return ClientCore(net.directory_servers, net.network, identity, net.socks_host,
                              net.socks_port, connection_timeout=5.0)
        with DaemonServer(factory, socket_path=args.socket, tcp_address=args.tcp,
                          cookie_path=args.cookie, shared_identity=not args.per_session) as server:
            print("ready", json.dumps({**server.address, "makers": [m.nick for m in net.makers]}),
                  flush=True)
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
