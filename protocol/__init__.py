"""Sans-IO JoinMarket onion message channel protocol (see docs/protocol-api.md)."""
from protocol.envelope import Envelope, MsgType
from protocol.handshake import DirectoryHandshake, PeerHandshake
from protocol.jmmessage import JMLine, PrivMsg
from protocol.peerlist import PeerlistEntry
