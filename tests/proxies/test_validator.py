"""The validator against the loopback fleet: every proxy classified as its behaviour says."""

from __future__ import annotations

import asyncio
import time

from proxies.model import Anonymity, Proxy
from proxies.pool import TargetCheck
from proxies.validator import Validator, classify
from tests.proxies.fleet import ALIVE_KINDS, FleetProcess, ProxySpec

# 4 s: under a loaded CI run, 2 s let slow proxies (0.3 s delay) and HTTPS checks time out
TIMEOUT = 4.0


def test_every_fleet_proxy_is_classified_correctly(fleet: FleetProcess) -> None:
    specs = fleet.fleet.specs
    validator = Validator(
        fleet.judge.url,
        https_url=fleet.judge.https_url,
        timeout=TIMEOUT,
        concurrency=150,
        tls_verify=False,
    )
    start = time.perf_counter()
    results = validator.run([s.proxy() for s in specs])
    elapsed = time.perf_counter() - start
    assert validator.own_addresses == {"127.0.0.1"}
    wrong = []
    for spec, res in zip(specs, results, strict=True):
        expected_alive = spec.kind in ALIVE_KINDS
        expected_anon = {
            "elite": Anonymity.ELITE,
            "slow": Anonymity.ELITE,
            "anonymous": Anonymity.ANONYMOUS,
            "transparent": Anonymity.TRANSPARENT,
        }.get(spec.kind)
        ok = res.alive is expected_alive and res.anonymity is (
            expected_anon if expected_alive else None
        )
        if expected_alive:
            ok = ok and res.https is True and res.latency is not None
            ok = ok and res.seen_address == spec.source_ip
            if spec.kind == "slow":
                ok = ok and res.latency >= spec.delay
        else:
            expected_error = {"tarpit": "timeout", "garbage": "did not relay"}.get(
                spec.kind, "Cannot connect"
            )
            ok = ok and expected_error in res.error
        if not ok:
            wrong.append((spec.kind, spec.auth is not None, res.summary(), res.error))
    assert not wrong, wrong[:10]
    # hundreds of proxies, 30 tarpits: one timeout's worth of waiting, not thirty
    assert elapsed < 3 * TIMEOUT + 2, elapsed


def test_credentials_never_leak_into_results(fleet: FleetProcess) -> None:
    spec = next(s for s in fleet.fleet.specs if s.auth and s.kind == "dead")
    res = Validator(fleet.judge.url, timeout=1).run([spec.proxy()])[0]
    assert res.alive is False
    assert spec.auth[1] not in res.error and spec.auth[0] not in res.error
    assert spec.auth[1] not in res.summary()


def test_wrong_credentials_mean_dead(fleet: FleetProcess) -> None:
    spec = next(s for s in fleet.fleet.specs if s.auth and s.kind == "elite")
    bad = Proxy("127.0.0.1", spec.port, username=spec.auth[0], password="wrong")
    res = Validator(fleet.judge.url, timeout=1).run([bad])[0]
    assert res.alive is False and "407" in res.error


def test_tarpit_never_stalls_a_check_past_its_timeout(fleet: FleetProcess) -> None:
    tarpits = [s for s in fleet.fleet.specs if s.kind == "tarpit"][:5]
    validator = Validator(
        fleet.judge.url, https_url=fleet.judge.https_url, timeout=0.4, tls_verify=False
    )
    validator.own_addresses = {"127.0.0.1"}

    async def timed() -> list[float]:
        async with validator._session() as session:

            async def one(spec: ProxySpec) -> float:
                t = time.perf_counter()
                res = await validator.check(session, spec.proxy())
                assert res.alive is False and res.error == "timeout"
                return time.perf_counter() - t

            return await asyncio.gather(*(one(s) for s in tarpits))

    durations = asyncio.run(timed())
    # the timeout, plus scheduling slack on a busy 2-core machine
    assert all(0.35 <= d < 0.4 + 0.5 for d in durations), durations


def test_target_check_needs_the_marker(fleet: FleetProcess) -> None:
    spec = next(s for s in fleet.fleet.specs if s.kind == "elite")
    targets = [
        TargetCheck("judge.test", fleet.judge.url + "site", marker='"remote_addr"'),
        TargetCheck("other.test", fleet.judge.url + "site", marker="not in the page"),
    ]
    res = Validator(fleet.judge.url, timeout=1, targets=targets).run([spec.proxy()])[0]
    assert res.targets == {"judge.test": True, "other.test": False}


def test_unsupported_scheme_is_not_checked(fleet: FleetProcess) -> None:
    # SOCKS4/5 are checked now (tests/proxies/test_socks.py); a scheme nobody speaks is not
    res = Validator(fleet.judge.url, timeout=1).run([Proxy("127.0.0.1", 1, scheme="ftp")])[0]
    assert res.alive is None and "ftp" in res.error
    dead = Validator(fleet.judge.url, timeout=1).run([Proxy("127.0.0.1", 1, scheme="socks5")])[0]
    assert dead.alive is False and "connect" in dead.error.lower()


def test_classify_reads_forwarded_and_ports() -> None:
    own = {"10.1.2.3"}
    assert (
        classify({"remote_addr": "9.9.9.9", "headers": {"Forwarded": 'for="10.1.2.3:5000"'}}, own)
        is Anonymity.TRANSPARENT
    )
    assert (
        classify({"remote_addr": "9.9.9.9", "headers": {"X-Forwarded-For": "10.1.2.30"}}, own)
        is Anonymity.ANONYMOUS
    )
    # the judge's own Host header is not a proxy header
    assert (
        classify({"remote_addr": "9.9.9.9", "headers": {"Host": "10.1.2.3"}}, own)
        is Anonymity.ELITE
    )
