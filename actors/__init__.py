"""pykka actors: thin shells over the pure cores in ``actors.core``."""

from loguru import logger as _logger

# A library adds no log sinks and stays silent until the application opts in with
# ``logger.enable("actors")`` (the jm-multidir command does).
_logger.disable("actors")
