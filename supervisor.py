"""Public entry module: the facades, the channel value, and the ``jm-multidir`` command.

``from supervisor import MultiDirectoryClient, BlockingMultiDirectoryClient, ChannelBinding``
is the import path API.md fixes. The Supervisor actor itself lives in
``actors.shells.supervisor_actor``; this module keeps the public names stable.
"""

from actors.api.config import Limits, NickAuthMode
from actors.api.offers import Offer, OfferType
from actors.core.orderbook import BondData
from actors.core.routing import ChannelBinding
from actors.errors import (AllRoutesFailedError, ClientClosedError, DirectoryNotConnectedError,
                           HandshakeRejectedByRemoteError, MultiDirectoryError,
                           NoDirectConnectionError, RefusedDestinationError)
from actors.api.facade import BlockingMultiDirectoryClient, MultiDirectoryClient
from actors.daemon.remote import BlockingRemoteMultiDirectoryClient, RemoteMultiDirectoryClient
from actors.shells.supervisor_actor import Supervisor


def main(argv: list[str] | None = None) -> int:
    from actors.app.cli import main as cli_main
    return cli_main(argv)


__all__ = [
    "AllRoutesFailedError", "BlockingMultiDirectoryClient", "BlockingRemoteMultiDirectoryClient",
    "BondData", "ChannelBinding",
    "ClientClosedError", "DirectoryNotConnectedError", "HandshakeRejectedByRemoteError",
    "Limits", "MultiDirectoryClient", "MultiDirectoryError", "NickAuthMode",
    "NoDirectConnectionError", "Offer", "OfferType",
    "RefusedDestinationError", "RemoteMultiDirectoryClient", "Supervisor", "main",
]
