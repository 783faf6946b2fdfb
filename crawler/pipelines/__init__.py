"""Item pipelines: item types first (map, clean, validate; invalid items marked for the dead
letters), then the store (batched writes, retries, spill; nothing dropped).

- :class:`ItemTypePipeline` (:mod:`.itemtype`)
- :class:`StorePipeline` (:mod:`.store`)
"""

from crawler.pipelines.itemtype import ItemTypePipeline
from crawler.pipelines.store import StorePipeline, StorePipelineSettings

__all__ = ["ItemTypePipeline", "StorePipeline", "StorePipelineSettings"]
