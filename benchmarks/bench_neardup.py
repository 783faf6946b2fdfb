"""Near-duplicate items across sources: precision and recall against the corpus's ground truth,
and the cost per item, side by side with the exact content hash the platform compared before.

    .venv/bin/python benchmarks/bench_neardup.py [--originals 2000] [--seed 7] [--batch 100]

The corpus (benchmarks/neardup_corpus.py, the same for the same seed): ``--originals`` notices,
half Chinese, half English, about one in five a hard negative (the same template as another
notice of its office, other facts), each published on a home site and reposted by 0 to 3 other
sites of its language with light edits; eight sites, each with its own page furniture. Every
page goes through the platform's own extraction: a rule whose page type says ``extract:
article`` (crawler/spider/extract/generic.py, what a rule for such pages uses without
selectors), compiled and run on the page as the rule spider runs it; ``title`` and ``body``
are the compared fields.

Pages are met in crawl order (by day, then site; one collection per site). A page should be
marked when an earlier page holds the same story; a mark is right when the item it names is
of that story. **precision** = right marks / marks, **recall** = right marks / pages that should
be marked; wrong marks on a hard negative are counted apart.

Methods, on the same extracted items:

- **exact hash** (the baseline: what the platform had, the store's content hash): an item
  whose title and body hash like an earlier item's repeats it;
- **near-dup index**: the detection alone (crawler/store/neardup.py): signature, LSH query,
  confirmation, indexing;
- **near-dup store**: what a crawl does (crawler/store/neardup_store.py): batches of
  ``--batch`` written into a SQLite store with their items marked and their signatures kept,
  beside the same batches written with ``upsert_many`` alone (**store alone**).

Cost: microseconds per item (wall time, the best of three passes) and the peak of Python's
traced memory (tracemalloc, in a separate pass). Targets: precision >= 0.95, recall >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")

from scrapy.http import HtmlResponse  # noqa: E402

from benchmarks.neardup_corpus import Corpus, make_corpus  # noqa: E402
from crawler.rules.itemtypes import NearDuplicates  # noqa: E402
from crawler.spider.extract import CompiledRule  # noqa: E402
from crawler.spider.project import parse_rule  # noqa: E402
from crawler.store.batches import Batch, Destination  # noqa: E402
from crawler.store.documents import content_hash, key_text  # noqa: E402
from crawler.store.neardup import NearDupIndex, Ref, text_signature  # noqa: E402
from crawler.store.neardup_store import NearDupMarker  # noqa: E402
from crawler.store.sqlite import SqliteStore  # noqa: E402

GENERIC = """name: bench_notices
start: [{url: "http://site0.bench.test/", page: notice}]
pages:
  notice: {extract: article}
"""
# Each site's own rule: where its title and its text are (its furniture is elsewhere).
SITE_RULE = """name: bench_site{index}
start: [{{url: "http://{host}/", page: notice}}]
pages:
  notice:
    fields:
      title: {{css: "{title}", text: true, required: true}}
      body: {{css: "{body}", text: true, all: true, clean: [{{join: "\\n"}}]}}
