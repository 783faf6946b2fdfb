"""Point-and-click selectors (crawler/service/pick_api.py): a sanitized snapshot of a page of the
sample site, with each element's path; the selectors proposed for the element at a path, with
what each gives on every sample page; credentials first; a bad path a one-line 422."""

from __future__ import annotations

import re

from scrapy.http import HtmlResponse

from crawler.service.pick_api import snapshot_html
from crawler.spider import page_root
from tests.crawler.service.conftest import Service


def _body(service: Service, site: str, **extra):
    text = (service.rules_dir / "sample_books.yaml").read_text(encoding="utf-8")
    return {"yaml": text, "url": f"{site}/book/1.html", "args": {"site": site}, **extra}


def test_credentials_come_first(sqlite_service: Service, sample_site: str) -> None:
    client = sqlite_service.client
    for route in ("snapshot", "pick"):
        body = _body(sqlite_service, sample_site, path=[1, 0, 0])
        answer = client.post(f"/api/rules/sample_books/{route}", json=body)
        assert answer.status_code == 401, answer.text
        wrong = {"Authorization": "Bearer nope"}
        answer = client.post(f"/api/rules/sample_books/{route}", json=body, headers=wrong)
        assert answer.status_code == 401


def test_snapshot_has_no_script_and_marks_each_element(
    sqlite_service: Service, sample_site: str
) -> None:
    service = sqlite_service
    answer = service.client.post(
        "/api/rules/sample_books/snapshot", json=_body(service, sample_site), headers=service.auth
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["page"] == "book" and "book" in result["pages"]
    html = result["html"]
    assert "<script" not in html and "schema.org" not in html  # the page's ld+json is gone
    assert "href=" not in html  # nothing links out
    assert '<h1 data-pick="1.0.0">Road of the North</h1>' in html


def test_sanitizer_removes_what_runs_loads_or_submits() -> None:
    page = (
        b"<html><head><base href='http://evil.test/'><link rel=stylesheet href=/x.css>"
        b"<meta http-equiv=refresh content='0;url=http://evil.test/'><style>p{}</style></head>"
        b"<body onload='alert(1)'><p onclick='alert(2)' class=c style='color:red'>hi</p>"
        b"<a href='javascript:alert(3)'>j</a><img src='http://evil.test/i.png' alt=i>"
        b"<iframe src='http://evil.test/'></iframe><object data=x></object><embed src=y>"
        b"<form action='http://evil.test/post'><input name=q></form>"
        b"<svg><script>alert(4)</script></svg><noscript><img src=z></noscript></body></html>"
    )
    root = page_root(HtmlResponse("http://site.test/", body=page, encoding="utf-8"))
    html = snapshot_html(root)
    for gone in ("alert", "evil.test", "<iframe", "<object", "<embed", "<style", "<link", "<meta"):
        assert gone not in html, (gone, html)
    assert not re.search(r"\son\w+=", html) and "src=" not in html and "action=" not in html
    assert '<p class="c" data-pick="1.0">hi</p>' in html
    assert re.search(r'<form data-pick="[0-9.]+"><input name="q" data-pick="[0-9.]+"></form>', html)


def test_pick_proposes_selectors_with_their_values_on_every_sample(
    sqlite_service: Service, sample_site: str
) -> None:
    service = sqlite_service
    samples = [f"{sample_site}/book/2.html", f"{sample_site}/book/3.html"]
    # <html> > <body> (1) > div.product_main (0) > h1 (0)
    body = _body(service, sample_site, path=[1, 0, 0], samples=samples)
    answer = service.client.post("/api/rules/sample_books/pick", json=body, headers=service.auth)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["tag"] == "h1" and result["text"] == "Road of the North"
    best = result["proposals"][0]
    assert (best["kind"], best["expression"]) == ("css", "div.product_main > h1")
    titles = {}
    for url in [body["url"], *samples]:
        preview = service.client.post(
            "/api/rules/preview",
            json={"yaml": body["yaml"], "url": url, "args": body["args"]},
            headers=service.auth,
        ).json()
        titles[url] = [preview["items"][0]["title"]]  # as the rule's own field gives it
    assert best["values"] == titles


def test_a_bad_path_is_a_one_line_422(sqlite_service: Service, sample_site: str) -> None:
    service = sqlite_service
    for path, words in (([1, 99], "no element at path 1.99"), ([0], "page's body")):
        body = _body(service, sample_site, path=path)
        answer = service.client.post(
            "/api/rules/sample_books/pick", json=body, headers=service.auth
        )
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert isinstance(detail, str) and "\n" not in detail and words in detail
    bad = service.client.post(
        "/api/rules/sample_books/pick",
        json=_body(service, sample_site, path=[-1]),
        headers=service.auth,
    )
    assert bad.status_code == 422
