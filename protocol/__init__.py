"""Sans-IO JoinMarket onion message channel protocol (see docs/protocol-api.md)."""
from protocol.envelope import Envelope, MsgType
from protocol.handshake import DirectoryHandshake, PeerHandshake
from protocol.jmmessage import JMLine, PrivMsg
from protocol.peerlist import PeerlistEntry
from protocol.bond import FidelityBondProof
from protocol.crypto import NickIdentity
from protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from protocol.identity import SigningIdentity
from protocol.naclbox import NaclKeypair
from protocol.nickauth import NickAuthChallenge, NickAuthProof, NickAuthResult
from protocol.offers import OfferSegment

__all__ = [
    "DirectoryHandshake", "Envelope", "FidelityBondProof", "JMLine", "LocalProtocolError",
    "MsgType", "NaclKeypair", "NickAuthChallenge", "NickAuthProof", "NickAuthResult",
    "NickIdentity", "OfferSegment", "PeerHandshake", "PeerlistEntry", "PrivMsg", "ProtocolError",
    "RemoteProtocolError", "SigningIdentity",
]
