"""The operator page: what it shows (``view``) and its HTML (``page``)."""
