"""Sans-IO JoinMarket onion message channel protocol (see docs/protocol-api.md)."""
from protocol.envelope import Envelope, MsgType
from protocol.handshake import DirectoryHandshake, PeerHandshake
from protocol.jmmessage import JMLine, PrivMsg
from protocol.peerlist import PeerlistEntry
from protocol.bond import FidelityBondProof
from protocol.crypto import NickIdentity
from protocol.identity import SigningIdentity
from protocol.errors import ProtocolError
from protocol.naclbox import NaclKeypair
from protocol.nickauth import NickAuthChallenge, NickAuthProof, NickAuthResult
from protocol.offers import OfferSegment

__all__ = [
    "DirectoryHandshake", "Envelope", "FidelityBondProof", "JMLine", "MsgType", "NaclKeypair",
    "NickAuthChallenge", "NickAuthProof", "NickAuthResult", "NickIdentity", "OfferSegment",
    "PeerHandshake", "PeerlistEntry", "PrivMsg", "ProtocolError", "SigningIdentity",
]
