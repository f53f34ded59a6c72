"""The pykka actors: thin shells that feed events to the pure cores in ``actors.core`` and
carry out what the cores decide (Supervisor, NickRegistry, Inbox, Router, DirectoryActor,
PeerActor, and the shared runtime they publish views through).

Imports: ``protocol``, ``actors.core``, ``actors.net`` and ``actors.errors``. Never
``actors.api``, ``actors.daemon``, ``actors.app`` or ``localnet``.
"""
