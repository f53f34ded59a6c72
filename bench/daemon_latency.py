"""Reply latency through the daemon vs embedded, measured in the same run on one LocalNet.

Two round trips per mode, each N times: ``!fill`` → ``!pubkey`` with a localnet maker
(send_privmsg + wait_for_responses: what a taker waits on), and the cheapest request
that still reaches the actors (blocking ``sync_nicks_with_peerlist``). The daemon's cost
is the control socket (JSON lines over a Unix socket) and its loop thread. Prints p50/p99
per mode and the daemon/embedded ratio. Informational only: no assertions.

    .venv/bin/python bench/daemon_latency.py [N]
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # the repository root, not bench/

from actors.client import ClientCore  # noqa: E402
from actors.daemon import DaemonServer  # noqa: E402
from localnet.coinjoin import (build_auth_revelation, commitment_of,  # noqa: E402
                               parse_auth_revelation, random_utxo)
from localnet.network import LocalNet  # noqa: E402
from protocol.crypto import NickIdentity  # noqa: E402
from protocol.naclbox import NaclKeypair  # noqa: E402
from supervisor import (BlockingMultiDirectoryClient,  # noqa: E402
                        BlockingRemoteMultiDirectoryClient)


def fill_data() -> str:
    commitment = commitment_of(parse_auth_revelation(build_auth_revelation(random_utxo())))
    return f"0 5000000 {NaclKeypair.generate().public_hex} {commitment}"


def measure(client, maker: str, directory: str, n: int) -> dict[str, list[float]]:
    client.connect_all()
    client.send_privmsg(maker, "fill", fill_data())  # warm up: direct link, caches
    client.wait_for_responses([maker], "!pubkey", timeout=10)
    time.sleep(0.3)
    samples: dict[str, list[float]] = {"fill->pubkey": [], "sync_nicks": []}
    for _ in range(n):
        data = fill_data()  # key generation is not part of the round trip
        start = time.perf_counter()
        client.send_privmsg(maker, "fill", data)
        replies = client.wait_for_responses([maker], "!pubkey", timeout=10)
        samples["fill->pubkey"].append(time.perf_counter() - start)
        assert maker in replies, "no !pubkey within 10 s"
        start = time.perf_counter()
        client.sync_nicks_with_peerlist(directory, [maker])
        samples["sync_nicks"].append(time.perf_counter() - start)
    return samples


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with LocalNet(makers=1) as net, tempfile.TemporaryDirectory(prefix="jmd") as tmp:
        maker, directory = net.makers[0].nick, net.directory_servers[0]

        def core(identity: NickIdentity) -> ClientCore:
            return ClientCore(net.directory_servers, net.network, identity, net.socks_host,
                              net.socks_port, connection_timeout=5.0)

        embedded = BlockingMultiDirectoryClient(net.directory_servers, net.network, NickIdentity(),
                                                net.socks_host, net.socks_port,
                                                connection_timeout=5.0)
        try:
            results = {"embedded": measure(embedded, maker, directory, n)}
        finally:
            embedded.close_all()
        with DaemonServer(core, socket_path=f"{tmp}/d.sock") as server:
            remote = BlockingRemoteMultiDirectoryClient(**server.address)
            try:
                results["daemon"] = measure(remote, maker, directory, n)
            finally:
                remote.close_all()
    print(f"{n} round trips per mode (ms)")
    for kind in ("fill->pubkey", "sync_nicks"):
        row = {mode: (percentile(results[mode][kind], 50) * 1e3,
                      percentile(results[mode][kind], 99) * 1e3) for mode in results}
        (e50, e99), (d50, d99) = row["embedded"], row["daemon"]
        print(f"  {kind:<13} embedded p50 {e50:7.3f} p99 {e99:7.3f} | daemon p50 {d50:7.3f} "
              f"p99 {d99:7.3f} | ratio p50 {d50 / e50:5.2f}x p99 {d99 / e99:5.2f}x")


if __name__ == "__main__":
    main()
