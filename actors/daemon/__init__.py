"""Daemon mode: the same API served to takers in other processes over a local socket. The
wire format, the server with its cookie authentication and sessions, and the remote facades.

Imports: ``actors.api`` and below. Never ``actors.app`` or ``localnet``.
"""
