"""The embedded server's password: generated once, kept in the data folder with mode 0600.

Every login, over loopback TCP or the Unix socket, proves it by SCRAM-SHA-256; nothing is
trusted. Whoever can read the password file can read the data files too (both belong to the
cluster's user and are closed to everyone else), so the file gives nobody new access.
A cluster made before passwords (every local login trusted) is secured on its next start,
before it listens: its superuser gets a password in single-user mode, then `pg_hba.conf` is
rewritten.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from service.store.embedded.owner import ClusterUser, open_inside

__all__ = [
    "HBA",
    "PASSWORD_FILE",
    "keep_password",
    "new_password",
    "read_password",
    "set_password_sql",
    "write_hba",
]

PASSWORD_FILE = "postgres.password"  # noqa: S105 - a file name
"""In the data folder, beside `pgdata/`: the password of the superuser `postgres`."""

HBA = """\
# Written by loyalty: every login proves the password in the data folder's postgres.password.
# TYPE  DATABASE     USER  ADDRESS        METHOD
local   all          all                  scram-sha-256
host    all          all   127.0.0.1/32   scram-sha-256
local   replication  all                  scram-sha-256
host    replication  all   127.0.0.1/32   scram-sha-256
"""


def read_password(root: Path) -> str | None:
    """The password, or None for a cluster made before passwords; re-closes a file opened up."""
    path = root / PASSWORD_FILE
    try:
        fd = open_inside(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd) as handle:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
        password = handle.read().strip()
    return password or None


def new_password() -> str:
    """A new password: 256 bits, URL-safe (it goes into the database URL as is)."""
    return secrets.token_urlsafe(32)


def keep_password(root: Path, user: ClusterUser, password: str) -> Path:
    """Write the password file (mode 0600, the cluster user's); returns its path."""
    path = root / PASSWORD_FILE
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = open_inside(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w") as handle:
        user.give_fd(fd)
        handle.write(password + "\n")
    return path


def write_hba(pgdata: Path, user: ClusterUser) -> None:
    """Password logins only: written beside the old file and renamed over it, so a crash
    leaves the old or the new one, never half of either."""
    path = pgdata / "pg_hba.conf"
    draft = pgdata / "pg_hba.conf.new"
    with contextlib.suppress(FileNotFoundError):
        draft.unlink()
    fd = open_inside(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    with os.fdopen(fd, "w") as handle:
        user.give_fd(fd)
        handle.write(HBA)
    os.replace(draft, path)


def set_password_sql(password: str) -> str:
    """The statement single-user mode runs to give the superuser its (hashed) password."""
    return f"ALTER ROLE postgres PASSWORD '{password}';\n"
