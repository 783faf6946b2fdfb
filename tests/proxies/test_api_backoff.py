"""Wrong API tokens back off (issue 21): 3,000 wrong tokens from one client on 127.0.0.1 get
429s after the first few, the wait doubles up to its bound and ends, another client's right
token is served meanwhile, and the back-off remembers a bounded number of clients, however many
addresses an attacker has. Clients are told apart by their loopback source address."""

from __future__ import annotations

import http.client
import json
import logging
import math
import time

import pytest

from proxies.api import BACKOFF_KEY, REFUSALS_KEY
from proxies.api_token import TokenBackoff, client_key
from proxies.checker import apply_results
from proxies.model import Proxy
from proxies.pool import memory_pool
from proxies.validator import CheckResult
from tests.proxies.conftest import API_TOKEN
from tests.proxies.test_api import ApiThread

REPORT = json.dumps({"proxy": "127.0.0.1:8080", "outcome": "success"})


@pytest.fixture()
def pool():
    proxy = Proxy("127.0.0.1", 8080, source="free")
    p = memory_pool([proxy])
    apply_results(p.store, p.policy, [CheckResult(proxy, True, latency=0.1)])
    return p


class Client:
    """One keep-alive connection to the API from ``source`` (a loopback address of its own)."""

    def __init__(self, port: int, source: str) -> None:
        self.conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=10, source_address=(source, 0)
        )

    def report(self, token: str) -> tuple[int, str | None, dict]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn.request("POST", "/report", body=REPORT, headers=headers)
        answer = self.conn.getresponse()
        return answer.status, answer.getheader("Retry-After"), json.loads(answer.read())

    def close(self) -> None:
        self.conn.close()


