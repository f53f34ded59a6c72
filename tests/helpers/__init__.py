"""Shared test helpers as plain modules: tests import them from here, never from a conftest."""
