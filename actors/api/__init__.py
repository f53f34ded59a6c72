"""What an embedding taker calls: the client configuration, ``ClientCore`` (which owns one
actor system) and the asyncio and blocking facades over it.

Imports: everything below it (``protocol``, ``actors.core``, ``actors.net``,
``actors.shells``, ``actors.errors``, ``actors.faults``). Never ``actors.daemon``,
``actors.app`` or ``localnet``.
"""

from actors.api.client import ClientCore
from actors.api.config import ClientConfig, Limits
from actors.api.facade import BlockingMultiDirectoryClient, MultiDirectoryClient

__all__ = ["BlockingMultiDirectoryClient", "ClientConfig", "ClientCore", "Limits",
           "MultiDirectoryClient"]
