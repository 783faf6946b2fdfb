"""Rendered pages against the same pages fetched statically, and OCR on the captcha gate.

    .venv/bin/python benchmarks/bench_render.py [--pages 1000] [--captchas 200]

1. Speed and memory: the sample site's ``/js/book/{1..N}.html`` crawled by a rule, once
   statically (the HTML only: no price, the script does not run) and once rendered in Chromium
   (price from the captured XHR JSON), each in a fresh process against the same site process.
   Prints pages/s and peak memory (proportional set size of the crawl process, the Playwright
   driver and every Chromium process), and the ratios rendered / static.
2. Bounded memory: the rendered crawl's memory per 100 pages (median and highest of the
   samples taken every half second while the crawl was in that window), and the growth of the
   later windows against pages 100-200. ``BENCH_SETTINGS='{"RENDER_CONTEXT_MAX_PAGES": 10000}'``
   runs it without recycling contexts.
3. OCR: ``--captchas`` captchas of the sample site's image gate, each fetched, read by the OCR
   solver and answered over HTTP: success rate (the site's verdict) and time per captcha.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RULE = """
name: bench_js
args: {{site: null, pages: 10}}
start:
  - url: "{{site}}/js/book/{{1..{pages}}}.html"
    page: book
pages:
  book:
{render}    fields:
      title: {{css: "div.product_main h1::text"}}
      price: {{{price}}}
