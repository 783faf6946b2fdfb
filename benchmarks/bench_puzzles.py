"""The slider and click-the-characters solvers on the sample site's puzzle gates.

    .venv/bin/python benchmarks/bench_puzzles.py [--count 200]

Each gate is drawn from a token (``tests/sample_site/puzzles.py``); a solver's answer passes
when the site's own check accepts it (slider: the gap within its tolerance and a drag track
that looks human; click: every character of the prompt clicked inside its box, in order).
Per kind, in a process of its own (models loaded and warmed up first): the share of ``count``
tokens passed (target >= 90 %) and the time per captcha.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.crawler.captcha.solver_rates import measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    failed = []
    for kind in ("slider", "click"):
        result = measure(kind, args.count)
        per = result["seconds"] / result["count"] * 1000
        print(f"  {kind:<6} {result['passed']}/{result['count']} passed ({result['rate']:.1%}; "
              f"target >= 90 %), {per:.0f} ms per captcha")  # fmt: skip
        if result["rate"] < 0.9:
            failed.append(kind)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
