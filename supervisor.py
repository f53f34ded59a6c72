"""Public entry module: the facades, the values they take and return, their errors, and the
``jm-multidir`` command.

``from supervisor import MultiDirectoryClient, BlockingMultiDirectoryClient, ChannelBinding``
is the import path API.md fixes. ``__all__`` lists everything an application passes in or
gets back (``tests/test_exports.py`` pins it). The Supervisor actor itself is internal and
lives in ``actors.shells.supervisor_actor``.
"""

from actors.api.config import Limits, NickAuthMode
from actors.api.facade import BlockingMultiDirectoryClient, MultiDirectoryClient
from actors.api.offers import Offer, OfferType
from actors.core.dirhealth import DirectoryHealth
from actors.core.orderbook import BondData
from actors.core.routing import ChannelBinding
from actors.daemon.remote import BlockingRemoteMultiDirectoryClient, RemoteMultiDirectoryClient
from actors.daemon.wire import ControlProtocolError, DaemonRefusedError
from actors.errors import (AllRoutesFailedError, ClientClosedError, DirectoryNotConnectedError,
                           HandshakeRejectedByRemoteError, MultiDirectoryError,
                           NoDirectConnectionError, RefusedDestinationError)
from actors.faults import FaultPlan
from actors.shells.runtime import PeerHandle
from protocol.crypto import NickIdentity


def main(argv: list[str] | None = None) -> int:
    from actors.app.cli import main as cli_main
    return cli_main(argv)


__all__ = [
    "AllRoutesFailedError", "BlockingMultiDirectoryClient", "BlockingRemoteMultiDirectoryClient",
    "BondData", "ChannelBinding", "ClientClosedError", "ControlProtocolError",
    "DaemonRefusedError", "DirectoryHealth", "DirectoryNotConnectedError", "FaultPlan",
    "HandshakeRejectedByRemoteError", "Limits", "MultiDirectoryClient", "MultiDirectoryError",
    "NickAuthMode", "NickIdentity", "NoDirectConnectionError", "Offer", "OfferType",
    "PeerHandle", "RefusedDestinationError", "RemoteMultiDirectoryClient", "main",
]