"""
RENDER = (
    '    render: {wait_for: ".price_color[data-currency]", capture: /api/price/, block: [image]}\n'
)


def tree_memory(pid: int) -> int:
    """Proportional set size (bytes) of a process and its descendants (RSS where PSS is not
    readable): shared pages of Chromium's processes are counted once."""
    import psutil

    total = 0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def child(mode: str, site: str, pages: int, out: str) -> None:
    """One crawl in this process; memory sampled from a thread; figures written to ``out``."""
    import os

    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    rules = Path(tempfile.mkdtemp()) / "rules"
    rules.mkdir()
    rendered = mode == "rendered"
    text = RULE.format(
        pages=pages,
        render=RENDER if rendered else "",
        price='json: "[0].price"' if rendered else "css: p.price_color::text",
    )
    (rules / "bench_js.yaml").write_text(text)
    settings = get_project_settings()
    overrides = {
        "RULES_DIR": str(rules),
        "STORE_URI": "",
        "INCREMENTAL_STATE_URI": "",
        "STORE_RUNS_ENABLED": False,
        "ITEM_PIPELINES": {},
        "RENDER_SCREENSHOT_DIR": "",
        "RUN_LOG_DIR": str(rules.parent / "logs"),  # never the project's data/
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
        **json.loads(os.environ.get("BENCH_SETTINGS", "{}")),
    }
    settings.setdict(overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("bench_js")
    samples: list[tuple[int, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            count = crawler.stats.get_value("response_received_count", 0) if crawler.stats else 0
            samples.append((count, tree_memory(os.getpid())))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    process.crawl(crawler, site=site)
    process.start()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    # once more at the end: a short crawl may end before the first sample
    samples.append(
        (crawler.stats.get_value("response_received_count", 0), tree_memory(os.getpid()))
    )
    stats = crawler.stats.get_stats()
    figures = {
        "mode": mode,
        "pages": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "priced": stats.get("render/captured", 0),
        "errors": stats.get("render/errors", 0),
        "seconds": elapsed,
        "peak": max((m for _, m in samples), default=0),
        "samples": samples,
    }
    Path(out).write_text(json.dumps(figures))


def crawl(mode: str, site: str, pages: int) -> dict:
    out = Path(tempfile.mkdtemp()) / "figures.json"
    args = ["--child", mode, "--site", site, "--pages", str(pages), "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True, timeout=3600
    )
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"{mode} crawl failed:\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def memory_curve(samples: list[tuple[int, int]], step: int = 100) -> list[tuple[int, int, int]]:
    """Per window of ``step`` pages (0-100, 100-200...): the median and the highest memory
    sampled while the crawl was in it (samples every half second)."""
    windows: dict[int, list[int]] = {}
    last = max((pages for pages, _ in samples), default=0)
    for pages, memory in samples:
        if 0 < pages < last:  # not the browser starting, nor shutting down
            windows.setdefault(pages // step, []).append(memory)
    return [((k + 1) * step, int(statistics.median(v)), max(v)) for k, v in sorted(windows.items())]


def ocr_on_gate(count: int) -> dict:
    from crawler.captcha.ocr import OcrSolver, load_model
    from tests.sample_site import SampleSite
    from tests.sample_site.antibot import antibot_middleware

    started = time.perf_counter()
    solver = OcrSolver(load_model())
    load = time.perf_counter() - started
    bot = antibot_middleware(ip_limit=0, image_captcha_after=1)
    solved = failed = 0
    reading = 0.0

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with SampleSite(books=5, middlewares=[bot]) as site:
        opener.open(f"{site.url}/book/1.html").read()  # the one free page
        for _ in range(count):
            page = opener.open(f"{site.url}/book/1.html").read().decode()
            token = re.search(r'name="token" value="(\d+)"', page).group(1)
            image = opener.open(f"{site.url}/captcha/image/{token}.png").read()
            begun = time.perf_counter()
            answer = solver.read(image)
            reading += time.perf_counter() - begun
            form = urllib.parse.urlencode({"token": token, "answer": answer, "next": "/"})
            try:
                opener.open(f"{site.url}/captcha/solve", data=form.encode()).read()
                failed += 1  # a 200: the gate again
            except urllib.error.HTTPError as exc:
                if exc.code != 303:
                    raise
                solved += 1
                opener.open(f"{site.url}/book/1.html").read()  # spend the page it unlocked
    assert solved == bot.state.captcha_solved and failed == bot.state.captcha_failed
    return {"solved": solved, "failed": failed, "ms_per_captcha": reading / count * 1000,
            "model_load_s": load}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--captchas", type=int, default=200)
    parser.add_argument("--child", choices=["static", "rendered"])
    parser.add_argument("--site")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.site, args.pages, args.out)
        return
    from tests.sample_site import SampleSite

    with SampleSite(books=args.pages) as site:
        static = crawl("static", site.url, args.pages)
        rendered = crawl("rendered", site.url, args.pages)
    mib = 1024 * 1024
    print(f"{args.pages} pages of /js/book/N.html, same site process, fresh crawl processes")
    for run in (static, rendered):
        rate = run["pages"] / run["seconds"]
        print(
            f"  {run['mode']:<9} {run['pages']:>5} pages {run['items']:>5} items "
            f"{run['priced']:>5} XHR prices {run['errors']:>3} errors  {run['seconds']:7.1f}s "
            f"{rate:7.1f} pages/s  peak {run['peak'] / mib:7.0f} MiB"
        )
    speed = (rendered["pages"] / rendered["seconds"]) / (static["pages"] / static["seconds"])
    print(f"  rendered / static: {speed:.3f}x the speed, {rendered['peak'] / static['peak']:.1f}x "
          f"the peak memory")  # fmt: skip
    curve = memory_curve([tuple(s) for s in rendered["samples"]])
    print(
        "rendered crawl memory (PSS of crawl + driver + Chromium), per 100 pages, median/max MiB:"
    )
    print("  " + "  ".join(f"{p}:{m / mib:.0f}/{top / mib:.0f}" for p, m, top in curve))
    if len(curve) >= 3:
        first = curve[1][1]  # pages 100-200: the first window after the first hundred
        later = [m for _, m, _ in curve[2:]]
        print(
            f"  medians after pages 100-200 ({first / mib:.0f} MiB): highest "
            f"{max(later) / mib:.0f} MiB ({(max(later) - first) / first:+.1%}), last window "
            f"{later[-1] / mib:.0f} MiB ({(later[-1] - first) / first:+.1%})"
        )
    ocr = ocr_on_gate(args.captchas)
    total = ocr["solved"] + ocr["failed"]
    print(
        f"OCR on {total} captchas of the sample site's gate: {ocr['solved']} solved "
        f"({ocr['solved'] / total:.1%}), {ocr['ms_per_captcha']:.1f} ms per captcha "
        f"(model load {ocr['model_load_s']:.2f}s)"
    )


if __name__ == "__main__":
    main()
