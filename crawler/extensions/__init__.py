"""Scrapy extensions of the platform (enabled in ``EXTENSIONS`` in crawler/settings.py)."""
