"""Reply latency: a maker's reply leaving the directory → ``wait_for_responses`` returning.

A signed ``!pubkey`` reply is injected by the local directory server straight onto the
client's connection (so the clock starts when the reply hits the wire) and the clock
stops when a blocking ``wait_for_responses`` returns it — embedded, and through the
daemon's control socket with the remote facade. Baseline, same run: a raw loopback TCP
round trip. Targets from the issues: embedded p50 <= 5 ms and p99 <= 20 ms; through the
daemon, p50 within 1 ms of embedded.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from _common import raw_loopback_rtt, summary

from actors.daemon.server import DaemonServer
from actors.api.facade import BlockingMultiDirectoryClient
from localnet.network import LocalNet
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType, encode_envelope
from supervisor import BlockingRemoteMultiDirectoryClient

REGISTER_GRACE = 0.005  # let the wait register before the reply is injected


def measure(client, our_nick: str, directory, rounds: int) -> list[float]:
    """Inject one fresh signed reply per round and time it until the wait returns it."""
    maker = NickIdentity()
    samples = []
    for i in range(rounds):
        result: dict = {}
        waiter = threading.Thread(target=lambda: result.update(
            client.wait_for_responses([maker.nick], "!pubkey", timeout=10)))
        waiter.start()
        time.sleep(REGISTER_GRACE)
        line = maker.build_privmsg(our_nick, "pubkey", f"{i:064x}")
        t0 = time.perf_counter()
        directory.inject(our_nick, encode_envelope(MsgType.PRIVMSG, line))
        waiter.join()
        samples.append(time.perf_counter() - t0)
        assert maker.nick in result, "reply was not attributed"
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    raw = raw_loopback_rtt(args.rounds)
    with LocalNet(directories=("ng",), makers=0) as net, tempfile.TemporaryDirectory() as tmp:
        embedded = BlockingMultiDirectoryClient(
            net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
            socks_port=net.socks_port, connection_timeout=10)
        daemon = DaemonServer(embedded._core, socket_path=str(Path(tmp) / "jm.sock"))
        remote = None
        try:
            embedded.connect_all()
            daemon.start()
            remote = BlockingRemoteMultiDirectoryClient(**daemon.address)
            remote.connect_all()
            time.sleep(0.2)
            directory = net.directories[0]
            ours = measure(embedded, embedded.nick, directory, args.rounds)
            through_daemon = measure(remote, embedded.nick, directory, args.rounds)
        finally:
            if remote is not None:
                remote.close_all()
            daemon.stop()
            embedded.close_all()
    raw_p50, raw_p99 = summary("baseline: raw loopback TCP round trip", raw)
    p50, p99 = summary("embedded: reply on the wire -> wait returns", ours)
    d50, d99 = summary("daemon:   reply on the wire -> wait returns", through_daemon)
    print(f"embedded vs baseline: p50 x{p50 / raw_p50:.1f}, p99 x{p99 / raw_p99:.1f}; "
          f"targets p50 <= 5 ms ({'met' if p50 <= 5 else 'MISSED'}), "
          f"p99 <= 20 ms ({'met' if p99 <= 20 else 'MISSED'})")
    print(f"daemon vs embedded: p50 +{d50 - p50:.3f} ms (x{d50 / p50:.2f}), p99 x{d99 / p99:.2f}; "
          f"target p50 within 1 ms: {'met' if d50 - p50 <= 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
