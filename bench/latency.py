"""Reply latency: a maker's reply leaving the directory → ``wait_for_responses`` returning.

A signed ``!pubkey`` reply is injected by the local directory server straight onto our
connection (so the clock starts when the reply hits the wire), and the clock stops when
the blocking facade's ``wait_for_responses`` returns it. Baseline, same run: a raw
loopback TCP round trip. Targets from the issue: p50 <= 5 ms, p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import time

from _common import raw_loopback_rtt, summary

from actors.facade import BlockingMultiDirectoryClient
from localnet.network import LocalNet
from protocol.crypto import NickIdentity
from protocol.envelope import MsgType, encode_envelope


def measure(client, directory, maker: NickIdentity, rounds: int) -> list[float]:
    samples = []
    core = client._core
    for i in range(rounds):
        future = core.wait_for_responses([maker.nick], "!pubkey", timeout=10)
        line = maker.build_privmsg(client.nick, "pubkey", f"{i:064x}")
        time.sleep(0.002)  # let the wait register first: we time delivery, not registration
        t0 = time.perf_counter()
        directory.inject(client.nick, encode_envelope(MsgType.PRIVMSG, line))
        result = future.result(10)
        samples.append(time.perf_counter() - t0)
        assert maker.nick in result, "reply was not attributed"
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    raw = raw_loopback_rtt(args.rounds)
    with LocalNet(directories=("ng",), makers=0) as net:
        client = BlockingMultiDirectoryClient(net.directory_servers, "regtest", NickIdentity(),
                                              socks_host=net.socks_host, socks_port=net.socks_port,
                                              connection_timeout=10)
        try:
            client.connect_all()
            time.sleep(0.2)
            ours = measure(client, net.directories[0], NickIdentity(), args.rounds)
        finally:
            client.close_all()
    raw_p50, raw_p99 = summary("baseline: raw loopback TCP round trip", raw)
    p50, p99 = summary("reply on the wire -> wait_for_responses", ours)
    print(f"ratio to baseline: p50 x{p50 / raw_p50:.1f}, p99 x{p99 / raw_p99:.1f}; "
          f"targets p50 <= 5 ms ({'met' if p50 <= 5 else 'MISSED'}), "
          f"p99 <= 20 ms ({'met' if p99 <= 20 else 'MISSED'})")


if __name__ == "__main__":
    main()
