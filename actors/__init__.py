"""pykka actors: thin shells over the pure cores in ``actors.core``."""
