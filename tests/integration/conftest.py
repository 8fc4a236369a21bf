"""Fixtures of the integration tests beyond the session's (``tests/conftest.py``)."""

from tests.integration.neo4j_harness import neo4j_runtime, neo4j_server

__all__ = ["neo4j_runtime", "neo4j_server"]
