"""Graph extraction: the port every extractor implements, and the default local one."""

from ingest.extract.port import ChunkGraph, EntityMention, GraphExtractor, Relation

__all__ = ["ChunkGraph", "EntityMention", "GraphExtractor", "Relation"]
