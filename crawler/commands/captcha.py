"""``scrapy captcha list`` shows the captchas waiting for a person (the manual solver's, under
``CAPTCHA_MANUAL_DIR``): id, age, kind (text, click, slider), rule, page (masked), image and
prompt; ``scrapy captcha answer ID ANSWER`` answers one (text: the text; click: ``x1,y1;x2,y2``
in image pixels; slider: the gap's x), and the crawl waiting for it goes on."""

from __future__ import annotations

import argparse
import sys
import time

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from crawler.captcha.pending import CaptchaStore
from vocab import mask_url


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "list | answer ID TEXT"

    def short_desc(self) -> str:
        return "List the captchas waiting for an answer, or answer one"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        store = CaptchaStore(self.settings.get("CAPTCHA_MANUAL_DIR"))
        if args[:1] == ["list"] and len(args) == 1:
            pending = store.pending()
            for captcha in pending:
                age = time.time() - captcha.created
                prompt = f"  {captcha.prompt!r}" if captcha.prompt else ""
                print(
                    f"{captcha.id}  {age:5.0f}s  {captcha.kind:<6}  {captcha.rule}  "
                    f"{mask_url(captcha.url)}  {captcha.image}{prompt}"
                )
            print(f"{len(pending)} captcha(s) waiting", file=sys.stderr)
            return
        if args[:1] == ["answer"] and len(args) == 3:
            try:
                store.answer(args[1], args[2])
            except (KeyError, ValueError) as exc:
                print(f"error: {exc.args[0]}", file=sys.stderr)
                self.exitcode = 1
                return
            print(f"answered {args[1]}")
            return
        raise UsageError(
            "use: scrapy captcha list, or scrapy captcha answer ID TEXT", print_help=False
        )