"""
SELECTORS = {  # by the site's markup (benchmarks/neardup_corpus.py Site.page)
    0: ("div.article h1", "div.TRS_Editor p"),
    1: ("td.title h2", "td#zoom p"),
    2: ("article h1", "article > p"),
    3: ("h2.tit", "div.con"),
}
FIELDS = ("title", "content")
THRESHOLD = 0.8

Links = dict[int, int]  # page -> the earlier page it is marked as repeating


def extract(corpus: Corpus, generic: bool) -> tuple[list[dict], float]:
    """Each page's item (title, content) as the platform extracts it, with each site's rule
    (or ``extract: article`` for every site); seconds per page."""
    rules = {}
    for site in corpus.sites:
        title, body = SELECTORS[site.style]
        text = (
            GENERIC
            if generic
            else SITE_RULE.format(index=site.index, host=site.host, title=title, body=body)
        )
        rules[site.index] = CompiledRule(parse_rule(text))
    items = []
    now = datetime.now(UTC)
    first = corpus.pages[0]
    extract_page(rules[first.site], first.url, first.html, now)  # imports, warm-up
    started = time.perf_counter()
    for page in corpus.pages:
        items.append(extract_page(rules[page.site], page.url, page.html, now))
    return items, (time.perf_counter() - started) / len(corpus.pages)


def extract_page(compiled: CompiledRule, url: str, html: str, now: datetime) -> dict:
    response = HtmlResponse(url, body=html.encode("utf-8"), encoding="utf-8")
    (found,) = compiled.extract("notice", response, now=now).items
    return {"url": url, "title": found.get("title") or "", "content": found.get("body") or ""}


def furniture(corpus: Corpus, items: list[dict]) -> float:
    """The share of pages whose extracted content holds some of the page's furniture (its
    footer, a related link, the site's name)."""
    hits = 0
    for page, item in zip(corpus.pages, items, strict=True):
        site = corpus.sites[page.site]
        markers = (site.footer[:20], "/art/", site.name)
        hits += any(marker in item["content"] for marker in markers)
    return hits / len(items)


# -- methods ------------------------------------------------------------------------------


def exact_hash(items: list[dict]) -> Links:
    seen: dict[str, int] = {}
    links = {}
    for i, item in enumerate(items):
        digest = content_hash({name: item[name] for name in FIELDS})
        if digest in seen:
            links[i] = seen[digest]
        else:
            seen[digest] = i
    return links


def near_dup_index(items: list[dict], pages: list) -> Links:
    index = NearDupIndex(THRESHOLD, max_entries=len(items))
    where: dict[tuple[str, str], int] = {}
    links = {}
    for i, (item, page) in enumerate(zip(items, pages, strict=True)):
        sig = text_signature(item, FIELDS)
        if sig is None:
            continue
        ref = Ref(f"site{page.site}", item["url"], f"{page.order:09d}")
        root = index.match(ref, sig)
        if root is not None:
            links[i] = where[root.ident]
        index.add(ref, sig, root)
        where[ref.ident] = i
    return links


def batches(items: list[dict], pages: list, size: int) -> list[tuple[str, list[int]]]:
    """Consecutive pages of one site, at most ``size`` a batch, in crawl order."""
    out: list[tuple[str, list[int]]] = []
    for i, page in enumerate(pages):
        collection = f"site{page.site}"
        if not out or out[-1][0] != collection or len(out[-1][1]) >= size:
            out.append((collection, []))
        out[-1][1].append(i)
    return out


def near_dup_store(items: list[dict], pages: list, size: int, path: Path, mark: bool) -> Links:
    store = SqliteStore(f"sqlite:///{path}")
    store.open()
    spec = NearDuplicates("notice", FIELDS, THRESHOLD) if mark else None
    marker = NearDupMarker(max_index=len(items))
    links = {}
    try:
        for collection, indexes in batches(items, pages, size):
            docs = [dict(items[i]) for i in indexes]
            if spec is None:
                store.upsert_many(collection, docs, ("url",))
                continue
            marker.upsert(
                store, Batch(Destination(collection, ("url",), near_duplicates=spec), docs)
            )
            for i, doc in zip(indexes, docs, strict=True):
                if "_duplicate_of" in doc:
                    links[i] = ("link", doc["_duplicate_of"]["key"])  # resolved below
    finally:
        store.close()
    by_key = {key_text([item["url"]]): i for i, item in enumerate(items)}
    return {i: by_key[key] for i, (_, key) in links.items()}


# -- measuring ----------------------------------------------------------------------------


