"""The rate of the slider and click solvers on the sample site's puzzles, measured in a process
of its own (the models' memory stays out of the caller's): shared by the solver tests and
benchmarks/bench_puzzles.py."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.crawler.crawl import ROOT

PROBE = """
import json, sys, time
from tests.sample_site import puzzles
kind, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
tokens = [f"{n:06d}" for n in range(first, first + count)]
images = {t: puzzles.slider_images(t) if kind == "slider"
          else (puzzles.click_image(t), puzzles.click_prompt(t)) for t in tokens}
threads = []
if kind == "slider":
    from crawler.captcha.slider import drag_track, gap_offset
    gap_offset(*images[tokens[0]])  # warm up
    started = time.monotonic()
    answers = {t: gap_offset(*images[t]) for t in tokens}
    passed = [t for t in tokens if abs(answers[t] - puzzles.slider_gap(t)[0]) <= puzzles.TOLERANCE
              and puzzles.human_track_problem(drag_track(answers[t], seed=t), answers[t]) is None]
else:
    from crawler.captcha.click import CharacterLocator, clicks_answer, prompt_targets
    locator = CharacterLocator()
    locator.boxes(images[tokens[0]][0])  # load the models
    det, reader = locator.models()
    sessions = [det.detection_engine.session, reader]
    threads = [s.get_session_options().intra_op_num_threads for s in sessions]
    started = time.monotonic()
    answers = {}
    for t in tokens:
        points = locator.locate(images[t][0], prompt_targets(images[t][1]))
        answers[t] = clicks_answer(points) if points else ""
    passed = [t for t in tokens if answers[t] and puzzles.click_problem(t, answers[t]) is None]
seconds = time.monotonic() - started
print(json.dumps({"passed": len(passed), "count": count, "seconds": seconds, "threads": threads}))
"""


def measure(kind: str, count: int = 200, first: int = 1) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, kind, str(first), str(count)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rate = result["passed"] / result["count"]
    print(f"{kind}: {result['passed']}/{result['count']} = {rate:.1%} in {result['seconds']:.1f}s")
    return {**result, "rate": rate}
