"""A JoinMarket network on loopback: directories, makers and an onion SOCKS5 gateway."""

from loguru import logger as _logger

# A library adds no log sinks and stays silent until the application opts in with
# ``logger.enable("localnet")`` (the jm-multidir command does).
_logger.disable("localnet")
