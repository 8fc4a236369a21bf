"""Graph extraction: the port every extractor implements, and the default local one."""

from cognition.extract.port import ChunkGraph, EntityMention, GraphExtractor, Relation

__all__ = ["ChunkGraph", "EntityMention", "GraphExtractor", "Relation"]
