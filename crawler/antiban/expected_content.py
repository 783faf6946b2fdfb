"""What the ban middleware asks of a spider before it takes a page for a wall.

A verdict the ban policy reached from a page's content (a captcha image, a vendor's challenge
markup, a block phrase, a landing page that looks like a login: ``Verdict.signal`` is set) can
be wrong: articles discuss captchas and show them. So before any retry or back-off the
middleware asks the spider whether the page has what it expects of it. The anti-ban layer sits
below the spider and does not know it: it declares the question here, and a spider answers it
by having the method (the rule spider does: :mod:`crawler.spider.expectations`).

Only pages the policy already doubts are asked about, so the spider's work (extracting the page)
is bounded by them.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from scrapy.http import Response


@runtime_checkable
class ExpectsContent(Protocol):
    """A spider that knows what its pages hold."""

    def expects_content(self, response: Response) -> bool | None:
        """True: ``response`` is one of the spider's pages and yields what such a page must
        (its page type's required fields), so it is content, whatever markers it shows.
        False: it does not. None: the spider cannot tell (no page type, nothing required)."""


def has_expected_content(spider: Any, response: Response) -> bool | None:
    """The spider's answer, or None when it cannot be asked."""
    if not isinstance(spider, ExpectsContent):
        return None
    return spider.expects_content(response)
