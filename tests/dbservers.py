"""Throwaway PostgreSQL and MariaDB servers (Debian's) for the tests: each in a temporary
directory, on a free loopback port, with a password user; stopped and deleted at the end.

PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` user the
Debian package creates, and its commands run through ``runuser``. Neither server listens on a
Unix socket anyone else uses (each has its own, in its directory), and neither is the
packages' system service (``.ci/system-deps`` stops those).

Servers start once per test process (session fixtures ``postgres_server`` and
``mariadb_server`` in tests/conftest.py); a test takes a database of its own with
:meth:`PostgresServer.new_database` / :meth:`MariaDBServer.new_database`.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.net import free_port, wait_for_port

USER, PASSWORD = "crawler", "test-secret-pw"


def _postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


PG_BIN = _postgres_bin()
PG_MISSING = "PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)"
MARIADBD = shutil.which("mariadbd") or (
    "/usr/sbin/mariadbd" if Path("/usr/sbin/mariadbd").exists() else None
)
MARIADB_MISSING = "MariaDB is not installed (apt-get install mariadb-server; .ci/run does it)"


def _as_owner(cmd: list[str]) -> list[str]:
    """``cmd`` run as ``postgres`` when we are root (PostgreSQL refuses root)."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class PostgresServer:
    """``postgres`` on 127.0.0.1:``port``, user :data:`USER` with :data:`PASSWORD` (scram)."""

    def __init__(self) -> None:
        # Not under pytest's tmp_path: that is root's 0700 tree, which postgres cannot enter.
        self.workdir = Path(tempfile.mkdtemp(prefix="crawler-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> PostgresServer:
        assert PG_BIN is not None, PG_MISSING
        pwfile = self.workdir / "pw"
        pwfile.write_text(PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        init = [
            str(PG_BIN / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8",
            "--locale=C.UTF-8",
        ]  # fmt: skip
        subprocess.run(_as_owner(init), check=True, capture_output=True, timeout=120)
        cmd = [
            str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.workdir}",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200", "-c", "shared_buffers=128MB",
        ]  # fmt: skip
        log = (self.workdir / "server.log").open("ab")
        self.proc = subprocess.Popen(_as_owner(cmd), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout=60, process=self.proc)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"postgres did not start: see {self.workdir}/server.log") from None
        return self

    def uri(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URI."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        for attempt in range(100):  # the port opens a moment before the server takes logins
            try:
                conn = psycopg.connect(self.uri(), autocommit=True)
                break
            except psycopg.OperationalError as exc:
                if attempt == 99 or "starting up" not in str(exc):
                    raise
                time.sleep(0.1)
        with conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)

    def stop(self) -> None:
        # A fast shutdown (SIGINT: clients disconnected), sent to postgres itself: runuser
        # forwards SIGTERM only, and kills it 2 s later (every test process paid the 2 s).
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGINT)
            if self.proc is not None:
                self.proc.wait(timeout=15)
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            pass
        _stop(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


class MariaDBServer:
    """``mariadbd`` on 127.0.0.1:``port``, user :data:`USER` with :data:`PASSWORD`."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="crawler-mariadb-"))
        self.data = self.workdir / "data"
        self.socket = self.workdir / "mariadb.sock"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> MariaDBServer:
        assert MARIADBD is not None, MARIADB_MISSING
        user = ["--user=root"] if os.geteuid() == 0 else []
        install = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
        subprocess.run(
            [install, "--no-defaults", f"--datadir={self.data}", "--skip-test-db",
             "--auth-root-authentication-method=socket", *user],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        cmd = [
            MARIADBD, "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
            "--bind-address=127.0.0.1", f"--socket={self.socket}", "--skip-name-resolve",
            "--skip-log-bin", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=0", f"--pid-file={self.workdir / 'pid'}",
            f"--log-error={self.workdir / 'server.log'}", *user,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout=60, process=self.proc)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mariadbd did not start: see {self.workdir}/server.log") from None
        import pymysql

        root = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        with root.cursor() as cur:
            cur.execute(f"CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL ON *.* TO '{USER}'@'127.0.0.1'")
        root.close()
        return self

    def uri(self, database: str) -> str:
        return f"mysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URI."""
        import pymysql

        name = "t_" + uuid.uuid4().hex[:12]
        conn = pymysql.connect(
            host="127.0.0.1", port=self.port, user=USER, password=PASSWORD, autocommit=True
        )
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        conn.close()
        return self.uri(name)

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.workdir, ignore_errors=True)
