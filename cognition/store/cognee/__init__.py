"""The store adapter on cognee: Ladybug graph and LanceDB vector files per dataset.

The only package that imports cognee (``env`` prepares its environment first).
"""

from cognition.store.cognee.store import CogneeStore

__all__ = ["CogneeStore"]
