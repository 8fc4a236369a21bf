"""The local embedding model (all-MiniLM-L6-v2 from a PyPI package, no torch, no hub)."""
