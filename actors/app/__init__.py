"""The ``jm-multidir`` program: CLI, TOML settings, the supervised service (health,
metrics, SIGTERM), the orderbook watcher and its page (``watcher.py``, static files in
``web/``) and the demos on the embedded local network.

The only package of ``actors`` that may import ``localnet`` (for the demos and
``--localnet``), and only inside the functions that need it.

Nothing is re-exported here (importing the package must stay cheap for
``python -m actors.app.daemon_localnet``); the entry points are ``actors.app.cli.main``,
``actors.app.service.Service`` and ``actors.app.daemon_localnet.main``.
"""

__all__: list[str] = []
