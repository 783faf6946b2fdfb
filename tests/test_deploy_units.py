"""The systemd units and Scrapyd configuration in deploy/ (docs/deployment.md): each unit parses,
runs as the crawler user with an environment file and the venv's python under the sandbox the
docs promise, starts a `scrapy` command the project has, and may write where it writes; the
Scrapyd node binds loopback by default; the docs name every file. With systemd-analyze on the
machine, `systemd-analyze verify` checks the units as systemd reads them."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import scrapyd as scrapyd_package

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
VENV_PYTHON = "/opt/crawler/.venv/bin/python"


def read_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return parser


def exec_start(unit: configparser.ConfigParser) -> list[str]:
    return shlex.split(unit["Service"]["ExecStart"])


def read_unit(path: Path) -> tuple[configparser.ConfigParser, dict[str, str]]:
    """The unit, and its ``Environment=`` defaults (configparser keeps only the last of a
    repeated key, so these are read from the file's lines)."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for word in shlex.split(line.removeprefix("Environment=")):
                name, _, value = word.partition("=")
                env[name] = value
    return read_ini(path), env


def scrapy_command(argv: list[str]) -> str | None:
    """The ``scrapy`` subcommand of ``python -m scrapy[.cmdline] SUB ...``, else None."""
    if len(argv) >= 4 and argv[1] == "-m" and argv[2] in ("scrapy", "scrapy.cmdline"):
        return argv[3]
    return None


def under(path: str, roots: list[str]) -> bool:
    return any(PurePosixPath(path).is_relative_to(PurePosixPath(root)) for root in roots)


def test_there_are_units() -> None:
    names = {p.name for p in UNITS}
    assert {"crawler-service.service", "crawler-scheduler.service", "scrapyd.service"} <= names


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit(path: Path) -> None:
    unit, env = read_unit(path)
    assert {"Unit", "Service", "Install"} <= set(unit.sections()), path.name
    service = unit["Service"]
    argv = exec_start(unit)
    assert PurePosixPath(argv[0]).is_absolute(), argv[0]
    assert argv[0] == VENV_PYTHON, "the venv's python"
    assert service.get("User") == "crawler"
    assert service.get("EnvironmentFile", "").startswith("/etc/crawler/")
    assert service.get("WorkingDirectory", "").startswith("/")
    assert service.get("Restart") == "on-failure"
    assert service.get("NoNewPrivileges") == "yes"
    assert service.get("ProtectSystem") == "strict"
    assert service.get("ProtectHome") == "yes"
    assert service.get("PrivateTmp") == "yes"
    assert unit["Install"].get("WantedBy") == "multi-user.target"
    writable = service.get("ReadWritePaths", "").split()
    assert writable, "ProtectSystem=strict needs the state directories writable"
    for name in ("CRAWLER_DATA_DIR", "CRAWLER_STATE_DIR", "HOME"):
        assert under(env[name], writable), f"{name}={env[name]} is read-only under the sandbox"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_scrapy_commands_exist(path: Path) -> None:
    argv = exec_start(read_ini(path))
    command = scrapy_command(argv)
    if command is None:
        assert argv[1:3] == ["-m", "scrapyd"], f"{path.name}: neither scrapy nor scrapyd"
        return
    assert (ROOT / "crawler" / "commands" / f"{command}.py").is_file(), command


def test_the_services_run_serve_and_schedule() -> None:
    commands = {p.name: scrapy_command(exec_start(read_ini(p))) for p in UNITS}
    assert commands["crawler-service.service"] == "serve"
    assert commands["crawler-scheduler.service"] == "schedule"
    serve = exec_start(read_ini(DEPLOY / "crawler-service.service"))
    assert "--host" in serve and "--port" in serve


def test_scrapyd_conf() -> None:
    conf = read_ini(DEPLOY / "scrapyd.conf")
    scrapyd = conf["scrapyd"]
    assert scrapyd.get("bind_address") == "127.0.0.1"
    assert float(scrapyd.get("poll_interval")) > 0
    assert int(scrapyd.get("max_proc")) > 0
    assert int(scrapyd.get("jobs_to_keep")) > 0
    # Scrapyd's own option names (its default_scrapyd.conf), so that none is silently ignored
    default = Path(scrapyd_package.__file__).parent / "default_scrapyd.conf"
    known = set(read_ini(default)["scrapyd"])
    assert set(scrapyd) <= known, set(scrapyd) - known


def test_scrapyd_unit_writes_where_scrapyd_does() -> None:
    unit, _ = read_unit(DEPLOY / "scrapyd.service")
    writable = unit["Service"]["ReadWritePaths"].split()
    scrapyd = read_ini(DEPLOY / "scrapyd.conf")["scrapyd"]
    for option in ("logs_dir", "eggs_dir", "dbs_dir"):
        assert scrapyd[option].startswith("/var/lib/crawler-node/"), option
        assert under(scrapyd[option], writable), option
    # Scrapyd reads scrapyd.conf from its working directory, where the docs install it
    assert unit["Service"]["WorkingDirectory"] == "/var/lib/crawler-node"


def test_docs_name_every_file() -> None:
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    for path in sorted(DEPLOY.iterdir()):
        assert f"deploy/{path.name}" in docs, path.name
    for path in UNITS:
        env_file = read_ini(path)["Service"]["EnvironmentFile"]
        assert env_file in docs, env_file


def test_readme_links_the_docs() -> None:
    assert "(docs/deployment.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian's systemd package brings it)",
)
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """Each unit as systemd reads it. verify checks that ExecStart's program exists, so the
    venv's path of a deployment is replaced with this interpreter's."""
    copies = []
    for path in UNITS:
        copy = tmp_path / path.name
        copy.write_text(path.read_text(encoding="utf-8").replace(VENV_PYTHON, sys.executable))
        copies.append(str(copy))
    done = subprocess.run(
        ["systemd-analyze", "verify", *copies],
        capture_output=True,
        text=True,
        timeout=120,
    )
    ours = [line for line in done.stderr.splitlines() if any(p.name in line for p in UNITS)]
    assert done.returncode == 0 and not ours, done.stderr
