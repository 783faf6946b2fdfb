"""How well ``scrapy rules new`` drafts a working rule for a real site, with no edits.

    .venv/bin/python benchmarks/bench_drafts.py [--sites SITE ...] [--keep DIR]

Every site of the corpus of real pages (tests/corpus, served on loopback by
``tests.corpus.server.serve_corpus()``; what each holds is its ``expected.json``) gets, in a
directory of its own: ``scrapy rules new SITE BASE+START -s RULES_DIR=...``, then
``scrapy crawl SITE`` of that draft as written, into a SQLite store of its own (no seen-URL
state, its own spill, journal and log directories: tests/crawler/crawl.py's ``store_args``). The
stored items (collection SITE, and SITE__dead for dead letters) are matched to the expected
detail pages by the path of their ``_url``.

Figures per site and in total (all pages of all sites pooled):

- **reached**: expected detail pages whose URL was stored (as an item or a dead letter) /
  expected detail pages;
- articles, over the reached pages: **title** exact (after whitespace normalisation), **date**
  exact (the stored ``published`` starts with the expected YYYY-MM-DD), **body F1** (token F1 of
  the stored ``body`` against the expected one, mean over the pages; tokens: casefolded words
  for Latin scripts, single characters for CJK);
- products, over the reached pages: **name** exact, **price** exact (as numbers), and
  ``sku``, ``currency``, ``availability`` exact; expected fields ``extract: product`` does not
  produce (``title``, ``price_high``, ``price_text``) are named, not scored.

Targets (the issue's), on every site: reached >= 95 %, title >= 95 %, date >= 90 %, body F1 >=
0.9; a product site has the reached target and the title target on its name (date and body do
not apply; price has no target, it is reported). Each is PASS or FAIL per site (n/a when no
page was reached, counted as not met); a missed target does not fail the benchmark, a command
that fails to run (exit status not 0, a timeout, a page of the corpus that cannot be fetched)
does, after every site has run. A command failing on an ImportError or SyntaxError (a file being
edited as it ran) is tried once more, a minute later.

Baseline, side by side: the library generic extraction builds on, alone. Every expected article
page, fetched from the corpus server with urllib, through
``trafilatura.bare_extraction(html, url=..., with_metadata=True)`` (its defaults otherwise):
title, date and body F1 scored the same way over every expected page; the ratios platform /
trafilatura are taken on the pages both scored (those the draft reached). Product pages: extruct alone (the first JSON-LD ``Product``: its ``name``, its
first offer's ``price`` or ``lowPrice``, ``sku``, ``priceCurrency``, ``availability``).

What ``rules new`` decided (its output) and the crawl's warnings are printed per site, with the
pages that missed, so a reader can see why. ``--keep DIR`` keeps each site's drafted rule,
fixtures, store and crawl log under ``DIR/SITE`` (by default they go with a temporary directory).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.corpus.server import expected, serve_corpus, site_ids  # noqa: E402

SCRAPY = [sys.executable, "-m", "scrapy.cmdline"]
TARGETS = {"reached": 0.95, "title": 0.95, "date": 0.90, "body F1": 0.90}
PRODUCT_FIELDS = ("name", "price", "sku", "currency", "availability")
NOT_PRODUCED = ("title", "price_high", "price_text")  # expected, but not extract: product's
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN = re.compile(rf"[{CJK}]|[^\W{CJK}]+")
TRANSIENT = re.compile(r"\b(ImportError|ModuleNotFoundError|SyntaxError|IndentationError)\b")
STAT = "'{}': (\\d+)"
EXAMPLES = 4  # missed pages shown per figure


class CommandFailed(Exception):
    def __init__(self, what: str, detail: str, transient: bool) -> None:
        super().__init__(f"{what}: {detail}")
        self.transient = transient


# --- scoring ------------------------------------------------------------------------------


def tokens(text: str | None) -> list[str]:
    """Words of Latin scripts, single CJK characters, casefolded.

    >>> tokens("Axios 使用姿势, the Guide!")
    ['axios', '使', '用', '姿', '势', 'the', 'guide']
    """
    return TOKEN.findall((text or "").casefold())


def f1(got: str | None, want: str | None) -> float:
    """Token F1 (a multiset overlap, as SQuAD scores answers).

    >>> round(f1("a b c d", "a b c e"), 2), f1("", ""), f1(None, "a")
    (0.75, 1.0, 0.0)
    """
    got_tokens, want_tokens = Counter(tokens(got)), Counter(tokens(want))
    if not got_tokens or not want_tokens:
        return float(got_tokens == want_tokens)
    common = sum((got_tokens & want_tokens).values())
    if not common:
        return 0.0
    precision = common / sum(got_tokens.values())
    recall = common / sum(want_tokens.values())
    return 2 * precision * recall / (precision + recall)


def norm(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def same_date(got: Any, want: str) -> bool:
    return isinstance(got, str) and got.strip().startswith(want)


def same_price(got: Any, want: Any) -> bool:
    try:
        return got is not None and abs(float(got) - float(want)) < 1e-6
    except (TypeError, ValueError):
        return False


def score_article(doc: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": norm(doc.get("title")) == norm(want["title"]),
        "date": same_date(doc.get("published"), want["published"]),
        "body F1": f1(doc.get("body"), want["body"]),
        "got": {"title": doc.get("title"), "date": doc.get("published")},
    }


def score_product(doc: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"got": {}}
    for name in PRODUCT_FIELDS:
        if name not in want:
            continue
        got = doc.get(name)
        ok = same_price(got, want[name]) if name == "price" else norm(got) == norm(want[name])
        out[name] = ok
        out["got"][name] = got
    return out


def figures(scores: list[dict[str, Any]], names: list[str]) -> dict[str, float | None]:
    """Per figure: the share of pages right (or the mean F1) over the pages scored."""
    out: dict[str, float | None] = {}
    for name in names:
        values = [float(s[name]) for s in scores if name in s]
        out[name] = sum(values) / len(values) if values else None
    return out


# --- running the draft --------------------------------------------------------------------


def run(what: str, cmd: list[str], env: dict[str, str], timeout: float) -> tuple[str, str]:
    """Run a scrapy command from the project root: (stdout, stderr), or CommandFailed."""
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(what, f"no exit within {timeout:.0f} s", False) from exc
    if proc.returncode != 0:
        tail = (proc.stderr or "")[-3000:]
        raise CommandFailed(
            what,
            f"exit {proc.returncode}\n{proc.stdout[-2000:]}{tail}",
            bool(TRANSIENT.search(tail)),
        )
    return proc.stdout, proc.stderr


def draft_and_crawl(site: str, url: str, work: Path) -> dict[str, Any]:
    """``rules new`` then ``crawl`` in ``work``: what was decided, the crawl's log, the
    stored documents by decoded path."""
    if work.exists():
        shutil.rmtree(work)
    rules = work / "rules"
    rules.mkdir(parents=True)  # rules new does not make it (a FileNotFoundError)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRAWLER_DATA_DIR": str(work / "data")}
    decided, _ = run(
        "rules new",
        [*SCRAPY, "rules", "new", site, url, "-s", f"RULES_DIR={rules}"],
        env,
        timeout=180,
    )
    uri = f"sqlite:///{work / 'store.db'}"
    cmd = [*SCRAPY, "crawl", site, "-s", f"RULES_DIR={rules}", "-s", f"STORE_URI={uri}"]
    for setting in (
        "INCREMENTAL_STATE_URI=",
        f"RUN_LOG_DIR={work / 'logs'}",
        f"STORE_SPILL_DIR={work / 'spill'}",
        f"STORE_JOURNAL_DIR={work / 'journal'}",
        "LOG_LEVEL=INFO",
    ):
        cmd += ["-s", setting]
    started = time.monotonic()
    _, log = run("crawl", cmd, env, timeout=600)
    seconds = time.monotonic() - started
    from crawler.store import open_store

    items: dict[str, dict[str, Any]] = {}
    dead: dict[str, dict[str, Any]] = {}
    with open_store(uri) as store:
        for name, into in ((site, items), (f"{site}__dead", dead)):
            for doc in store.find(name):
                into.setdefault(unquote(urlsplit(doc.get("_url") or "").path), doc)
    return {
        "decided": decided,
        "log": log,
        "seconds": seconds,
        "items": items,
        "dead": dead,
        "rule": (rules / f"{site}.yaml").read_text(encoding="utf-8"),
    }


def stat(log: str, name: str) -> str:
    found = re.findall(STAT.format(re.escape(name)), log)
    return found[-1] if found else "?"


def warnings(log: str) -> list[str]:
    """The crawl's WARNING and ERROR lines, once each, without the time stamp."""
    seen: dict[str, None] = {}
    for line in log.splitlines():
        if "] WARNING:" in line or "] ERROR:" in line:
            seen.setdefault(line.split(" [", 1)[-1][:300], None)
    return list(seen)


