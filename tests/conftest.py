"""Shared pytest fixtures: the bundled sample site running on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.sample_site import SampleSite


@pytest.fixture(scope="session")
def sample_site() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT``, no trailing slash) of a SampleSite(books=60)."""
    with SampleSite(books=60) as site:
        assert site.url is not None
        yield site.url


@pytest.fixture
def make_sample_site() -> Iterator[Callable[..., SampleSite]]:
    """Start extra sample sites with any SampleSite kwargs; all are stopped at teardown.

    ``site = make_sample_site(books=500, latency=0.05)``; its base URL is ``site.url``.
    """
    started: list[SampleSite] = []

    def make(**kwargs: object) -> SampleSite:
        site = SampleSite(**kwargs)  # type: ignore[arg-type]
        started.append(site)
        site.start()
        return site

    yield make
    for site in reversed(started):
        site.stop()
