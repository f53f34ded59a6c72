"""The narrow I/O edge: SOCKS5 dialling (remote DNS only), the dial loop thread, and one
line-framed connection with its reader thread.

Imports: ``protocol``, ``actors.core`` (messages) and ``actors.errors`` only. Nothing here
knows about actors, routing or the public API; shells hand it a callback and get lines back.
"""
