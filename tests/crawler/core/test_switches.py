"""crawler/core/switches.py's add-on: Scrapy's remote control and telnet console, switched off,
are not even imported (the remote control pulls in aiohttp's web server: about 10 MiB in every
crawl); switched on, they load as Scrapy's own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scrapy.settings import Settings

from crawler.core.switches import OFF_BY_SETTING, UnloadedWhenOff

ROOT = Path(__file__).resolve().parents[3]
REMOTE, TELNET = OFF_BY_SETTING


def applied(**cmdline) -> dict:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(cmdline, priority="cmdline")
    UnloadedWhenOff().update_settings(settings)
    return settings.getdict("EXTENSIONS_BASE")


def test_switched_off_extensions_leave_the_base_and_switched_on_ones_stay():
    base = applied()
    assert REMOTE not in base and TELNET not in base
    assert "scrapy.extensions.corestats.CoreStats" in base  # the rest is Scrapy's own
    on = applied(TELNETCONSOLE_ENABLED=True)
    assert TELNET in on and REMOTE not in on


CODE = """
import sys
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings
settings = get_project_settings()
settings.set("CRAWLER_DATA_DIR", sys.argv[1], priority="cmdline")
crawler = CrawlerProcess(settings, install_root_handler=False).create_crawler("sample_books")
crawler._apply_settings()  # what `scrapy crawl` does first: add-ons, then the components
names = [type(e).__name__ for e in crawler.extensions.middlewares]
print(sorted(n for n in ("RemoteControl", "TelnetConsole") if n in names))
print(sorted(m for m in ("aiohttp", "twisted.conch") if m in sys.modules))
"""


def test_a_crawl_does_not_import_them(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CRAWLER_DATA_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["[]", "[]"], out.stdout + out.stderr[-2000:]
