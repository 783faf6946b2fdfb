"""Signals the item pipelines send (connect with ``crawler.signals.connect``).

``item_dead_lettered(item, page, kind, reason)``: the store pipeline routed ``item`` (of page
type ``page``, ``""`` when unknown) to the dead letters; ``kind`` is ``invalid``,
``missing_key`` or ``no_target``, ``reason`` the text stored with it.
"""

item_dead_lettered = object()
