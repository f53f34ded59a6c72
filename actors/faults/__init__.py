"""Seeded, replayable fault plans and the injector that applies them to a running client:
a public feature for testing taker apps, not only our own suite.

Imports: ``protocol``, ``actors.core``, ``actors.net`` and ``actors.errors`` only.
"""
