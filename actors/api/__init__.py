"""What an embedding taker calls: the client configuration, ``ClientCore`` (which owns one
actor system) and the asyncio and blocking facades over it.

Imports: everything below it (``protocol``, ``actors.core``, ``actors.net``,
``actors.shells``, ``actors.errors``, ``actors.faults``). Never ``actors.daemon``,
``actors.app`` or ``localnet``.
"""