# --- the baselines ------------------------------------------------------------------------


def fetch(url: str, encoding: str) -> str:
    with urllib.request.urlopen(quote(url, safe=":/?=&%#"), timeout=30) as response:
        return response.read().decode(encoding, "replace")


def trafilatura_alone(html: str, url: str) -> dict[str, Any]:
    import trafilatura

    document = trafilatura.bare_extraction(html, url=url, with_metadata=True)
    if document is None:
        return {}
    data = document.as_dict() if hasattr(document, "as_dict") else dict(document)
    return {"title": data.get("title"), "published": data.get("date"), "body": data.get("text")}


def _jsonld_items(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [item for entry in data for item in _jsonld_items(entry)]
    if isinstance(data, dict):
        return [data, *_jsonld_items(data.get("@graph", []))]
    return []


def extruct_alone(html: str, url: str) -> dict[str, Any]:
    import extruct

    found = extruct.extract(html, base_url=url, syntaxes=["json-ld"]).get("json-ld", [])
    for item in _jsonld_items(found):
        kinds = item.get("@type")
        if "Product" not in (kinds if isinstance(kinds, list) else [kinds]):
            continue
        offers = item.get("offers")
        offer = (offers[0] if offers else {}) if isinstance(offers, list) else offers or {}
        availability = offer.get("availability") or ""
        return {
            "name": item.get("name"),
            "price": offer.get("price", offer.get("lowPrice")),
            "sku": item.get("sku"),
            "currency": offer.get("priceCurrency"),
            "availability": re.sub(r"^https?://schema\.org/", "", availability) or None,
        }
    return {}


# --- the report ---------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def num(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def verdict(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value >= TARGETS[name] else "FAIL"


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "n/a"
    return f"{ours / theirs:.2f}" if theirs else ("1.00" if not ours else "inf")


def shorten(value: Any, width: int = 70) -> str:
    text = norm(value) if value is not None else "None"
    return repr(text if len(text) <= width else text[: width - 3] + "...")


def bench_site(site: str, base: str, work: Path) -> dict[str, Any]:
    data = expected(site)
    kind, details = data["kind"], data["details"]
    url = base + data["start"]
    print(f"\n== {site} ({kind}, {data['lang']}, {len(details)} detail pages): {url}", flush=True)
    result: dict[str, Any] = {"site": site, "kind": kind, "expected": len(details)}
    for attempt in (1, 2):
        try:
            crawl = draft_and_crawl(site, url, work)
            break
        except CommandFailed as exc:
            if exc.transient and attempt == 1:
                print(f"  {exc}\n  (a half-edited file? retrying in 60 s)", flush=True)
                time.sleep(60)
                continue
            print(f"  FAILED to run: {exc}", flush=True)
            result["failed"] = str(exc).splitlines()[0]
            return result
    print("rules new said:")
    for line in crawl["decided"].splitlines():
        print(f"  {line}")
    log = crawl["log"]
    stored = {**crawl["dead"], **crawl["items"]}
    print(
        f"crawl: {crawl['seconds']:.1f} s, {stat(log, 'response_received_count')} pages, "
        f"{len(crawl['items'])} items, {len(crawl['dead'])} dead letters"
    )
    for line in warnings(log)[:8]:
        print(f"  {line}")
    reasons = Counter(str(doc.get("_reason")) for doc in crawl["dead"].values())
    for reason, count in reasons.most_common(3):
        print(f"  dead letters: {count} x {reason[:200]}")

    reached = [path for path in details if path in stored]
    missing = [path for path in details if path not in stored]
    extra = sorted(set(crawl["items"]) - set(details))
    result["reached"] = len(reached) / len(details)
    result["reached_n"] = len(reached)
    if missing:
        print(f"  not reached ({len(missing)}): {', '.join(missing[:EXAMPLES])}")
    if extra:
        print(f"  items of pages that are not details ({len(extra)}): {', '.join(extra[:3])}")

    names = ["title", "date", "body F1"] if kind == "article" else list(PRODUCT_FIELDS)
    scorer = score_article if kind == "article" else score_product
    ours = {path: scorer(stored[path], details[path]) for path in reached}
    base_scores: dict[str, dict[str, Any]] = {}
    encoding = data.get("encoding", "utf-8")
    for path, want in details.items():
        page_url = base + path
        try:
            html = fetch(page_url, encoding)
        except OSError as exc:
            print(f"  FAILED to fetch {page_url} for the baseline: {exc}", flush=True)
            result["failed"] = f"baseline fetch of {path}: {exc}"
            continue
        alone = (trafilatura_alone if kind == "article" else extruct_alone)(html, page_url)
        base_scores[path] = scorer(alone, want)
    result["ours"] = figures(list(ours.values()), names)
    result["base"] = figures(list(base_scores.values()), names)
    same = [base_scores[path] for path in reached if path in base_scores]
    result["base_same"] = figures(same, names)
    result["same_n"] = len(same)
    result["scores"], result["base_scores"] = ours, base_scores
    if kind == "product":
        kept = [n for n in NOT_PRODUCED if any(n in want for want in details.values())]
        print(f"  expected but not produced by extract: product (not scored): {', '.join(kept)}")
    for label, scores in (("platform", ours), ("baseline", base_scores)):
        for name in names:
            if name == "body F1":
                low = sorted((s[name], p) for p, s in scores.items() if s[name] < TARGETS[name])
                if low:
                    shown = ", ".join(f"{p} {v:.3f}" for v, p in low[:EXAMPLES])
                    print(f"  {label} body F1 < {TARGETS[name]} on {len(low)}: {shown}")
                continue
            wrong = [p for p, s in scores.items() if name in s and not s[name]]
            for path in wrong[:EXAMPLES]:
                want = details[path]["published" if name == "date" else name]
                got = scores[path]["got"].get(name)
                print(f"  {label} {name} wrong: {path}: got {shorten(got)}, want {shorten(want)}")
            if len(wrong) > EXAMPLES:
                print(f"  {label} {name} wrong on {len(wrong) - EXAMPLES} more")
    print_figures(result, names)
    return result


def print_figures(result: dict[str, Any], names: list[str]) -> None:
    ours, base, same = result["ours"], result["base"], result["base_same"]
    targeted = {"title": "title", "date": "date", "body F1": "body F1", "name": "title"}
    line = [f"reached {result['reached_n']}/{result['expected']} {pct(result['reached'])}"]
    line[0] += f" {verdict('reached', result['reached'])}"
    for name in names:
        value = ours[name]
        shown = num(value) if name == "body F1" else pct(value)
        line.append(
            f"{name} {shown}"
            + (f" {verdict(targeted[name], value)}" if name in targeted else " (no target)")
        )
    print("platform:    " + " | ".join(line))
    alone = "trafilatura" if result["kind"] == "article" else "extruct"
    shown = [f"{n} {num(base[n]) if n == 'body F1' else pct(base[n])}" for n in names]
    print(f"{alone} alone: " + " | ".join(shown) + f" (over all {result['expected']} pages)")
    print(f"ratio platform / {alone} on the {result['same_n']} pages both scored: " + ", ".join(
        f"{n} {ratio(ours[n], same[n])}" for n in names
    ))  # fmt: skip


def summary(results: list[dict[str, Any]]) -> None:
    print("\n== summary: the platform (over the pages it reached) || the library alone (over every")
    print("expected page) | ratios platform / library alone, on the pages both scored")
    print("targets on every site: reached >= 95 %, title >= 95 %, date >= 90 %, body F1 >= 0.9;")
    print("a product site: reached, and the title target on its name; n/a (nothing reached) is")
    print("a target not met")
    for r in results:
        if "ours" not in r:
            print(f"{r['site']:<18} FAILED to run: {r.get('failed')}")
            continue
        ours, base, same = r["ours"], r["base"], r["base_same"]
        if r["kind"] == "article":
            print(
                f"{r['site']:<18} reached {pct(r['reached'])} {verdict('reached', r['reached'])}"
                f" | title {pct(ours['title'])} {verdict('title', ours['title'])}"
                f" | date {pct(ours['date'])} {verdict('date', ours['date'])}"
                f" | body F1 {num(ours['body F1'])} {verdict('body F1', ours['body F1'])}"
                f" || trafilatura: title {pct(base['title'])} date {pct(base['date'])}"
                f" body F1 {num(base['body F1'])}"
                f" | ratio: title {ratio(ours['title'], same['title'])}"
                f" date {ratio(ours['date'], same['date'])}"
                f" body F1 {ratio(ours['body F1'], same['body F1'])}"
            )
        else:
            print(
                f"{r['site']:<18} reached {pct(r['reached'])} {verdict('reached', r['reached'])}"
                f" | name {pct(ours['name'])} {verdict('title', ours['name'])}"
                f" | price {pct(ours['price'])} (no target)"
                f" | date n/a | body F1 n/a"
                f" || extruct: name {pct(base['name'])} price {pct(base['price'])}"
                f" | ratio: name {ratio(ours['name'], same['name'])}"
                f" price {ratio(ours['price'], same['price'])}"
            )
    ran = [r for r in results if "ours" in r]
    articles = [r for r in ran if r["kind"] == "article"]
    expected_n = sum(r["expected"] for r in results)
    reached_n = sum(r.get("reached_n", 0) for r in results)
    ours = figures(
        [s for r in articles for s in r["scores"].values()], ["title", "date", "body F1"]
    )
    base = figures(
        [s for r in articles for s in r["base_scores"].values()], ["title", "date", "body F1"]
    )
    same = figures(
        [r["base_scores"][p] for r in articles for p in r["scores"] if p in r["base_scores"]],
        ["title", "date", "body F1"],
    )
    print(
        f"{'total':<18} reached {reached_n}/{expected_n} {pct(reached_n / expected_n)}"
        f" | articles: title {pct(ours['title'])} | date {pct(ours['date'])}"
        f" | body F1 {num(ours['body F1'])}"
        f" || trafilatura: title {pct(base['title'])} date {pct(base['date'])}"
        f" body F1 {num(base['body F1'])}"
        f" | ratio: title {ratio(ours['title'], same['title'])}"
        f" date {ratio(ours['date'], same['date'])}"
        f" body F1 {ratio(ours['body F1'], same['body F1'])}"
    )
    checks = {r["site"]: site_checks(r) for r in ran}
    passed = sum(v == "PASS" for c in checks.values() for v in c.values())
    total = sum(len(c) for c in checks.values())
    sites_ok = sum(all(v == "PASS" for v in c.values()) for c in checks.values())
    print(
        f"targets met: {passed} of {total}; sites meeting every target: "
        f"{sites_ok} of {len(results)}"
    )


def site_checks(r: dict[str, Any]) -> dict[str, str]:
    """PASS/FAIL per target of a site that ran (a product's name takes the title target)."""
    if r["kind"] == "article":
        values = {"reached": r["reached"], **r["ours"]}
        return {name: verdict(name, values[name]) for name in TARGETS}
    return {
        "reached": verdict("reached", r["reached"]),
        "name": verdict("title", r["ours"]["name"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sites", nargs="+", choices=site_ids(), default=site_ids())
    parser.add_argument("--keep", type=Path, help="keep every site's work directory under DIR")
    opts = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-drafts-") as tmp:
        where = opts.keep.resolve() if opts.keep else Path(tmp)
        with serve_corpus(opts.sites) as urls:
            for site in opts.sites:
                results.append(bench_site(site, urls[site], where / site))
    summary(results)
    failed = [r for r in results if "failed" in r]
    if failed:
        print("commands that failed:", *(f"{r['site']}: {r['failed']}" for r in failed),
              sep="\n  ", file=sys.stderr)  # fmt: skip
        raise SystemExit(1)


if __name__ == "__main__":
    main()
