"""What ``scrapy config show`` lists without names, and the source it gives each setting."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler.config import Deployment, Origin
from crawler.config.effective import rows, text_lines


def test_the_platforms_settings_and_scrapys_changed_ones_with_their_sources():
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("LOG_ENABLED", False, priority="command")
    settings.set("RETRY_TIMES", "5", priority="cmdline")
    settings.set("STORE_URI", "mongodb://bob:pw@db/items", priority="project")
    settings.set("AWS_SECRET_ACCESS_KEY", "s3cr3t", priority="cmdline")
    deployment = Deployment(
        values={"STORE_URI": "mongodb://bob:pw@db/items"},
        origins={"STORE_URI": Origin("/etc/crawler.yaml:3:1")},
    )
    found = {row.name: row for row in rows(settings, deployment)}
    assert found["STORE_BATCH_SIZE"].source == "default"  # the platform's: always listed
    assert "DEPTH_LIMIT" not in found  # Scrapy's, at its default
    assert "LOG_ENABLED" not in found  # the command's own default
    assert (found["RETRY_TIMES"].value, found["RETRY_TIMES"].source) == ("5", "-s")
    assert found["CONCURRENT_ITEMS"].source == "project"
    assert found["STORE_URI"].source == "/etc/crawler.yaml:3:1"
    assert found["STORE_URI"].value == "mongodb://***@db/items"
    assert found["AWS_SECRET_ACCESS_KEY"].value == "***"
    every = rows(settings, deployment, every=True)
    assert {"DEPTH_LIMIT", "LOG_ENABLED"} <= {row.name for row in every}
    picked = rows(settings, deployment, names=["DEPTH_LIMIT"])
    assert text_lines(picked) == ["DEPTH_LIMIT = 0  # default"]
