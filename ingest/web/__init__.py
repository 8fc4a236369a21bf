"""Web sources: a guarded, bounded crawler whose pages become documents.

``guard`` (SSRF), ``urls`` (normalisation, scope), ``fetch`` (HTTP), ``convert`` (HTML to
markdown with crawl4ai), ``crawler`` (the crawl), ``importer`` (pages into a dataset).
"""