def test_three_thousand_wrong_tokens_get_429_after_the_first_few(pool, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    server = ApiThread(pool)  # the defaults: 5 free, then 1 s, doubling, up to 300 s
    with server:
        attacker = Client(server.port, "127.0.0.1")
        statuses: dict[int, int] = {}
        retry_after: set[str | None] = set()
        started = time.monotonic()
        for i in range(3000):
            status, retry, _ = attacker.report(f"wrong-token-{i:05d}-0123456789abcdef")
            statuses[status] = statuses.get(status, 0) + 1
            if status == 429:
                retry_after.add(retry)
        elapsed = time.monotonic() - started
        # another client is served with the right token, and has its own count
        other = Client(server.port, "127.0.0.2")
        served = other.report(API_TOKEN)
        others_wrong = other.report("wrong-token-of-the-other-client-0123")[0]
        # the attacker, even with the right token, still waits: its tries are not checked
        attacker_right = attacker.report(API_TOKEN)[0]
        attacker.close()
        other.close()
        backoff = server.runner.app[BACKOFF_KEY]
        refusals = dict(server.runner.app[REFUSALS_KEY].counts)
    checked = statuses[401]
    # 5 free, the 6th starts a 1 s wait, and each wait that ends lets one more through, twice
    # as long: within `elapsed` seconds at most 6 + log2(elapsed + 1) are ever checked
    bound = 6 + math.ceil(math.log2(elapsed + 1))
    print(
        f"\n3000 wrong tokens from one client in {elapsed:.2f} s: {statuses}; "
        f"{checked} checked ({checked / elapsed:.1f}/s), at most {bound} allowed"
    )
    assert set(statuses) == {401, 429} and 6 <= checked <= bound
    assert statuses[429] == 3000 - checked
    assert retry_after and all(r is not None and int(r) >= 1 for r in retry_after)
    assert served[0] == 200 and served[2]["src"] is True
    assert others_wrong == 401 and attacker_right == 429
    assert backoff.wrong == checked + 1 and backoff.refused == statuses[429] + 1
    assert refusals["wrong token (401)"] == checked + 1
    assert refusals["token tries while backing off (429)"] == statuses[429] + 1
    assert API_TOKEN not in caplog.text and "wrong-token-" not in caplog.text  # never logged
    lines = [r.getMessage() for r in caplog.records if r.name == "proxies.api"]
    assert len(lines) <= 4 + 2, lines  # 1st, 10th, 100th, 1000th of the 429s; 1st of the 401s
    assert not [r for r in caplog.records if r.exc_info]


def test_the_wait_doubles_to_its_bound_and_a_right_token_works_after_it(pool) -> None:
    settings = {
        "PROXY_POOL_API_BACKOFF_AFTER": 2,
        "PROXY_POOL_API_BACKOFF_BASE": 0.2,
        "PROXY_POOL_API_BACKOFF_MAX": 0.8,
    }
    server = ApiThread(pool, settings=settings)
    with server:
        client = Client(server.port, "127.0.0.3")
        free = [client.report(f"wrong-{i}-0123456789abcdef")[0] for i in range(2)]
        right_while_free = client.report(API_TOKEN)[0]
        waits, refused = [], []
        for i in range(4):
            assert client.report(f"wrong-again-{i}-0123456789abcdef")[0] == 401
            wrong_at, tries = time.monotonic(), 0
            while (answer := client.report(API_TOKEN))[0] == 429:
                tries += 1
                assert answer[1] == "1"  # Retry-After: whole seconds, rounded up
                time.sleep(0.01)
            assert answer[0] == 200 and answer[2]["src"] is True
            waits.append(time.monotonic() - wrong_at)
            refused.append(tries)
        client.close()
    print(f"\nwaits after wrong tokens 3..6 (0.2 s doubling, 0.8 s at most): {waits}")
    assert free == [401, 401] and right_while_free == 200
    for measured, expected in zip(waits, [0.2, 0.4, 0.8, 0.8], strict=True):
        assert expected - 0.05 <= measured <= expected + 0.5, waits
    assert all(tries > 0 for tries in refused)


def test_the_backoff_remembers_a_bounded_number_of_clients(pool) -> None:
    settings = {"PROXY_POOL_API_BACKOFF_AFTER": 0, "PROXY_POOL_API_BACKOFF_CLIENTS": 50}
    server = ApiThread(pool, settings=settings)
    with server:
        backoff = server.runner.app[BACKOFF_KEY]
        sizes = []
        for i in range(300):  # 300 attacker addresses, one wrong token each
            client = Client(server.port, f"127.2.{i // 250}.{i % 250 + 1}")
            assert client.report(f"wrong-{i}-0123456789abcdef")[0] == 401
            assert client.report(f"wrong-{i}-0123456789abcdef")[0] == 429  # it waits now
            client.close()
            sizes.append(len(backoff))
        served = Client(server.port, "127.0.0.4").report(API_TOKEN)[0]
    print(f"\n300 client addresses: table size at most {max(sizes)}, {backoff.forgotten} forgotten")
    assert max(sizes) == 50 and sizes[-1] == 50
    assert backoff.forgotten == 250 and backoff.wrong == 300 and backoff.refused == 300
    assert served == 200


def test_client_keys_and_forgetting() -> None:
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") == "2001:db8:0:1::/64"
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1" == client_key("10.0.0.1")
    assert client_key("fe80::1%eth0") == "fe80::/64"
    assert client_key(None) == "unknown"
    now = [0.0]
    backoff = TokenBackoff(1, 1.0, 4.0, 10, clock=lambda: now[0])
    assert [backoff.failed("a") for _ in range(5)] == [0.0, 1.0, 2.0, 4.0, 4.0]
    assert backoff.wait("a") == 4.0
    now[0] = 4.0 + 3.9  # the wait is over, and it waited almost as long again: remembered
    assert backoff.wait("a") == 0.0 and backoff.failed("a") == 4.0
    now[0] += 4.0 + 4.1  # quiet for the longest wait after its wait: forgotten, starts afresh
    assert backoff.wait("a") == 0.0 and len(backoff) == 0
    assert backoff.failed("a") == 0.0
    for bad in [(-1, 1.0, 4.0, 10), (1, 0.0, 4.0, 10), (1, 5.0, 4.0, 10), (1, 1.0, 4.0, 0)]:
        with pytest.raises(ValueError, match="PROXY_POOL_API_BACKOFF"):
            TokenBackoff(*bad)
