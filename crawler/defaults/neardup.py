"""Near-duplicate items: the same story stored from several sources (an item type's
``near_duplicates:``; crawler/store/neardup.py, crawler/store/neardup_store.py;
docs/storage.md)."""

# Signatures of one item type a crawl holds in memory to compare new items with: the most
# recent ones, read from the store when the first item of the type is written (signature
# records, never whole documents) and kept up to date while it stores more; older ones are
# forgotten first. About 5 KB of memory each (benchmarks/bench_neardup.py): 10,000 take 50 MB.
NEAR_DUP_MAX_INDEX = 10_000
# The items of a cluster the data service answers with one item (GET /api/collections/…/items/…).
NEAR_DUP_CLUSTER_MAX = 50

minimums = {"NEAR_DUP_MAX_INDEX": 1, "NEAR_DUP_CLUSTER_MAX": 1}
