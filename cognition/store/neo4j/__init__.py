"""The store adapter on Neo4j (graph, every dataset in one database) and LanceDB (vectors).

The official async ``neo4j`` driver, imported when the store starts.
"""

from cognition.store.neo4j.store import Neo4jStore

__all__ = ["Neo4jStore"]
