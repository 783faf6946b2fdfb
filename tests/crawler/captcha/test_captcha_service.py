"""The solving-service solver against a fake service on 127.0.0.1 (aiohttp, a free port): the
createTask / getTaskResult exchange for each kind, and one clear error per way it fails."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import pytest
from aiohttp import web
from scrapy.settings import Settings

from crawler.captcha.kinds import Challenge
from crawler.captcha.service import ServiceClient, ServiceError, ServiceSolver
from crawler.defaults import render as defaults
from tests.crawler.captcha.loopback import serving

KEY = "k-3f9a0c1e5b7d"
SEEN = web.AppKey("seen", list)
IMAGE = b"\x89PNG fake image"


def fake_service() -> web.Application:
    """Tasks are ready on the second poll; what they answer depends on the image's text."""
    tasks: dict[int, dict] = {}
    seen: list[dict] = []

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body.get("clientKey") != KEY:
            return web.json_response(
                {"errorId": 1, "errorCode": "ERROR_KEY_DOES_NOT_EXIST",
                 "errorDescription": f"Account authorization key {body.get('clientKey')} not found"}
            )  # fmt: skip
        task_id = len(tasks) + 1
        tasks[task_id] = {**body["task"], "polls": 0}
        return web.json_response({"errorId": 0, "taskId": task_id})

    async def result(request: web.Request) -> web.Response:
        body = await request.json()
        task = tasks[body["taskId"]]
        task["polls"] += 1
        image = base64.b64decode(task["body"])
        if image.startswith(b"slow"):
            await asyncio.sleep(0.8)
        if task["polls"] < 2 or image.startswith(b"never"):
            return web.json_response({"errorId": 0, "status": "processing"})
        if image.startswith(b"huge"):
            return web.json_response({"errorId": 0, "status": "ready",
                                      "solution": {"text": "A" * 100_000}})  # fmt: skip
        if image.startswith(b"long"):
            return web.json_response({"errorId": 0, "status": "ready",
                                      "solution": {"text": "A" * 300}})  # fmt: skip
        if task["type"] == "CoordinatesTask":
            points = [{"x": 131, "y": 40}] if "imgInstructions" in task else [
                {"x": 10, "y": 20}, {"x": 30.4, "y": 40}, {"x": 50, "y": 60}]  # fmt: skip
            return web.json_response(
                {"errorId": 0, "status": "ready", "solution": {"coordinates": points}}
            )
        return web.json_response({"errorId": 0, "status": "ready", "solution": {"text": "K7PX"}})

    app = web.Application()
    app.router.add_post("/createTask", create)
    app.router.add_post("/getTaskResult", result)
    app[SEEN] = seen
    return app


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[str, list]]:
    app = fake_service()
    with serving(app) as url:
        yield url, app[SEEN]


def client(url: str, key: str = KEY, **options: float) -> ServiceClient:
    settings = {"timeout": 5.0, "poll": 0.05, "request_timeout": 1.0, "max_bytes": 4096}
    return ServiceClient(
        url, key, task_types=dict(defaults.CAPTCHA_SERVICE_TASK_TYPES), **{**settings, **options}
    )


def test_each_kind_is_answered_in_the_pending_stores_shape(service):
    url, seen = service
    assert client(url).answer(Challenge("text", "http://s/", IMAGE)) == "K7PX"
    click = Challenge(
        "click", "http://s/", IMAGE, prompt="请依次点击“山”“水”“花”", targets=("山", "水", "花")
    )
    assert client(url).answer(click) == "10,20;30,40;50,60"
    slider = Challenge("slider", "http://s/", IMAGE, piece=b"piece")
    assert client(url).answer(slider) == "131"
    task = seen[-1]["task"]
    assert (
        task["type"] == "CoordinatesTask" and base64.b64decode(task["imgInstructions"]) == b"piece"
    )
    assert seen[-2]["task"]["comment"] == click.prompt
    assert base64.b64decode(seen[0]["task"]["body"]) == IMAGE


def test_a_wrong_key_is_one_clear_error_that_never_shows_the_key(service):
    url, _ = service
    with pytest.raises(ServiceError) as caught:
        client(url, key="wrong-key-123").answer(Challenge("text", "http://s/", IMAGE))
    assert caught.value.reason == "service_key"
    assert "ERROR_KEY_DOES_NOT_EXIST" in str(caught.value) and "wrong-key-123" not in str(
        caught.value
    )
    assert "wrong-key" not in repr(client(url, key="wrong-key-123"))


def test_no_answer_in_time_and_a_slow_reply_are_timeouts(service):
    url, _ = service
    with pytest.raises(ServiceError) as never:
        client(url, timeout=0.4).answer(Challenge("text", "http://s/", b"never"))
    assert never.value.reason == "service_timeout"
    with pytest.raises(ServiceError) as slow:
        client(url, request_timeout=0.3).answer(Challenge("text", "http://s/", b"slow"))
    assert slow.value.reason == "service_timeout"


def test_an_oversized_reply_or_answer_is_refused(service):
    url, _ = service
    with pytest.raises(ServiceError) as huge:
        client(url).answer(Challenge("text", "http://s/", b"huge"))
    assert huge.value.reason == "service_too_large"
    with pytest.raises(ServiceError) as long:
        client(url).answer(Challenge("text", "http://s/", b"long"))
    assert long.value.reason == "service_too_large" and "100 characters" in str(long.value)


def test_an_unreachable_service_and_a_missing_setting(service):
    with pytest.raises(ServiceError) as down:
        client("http://127.0.0.1:9").answer(Challenge("text", "http://s/", IMAGE))
    assert down.value.reason == "service_unreachable"
    with pytest.raises(ValueError, match="CAPTCHA_SERVICE_URL"):
        ServiceClient("", KEY, task_types={})


def test_the_solver_takes_its_key_from_the_variable_a_setting_names(service, monkeypatch):
    url, _ = service
    monkeypatch.setenv("TEST_CAPTCHA_KEY", KEY)
    settings = Settings({k: getattr(defaults, k) for k in dir(defaults) if k.isupper()})
    settings.set("CAPTCHA_SERVICE_URL", url)
    settings.set("CAPTCHA_SERVICE_API_KEY_ENV", "TEST_CAPTCHA_KEY")
    settings.set("CAPTCHA_SERVICE_POLL", 0.05)
    crawler = type("Crawler", (), {"settings": settings})()
    solver = ServiceSolver.from_crawler(crawler)
    assert solver.client.answer(Challenge("text", "http://s/", IMAGE)) == "K7PX"
    assert KEY not in repr(solver.client) and KEY not in repr(vars(solver))
