"""Arq workers on Redis: the scale-out path of ingestion (``cognition worker``)."""
