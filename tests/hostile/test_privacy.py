"""Privacy: no local onion resolution, no clearnet dials, isolated streams, quiet logs."""

from __future__ import annotations

import asyncio
import re
import socket

import pytest
from loguru import logger

import actors.app.demo as demo
from actors.api.config import build_config
from actors.errors import NoDirectConnectionError
from localnet.network import LocalNet
from protocol import NickIdentity
from protocol.envelope import MsgType
from protocol.naclbox import NaclKeypair
from supervisor import BlockingMultiDirectoryClient, MultiDirectoryClient
from tests.helpers.hostile import env
from tests.helpers.polling import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def no_onion_dns(monkeypatch):
    """Fail (and record) any local resolution of a .onion name, from any thread."""
    calls = []
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def guard(host):
        if isinstance(host, (bytes, bytearray)):
            host = host.decode(errors="replace")
        if isinstance(host, str) and host.lower().rstrip(".").endswith(".onion"):
            calls.append(host)
            raise socket.gaierror(f"test: local resolution of {host} is forbidden")

    def getaddrinfo(host, *args, **kwargs):
        guard(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        guard(host)
        return real_gethostbyname(host)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    monkeypatch.setattr(socket, "gethostbyname_ex", lambda h: (guard(h), real_gethostbyname(h))[1])
    return calls


def test_onions_are_never_resolved_locally_in_a_full_session(no_onion_dns):
    with LocalNet(directories=("ng", "ref"), makers=[{"style": "ng"}, {"style": "ref"}]) as net:
        client = BlockingMultiDirectoryClient(
            net.directory_servers, "regtest", NickIdentity(), socks_host=net.socks_host,
            socks_port=net.socks_port, connection_timeout=5, stream_isolation=True)
        try:
            assert client.connect_all() == 2
            offers = client.fetch_orderbook(max_wait=5, min_wait=0.5, quiet_period=0.3)
            assert {o.counterparty for o in offers} == {m.nick for m in net.makers}
            nacl = NaclKeypair.generate()
            for maker in net.makers:
                client.send_privmsg(maker.nick, "fill", f"0 1000000 {nacl.public_hex} {'ab' * 32}")
            for maker in net.makers:  # the background direct dials go through the gateway
                task = client.get_pending_connect_task(maker.nick)
                assert task is not None and task.result(10) is True
            replies = client.wait_for_responses([m.nick for m in net.makers], "pubkey", timeout=10)
            assert len(replies) == 2
            records = net.gateway.connections
        finally:
            client.close_all()
    assert no_onion_dns == []
    # every onion went to the proxy by name (ATYP 3 = domain name), never as an address
    assert records and all(r.atyp == 3 and r.dest_host.endswith(".onion") for r in records)
    # stream isolation: one credential per category, the same per-process token
    users = {(r.username, r.password) for r in records}
    assert {u for u, _ in users} == {"jm-directory", "jm-peer"}
    tokens = {p for _, p in users}
    assert len(tokens) == 1 and re.fullmatch(r"[0-9a-f]{32}", tokens.pop())


@pytest.mark.parametrize("server", ["127.0.0.1:5222", "example.com", "10.0.0.1:1"])
def test_clearnet_directory_is_refused_at_construction(server):
    with pytest.raises(ValueError, match=re.escape(server.rpartition(":")[0] or server)):
        build_config([server], "regtest")
    with pytest.raises(ValueError, match="not a .onion host"):
        BlockingMultiDirectoryClient([server], "regtest", NickIdentity())


def test_clearnet_maker_location_from_a_peerlist_is_never_dialled(hostile):
    net, client = hostile(directories=("ng",), makers=0)
    nicks = ["J5clearnetmaker1", "J5clearnetmaker2"]
    net.directories[0].inject(client.nick, env(
        MsgType.PEERLIST, f"{nicks[0]};127.0.0.1:{net.socks_port},{nicks[1]};example.com:5222"))
    wait_until(lambda: all(client.get_peer_location(n) for n in nicks), what="the locations")
    net.gateway.clear_records()
    for nick in nicks:
        client.try_direct_connect(nick)
        with pytest.raises(NoDirectConnectionError):  # the location was refused: no link
            client.send_privmsg(nick, "fill", "x", force_channel="direct")
    wait_until(lambda: client.stats().get("peer_locations_refused", 0) >= 2,
               what="both locations to be refused")
    assert client.get_pending_connect_task(nicks[0]) is None
    assert client.get_connected_peer(nicks[0]) is None
    assert net.gateway.connections == ()


def test_logs_never_contain_keys_or_decrypted_payloads(monkeypatch):
    secrets_seen: list[str] = []
    real_generate = NaclKeypair.generate

    def generate():
        keypair = real_generate()
        secrets_seen.append(bytes(keypair._secret).hex())
        return keypair
    monkeypatch.setattr(NaclKeypair, "generate", staticmethod(generate))
    plaintexts: list[str] = []
    real_encrypt, real_decrypt = demo.encrypt, demo.decrypt

    def encrypt(our, their, plaintext, *a):
        plaintexts.append(plaintext)
        return real_encrypt(our, their, plaintext, *a)

    def decrypt(our, their, b64):
        plain = real_decrypt(our, their, b64)
        plaintexts.append(plain)
        return plain
    monkeypatch.setattr(demo, "encrypt", encrypt)
    monkeypatch.setattr(demo, "decrypt", decrypt)
    monkeypatch.setattr(demo, "say", lambda text="": None)

    lines: list[str] = []
    logger.enable("actors")
    sink = logger.add(lambda m: lines.append(str(m)), level="TRACE",
                      format="{time} {level} {name}:{function} {message} {extra} {exception}")
    identity = NickIdentity()
    try:
        with LocalNet(directories=("ng", "ref", "ng"), makers=2) as net:
            async def run():
                client = MultiDirectoryClient(net.directory_servers, "regtest", identity,
                                              socks_host=net.socks_host, socks_port=net.socks_port,
                                              connection_timeout=10)
                try:
                    await client.connect_all()
                    offers = await client.fetch_orderbook(max_wait=10, min_wait=0.5, quiet_period=0.5)
                    await demo.coinjoin_round(client, offers)
                finally:
                    await client.close_all()
            asyncio.run(run())
    finally:
        logger.remove(sink)
        logger.disable("actors")
    text = "\n".join(lines)
    # the round must have logged its routing and attribution, so the check has content
    assert any("!tx to" in line for line in lines) and any("verified !ioauth" in line for line in lines)
    assert len(plaintexts) >= 8 and secrets_seen  # !auth, !ioauth, !tx, !sig for two makers
    forbidden = {"identity key": identity.private_key_bytes.hex(), **{
        f"nacl secret {i}": s for i, s in enumerate(secrets_seen)}, **{
        f"plaintext {i}": p for i, p in enumerate(plaintexts)}}
    for what, value in forbidden.items():
        assert value not in text, f"log contains the {what}"
