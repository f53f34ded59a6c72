"""Pure decision cores of the actors: no threads, no sockets, no pykka."""
