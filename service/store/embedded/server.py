"""The embedded server's life: made once, started where it last listened, shared, stopped last.

Each process that uses the server registers itself in `holders/`; the last one to leave stops
it, so a short CLI command never pulls the database from under a running `serve`. Whoever needs
the server reads its port from `postmaster.pid` (see `pidfile`), so `loyalty keys create` finds
the server `loyalty serve` started; a stopped server is started again on the port kept in its
configuration (see `conf`), so a running `serve` reconnects to it there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from service.store.embedded import conf, pidfile, secret
from service.store.embedded.errors import EmbeddedPostgresError
from service.store.embedded.owner import ClusterUser, cluster_user, no_link, open_inside
from service.store.embedded.programs import run

__all__ = ["EmbeddedPostgres"]


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server kept in `root/pgdata`; `acquire()` starts it if needed."""

    root: Path
    durable: bool = True
    binaries: str | None = None
    port: int | None = None
    """Listen on this port rather than the one kept in the cluster's configuration."""
    _user: ClusterUser | None = field(default=None, repr=False)
    _registered: bool = False

    def __post_init__(self) -> None:
        self.root = Path(os.path.abspath(self.root))

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    @property
    def _holders(self) -> Path:
        return self.root / "holders"

    def acquire(self, database: str = "loyalty") -> str:
        """Start the server if needed, register this process as a user, return a URL."""
        user = self._cluster_user()
        with self._lock():
            password = self._prepare()
            port = pidfile.running_port(self.pgdata)
            if port is None:
                port = self._start()
            self._register(user)
        self._create_database(port, password, database)
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/{database}"

    def release(self) -> None:
        """Unregister this process; stop the server when no other live process uses it."""
        if not self._registered:
            return
        with self._lock():
            with contextlib.suppress(FileNotFoundError):
                (self._holders / str(os.getpid())).unlink()
            self._registered = False
            if not self._live_holders() and pidfile.running_port(self.pgdata) is not None:
                self._pg_ctl(["-m", "fast", "-w", "stop"], timeout=60)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server now, whoever uses it (`immediate` is a crash-like stop)."""
        with self._lock():
            if pidfile.running_port(self.pgdata) is not None:
                self._pg_ctl(["-m", mode, "-w", "stop"], timeout=60)

    def start(self) -> int:
        """Start the (initialised) server if it is not running; returns its port."""
        with self._lock():
            port = pidfile.running_port(self.pgdata)
            return port if port is not None else self._start()

    # -- internals ---------------------------------------------------------------------------

    def _cluster_user(self) -> ClusterUser:
        if self._user is None:
            if os.geteuid() != 0:  # as root, a missing folder is refused, not made for root
                self.root.mkdir(parents=True, exist_ok=True)
            self._user = cluster_user(self.root)
        return self._user

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        path = self.root / ".lock"
        fd = open_inside(path, os.O_RDWR | os.O_CREAT)
        try:
            self._cluster_user().give_fd(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _register(self, user: ClusterUser) -> None:
        if not no_link(self._holders).exists():
            self._holders.mkdir()
            user.give(self._holders)
        fd = open_inside(self._holders / str(os.getpid()), os.O_WRONLY | os.O_CREAT)
        try:
            user.give_fd(fd)
        finally:
            os.close(fd)
        self._registered = True

    def _live_holders(self) -> list[int]:
        live = []
        for entry in self._holders.glob("*") if self._holders.exists() else []:
            pid = int(entry.name) if entry.name.isdigit() else -1
            if pid > 0 and pidfile.alive(pid):
                live.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return live

    def _prepare(self) -> str:
        """Make the cluster if there is none, secure one made before passwords; the password."""
        if not (self.pgdata / "PG_VERSION").exists():
            return self._initdb()
        password = secret.read_password(self.root)
        return password if password is not None else self._secure()

    def _initdb(self) -> str:
        user = self._cluster_user()
        if self.pgdata.exists():  # a half-made cluster
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        user.give(self.pgdata)
        password = secret.new_password()
        pwfile = secret.keep_password(self.root, user, password)
        self._run(
            "initdb",
            [
                *("-D", str(self.pgdata), "-U", "postgres"),
                *("--auth=scram-sha-256", f"--pwfile={pwfile}"),
                *("--encoding=UTF8", "--locale=C", "--no-instructions"),
            ],
            timeout=120,
        )
        secret.write_hba(self.pgdata, user)
        conf.write_settings(self.pgdata, self.durable)
        conf.record_port(self.pgdata, self.port or conf.free_port())
        return password

    def _secure(self) -> str:
        """A cluster made before passwords trusts every local login: give its superuser a
        password in single-user mode (no listening meanwhile), then demand it."""
        if pidfile.running_port(self.pgdata) is not None:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL in {self.pgdata} was started by an older loyalty and "
                "lets any local user in: stop the loyalty processes using it, then start "
                "again (the next start gives it a password)"
            )
        pidfile.clear_stale(self.pgdata)
        password = secret.new_password()
        self._run(
            "postgres",
            [
                *("--single", "-D", str(self.pgdata)),
                *("-c", "password_encryption=scram-sha-256"),
                "postgres",
            ],
            timeout=120,
            stdin=secret.set_password_sql(password),
        )
        secret.write_hba(self.pgdata, self._cluster_user())
        secret.keep_password(self.root, self._cluster_user(), password)
        return password

    def _start(self) -> int:
        user = self._cluster_user()
        pidfile.clear_stale(self.pgdata)
        port = self.port or conf.recorded_port(self.pgdata)
        if port is None:  # a cluster made before ports were kept
            port = conf.free_port()
            conf.record_port(self.pgdata, port)
        if pidfile.accepts(port):
            raise EmbeddedPostgresError(
                f"port {port}, kept for the embedded PostgreSQL in {self.pgdata}/"
                "postgresql.auto.conf, is taken by another program: stop it, or change the "
                "port line there"
            )
        socket_dir = no_link(self.root / "socket")
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        socket_dir.chmod(0o700)
        user.give(socket_dir)
        log = self.root / "postgres.log"
        fd = open_inside(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:  # a log an older loyalty left readable to all is closed too
            os.fchmod(fd, 0o600)
            user.give_fd(fd)
        finally:
            os.close(fd)
        self._pg_ctl(
            ["-w", "-t", "60", "-l", str(log), "-o", f"-p {port} -k {socket_dir}", "start"],
            timeout=90,
        )
        for _ in range(100):
            if pidfile.accepts(port):
                return port
            time.sleep(0.05)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections; see {log}")

    def _create_database(self, port: int, password: str, database: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", database):
            raise EmbeddedPostgresError(f"unusable database name {database!r}")
        query = f"SELECT 1 FROM pg_database WHERE datname = '{database}'"  # noqa: S608 - checked
        exists = self._psql(port, password, query)
        if exists.strip() != "1":
            with contextlib.suppress(EmbeddedPostgresError):  # a concurrent creator won
                self._psql(port, password, f'CREATE DATABASE "{database}"')

    def _psql(self, port: int, password: str, sql: str) -> str:
        args = ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres"]
        return run(
            "psql",
            [*args, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            binaries=self.binaries,
            user=None,  # a client: runs as this process, proves the password
            timeout=60,
            env={"PGPASSWORD": password},
        )

    def _pg_ctl(self, args: list[str], timeout: float) -> str:
        return self._run("pg_ctl", ["-D", str(self.pgdata), *args], timeout=timeout)

    def _run(self, program: str, args: list[str], timeout: float, stdin: str | None = None) -> str:
        return run(
            program,
            args,
            binaries=self.binaries,
            user=self._cluster_user(),
            timeout=timeout,
            stdin=stdin,
        )