def timed(run: Callable[[], Links], rounds: int = 3) -> tuple[Links, float]:
    """What ``run`` gives, and its best time of ``rounds`` (the machine is shared)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        links = run()
        best = min(best, time.perf_counter() - started)
    return links, best


def peak_mib(run: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def score(corpus: Corpus, links: Links, langs: tuple[str, ...] = ("zh", "en")) -> dict:
    pages, notices = corpus.pages, corpus.notices
    seen: set[int] = set()
    should = right = wrong = siblings = 0
    for i, page in enumerate(pages):
        if notices[page.story].lang in langs:
            should += page.story in seen
            if i in links:
                other = pages[links[i]].story
                if other == page.story:
                    right += 1
                else:
                    wrong += 1
                    pair = {notices[page.story].sibling_of, notices[other].sibling_of}
                    siblings += other in pair or page.story in pair
        seen.add(page.story)
    marks = right + wrong
    return {
        "precision": right / marks if marks else 1.0,
        "recall": right / should if should else 1.0,
        "marks": marks,
        "wrong": wrong,
        "siblings": siblings,
        "should": should,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--originals", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--generic", action="store_true", help="extract: article on every site, no site rules"
    )
    opts = parser.parse_args()

    corpus = make_corpus(opts.originals, opts.seed)
    pages = corpus.pages
    reposts = sum(page.repost for page in pages)
    hard = sum(notice.sibling_of is not None for notice in corpus.notices)
    edits = Counter(edit for page in pages for edit in page.edits)
    print(
        f"corpus: {len(corpus.notices)} notices ({hard} hard negatives), {reposts} reposts, "
        f"{len(pages)} pages on {len(corpus.sites)} sites (seed {opts.seed})"
    )
    print("repost edits: " + ", ".join(f"{name} {n}" for name, n in sorted(edits.items())))
    items, per_page = extract(corpus, opts.generic)
    how = "extract: article" if opts.generic else "each site's rule"
    print(
        f"extraction ({how}): {per_page * 1e3:.1f} ms/page; furniture left in the "
        f"content of {furniture(corpus, items):.1%} of pages; threshold {THRESHOLD}"
    )
    n = len(items)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        runs: list[tuple[str, Callable[[], Links]]] = [
            ("exact hash (baseline)", lambda: exact_hash(items)),
            ("near-dup index", lambda: near_dup_index(items, pages)),
            ("store alone", lambda: near_dup_store(items, pages, opts.batch, fresh(base), False)),
            ("near-dup store", lambda: near_dup_store(items, pages, opts.batch, fresh(base), True)),
        ]
        print(
            f"\n{'method':<22} {'precision':>9} {'recall':>7} {'marks':>6} {'wrong':>6} "
            f"{'hard neg.':>9} {'us/item':>8} {'peak MiB':>9}"
        )
        results = {}
        for name, run in runs:
            links, seconds = timed(run)
            mib = peak_mib(run)
            results[name] = links
            if name == "near-dup index":
                index_mib = mib
            if name == "store alone":
                print(
                    f"{name:<22} {'':>9} {'':>7} {'':>6} {'':>6} {'':>9} {seconds / n * 1e6:>8.0f} {mib:>9.1f}"
                )
                continue
            s = score(corpus, links)
            print(
                f"{name:<22} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['marks']:>6} "
                f"{s['wrong']:>6} {s['siblings']:>9} {seconds / n * 1e6:>8.0f} {mib:>9.1f}"
            )
    print(f"\nindex memory: {index_mib / n * 1024:.1f} KiB per signature ({n} indexed)")
    same = results["near-dup index"] == results["near-dup store"]
    print(f"the store marks what the index alone marks: {same}")
    for lang in ("zh", "en"):
        s = score(corpus, results["near-dup store"], (lang,))
        print(
            f"near-dup store, {lang}: precision {s['precision']:.3f}, recall {s['recall']:.3f} ({s['should']} reposts after their story)"
        )
    s = score(corpus, results["near-dup store"])
    met = s["precision"] >= 0.95 and s["recall"] >= 0.9
    print(f"targets precision >= 0.95, recall >= 0.9: {'met' if met else 'NOT met'}")


def fresh(base: Path) -> Path:
    fresh.count = getattr(fresh, "count", 0) + 1  # type: ignore[attr-defined]
    return base / f"store-{fresh.count}.db"  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
