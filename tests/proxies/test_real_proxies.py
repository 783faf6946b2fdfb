"""Real forward proxies (Debian's tinyproxy) classified by the validator, end to end."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from proxies.model import Anonymity, Proxy
from proxies.validator import Validator
from tests.net import free_port, wait_for_port
from tests.proxies.fleet import FleetProcess

TINYPROXY = shutil.which("tinyproxy") or (
    "/usr/bin/tinyproxy" if Path("/usr/bin/tinyproxy").exists() else None
)

CONFIGS = {
    # name: (extra directives, the anonymity the validator must find)
    "elite": ("DisableViaHeader Yes\n", Anonymity.ELITE),
    "anonymous": ("", Anonymity.ANONYMOUS),  # tinyproxy adds Via by default
    "transparent": ("XTinyproxy Yes\n", Anonymity.TRANSPARENT),  # X-Tinyproxy: <client address>
}


@pytest.fixture(scope="module")
def tinyproxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Proxy]]:
    if TINYPROXY is None:
        pytest.skip("tinyproxy is not installed (apt-get install tinyproxy, or make system-deps)")
    procs, proxies = [], {}
    try:
        for i, (name, (extra, _)) in enumerate(CONFIGS.items()):
            d = tmp_path_factory.mktemp(f"tinyproxy-{name}")
            port = free_port()
            conf = d / "tinyproxy.conf"
            conf.write_text(
                f"Port {port}\nListen 127.0.0.1\nBind 127.0.1.{10 + i}\nTimeout 10\nMaxClients 64\n"
                f'LogLevel Critical\nLogFile "{d / "log"}"\nAllow 127.0.0.1\n{extra}'
            )
            procs.append(
                subprocess.Popen(
                    [TINYPROXY, "-d", "-c", str(conf)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for_port(port)
            proxies[name] = Proxy("127.0.0.1", port, source=f"tinyproxy-{name}")
        yield proxies
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def test_tinyproxy_anonymity_levels(tinyproxies: dict[str, Proxy], fleet: FleetProcess) -> None:
    validator = Validator(
        fleet.judge.url, https_url=fleet.judge.https_url, timeout=3, tls_verify=False
    )
    results = validator.run(list(tinyproxies.values()))
    for name, res in zip(tinyproxies, results, strict=True):
        assert res.alive, (name, res.error)
        assert res.anonymity is CONFIGS[name][1], (name, res.anonymity)
        assert res.https is True, name
        assert res.seen_address and res.seen_address.startswith("127.0.1.")
