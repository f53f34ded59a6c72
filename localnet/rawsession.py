"""The taker side of one encrypted CoinJoin exchange with one maker (PROTOCOL.md 5.6).

``!fill`` → ``!pubkey`` → ``!auth`` → ``!ioauth`` (btc_sig verified) → ``!tx`` →
one ``!sig`` per declared maker input → optional ``!push``, driven step by step over a
:class:`localnet.rawclient.RawTaker` so tests can interleave faults (a second
``!fill``, a stale key) between steps. Requests go through the one channel given;
replies are accepted from *any* channel (NG makers answer through all their
directories even when we dialled them directly) and the channels they came through
are recorded for assertions.
"""

from __future__ import annotations

from localnet.coinjoin import (IoAuth, build_auth_revelation, build_tx, commitment_of,
                               parse_auth_revelation, parse_ioauth, random_utxo,
                               sig_matches, verify_ioauth_btc_sig)
from localnet.rawclient import RawTaker
from protocol.errors import CryptoError
from protocol.jmmessage import PrivMsg
from protocol.naclbox import NaclKeypair, decrypt, encrypt


class MakerErrorReply(Exception):
    """The maker answered a step with ``!error``."""

    def __init__(self, maker_nick: str, text: str, channel: str) -> None:
        super().__init__(f"{maker_nick} via {channel}: !error {text}")
        self.maker_nick, self.text, self.channel = maker_nick, text, channel


class TakerSession:
    """One taker-maker exchange; call :meth:`fill`, :meth:`auth`, :meth:`tx`, :meth:`push`."""

    def __init__(self, taker: RawTaker, maker_nick: str, channel: str,
                 nacl: NaclKeypair | None = None) -> None:
        self.taker, self.maker_nick, self.channel = taker, maker_nick, channel
        self.nacl = nacl if nacl is not None else NaclKeypair.generate()
        self.utxo = random_utxo()
        self.revelation = build_auth_revelation(self.utxo)
        self.commitment = commitment_of(parse_auth_revelation(self.revelation))
        self.maker_nacl_pub: str | None = None
        self.maker_features: frozenset[str] = frozenset()
        self.ioauth: IoAuth | None = None
        self.tx_b64: str | None = None
        self.sigs: list[str] = []
        # command -> channel of every copy taken so far, first copy first
        self.reply_channels: dict[str, list[str]] = {}
        self.after = 0  # only replies newer than our latest request count
        self._consumed: set[tuple[str, str]] = set()

    def _request(self, command: str, data: str) -> None:
        self.after = self.taker.mark()
        self.taker.send_privmsg(self.channel, self.maker_nick, command, data)

    def _reply(self, command: str, timeout: float | None) -> PrivMsg:
        """The next new ``command`` (or ``!error``) reply from the maker.

        A copy of a reply already consumed (the same line through another directory,
        possibly arriving after our next request) is skipped (pitfall P6).
        """
        while True:
            item = self.taker.take_privmsg(self.maker_nick, (command, "error"), timeout,
                                           self.after)
            msg = item.privmsg
            assert msg is not None
            self.reply_channels.setdefault(msg.command, []).append(item.channel)
            if (msg.command, msg.data) not in self._consumed:
                break
        self._consumed.add((msg.command, msg.data))
        if msg.command == "error":
            raise MakerErrorReply(self.maker_nick, msg.data, item.channel)
        return msg

    def fill(self, oid: int, amount: int, commitment: str | None = None,
             timeout: float | None = None) -> str:
        """Send ``!fill``; return the maker's NaCl pubkey from ``!pubkey``."""
        self._request("fill", f"{oid} {amount} {self.nacl.public_hex} "
                              f"{commitment or self.commitment}")
        fields = self._reply("pubkey", timeout).data.split(" ")
        self.maker_nacl_pub = fields[0]
        self.maker_features = frozenset(
            name for field in fields[1:] if field.startswith("features=")
            for name in field.removeprefix("features=").split(",") if name)
        return self.maker_nacl_pub

    def auth(self, timeout: float | None = None) -> IoAuth:
        """Send the encrypted revelation; verify and return the decrypted ``!ioauth``."""
        assert self.maker_nacl_pub is not None, "fill() first"
        self._request("auth", encrypt(self.nacl, self.maker_nacl_pub, self.revelation))
        ciphertext = self._reply("ioauth", timeout).data
        ioauth = parse_ioauth(decrypt(self.nacl, self.maker_nacl_pub, ciphertext))
        verify_ioauth_btc_sig(ioauth, self.maker_nacl_pub)
        self.ioauth = ioauth
        return ioauth

    def tx(self, timeout: float | None = None) -> list[str]:
        """Send the encrypted toy tx; collect one distinct ``!sig`` per declared input.

        Each signature must match one of the maker's inputs, in tx input order.
        """
        assert self.ioauth is not None and self.maker_nacl_pub is not None, "auth() first"
        self.tx_b64 = build_tx({self.taker.nick: [self.utxo],
                                self.maker_nick: list(self.ioauth.utxos)})
        self._request("tx", encrypt(self.nacl, self.maker_nacl_pub, self.tx_b64))
        expected = sorted(self.ioauth.utxos)  # build_tx orders inputs by outpoint
        while len(self.sigs) < len(expected):
            blob = decrypt(self.nacl, self.maker_nacl_pub, self._reply("sig", timeout).data)
            if not sig_matches(blob, expected[len(self.sigs)]):
                raise CryptoError(f"!sig #{len(self.sigs) + 1} from {self.maker_nick} "
                                  "does not sign its input in tx order")
            self.sigs.append(blob)
        return self.sigs

    def push(self) -> None:
        """Send the (toy) transaction back in plaintext ``!push``; makers send no reply."""
        assert self.tx_b64 is not None, "tx() first"
        self._request("push", self.tx_b64)


def run_coinjoin(taker: RawTaker, maker_nick: str, channel: str, oid: int = 0,
                 amount: int = 5_000_000, push: bool = True) -> TakerSession:
    """The whole sequence with one maker; returns the finished session."""
    session = TakerSession(taker, maker_nick, channel)
    session.fill(oid, amount)
    session.auth()
    session.tx()
    if push:
        session.push()
    return session
