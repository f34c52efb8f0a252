"""Whom the embedded PostgreSQL runs as, without touching anything outside its data folder.

PostgreSQL refuses to run as root. Run by a normal user, the server runs as that user. Run by
root, it runs as the owner of the data folder, so the operator says who by `chown`, and a later
run as that user finds every file its own. A data folder that belongs to root, or that its
owner cannot reach, is refused with a message saying what to do: loyalty never creates users,
changes owners or opens up the folders above the data folder.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from service.store.embedded.errors import EmbeddedPostgresError

__all__ = ["ClusterUser", "cluster_user", "no_link", "open_inside", "scratch_folder"]

SCRATCH_USER = "nobody"
"""Who runs a scratch server (tests, benchmarks) started by root."""


@dataclass(frozen=True)
class ClusterUser:
    """The user the server's programs run as: `uid` None means this process's own user."""

    name: str
    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] = ()

    def give(self, path: Path) -> None:
        """Make a file this (root) process created in the data folder the cluster user's (a
        symbolic link itself, never what it points to)."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)

    def give_fd(self, fd: int) -> None:
        """The same, for a file opened with `open_inside`."""
        if self.uid is not None and self.gid is not None:
            os.fchown(fd, self.uid, self.gid)


def _linked(path: Path) -> EmbeddedPostgresError:
    return EmbeddedPostgresError(
        f"{path} is a symbolic link: loyalty follows no link in its data folder (run by root, "
        "it would write where the folder's owner points it); remove the link"
    )


def open_inside(path: Path, flags: int, mode: int = 0o600) -> int:
    """Open a file of the data folder, refusing a symbolic link in its place: the folder
    belongs to the cluster user, and root must not be pointed at any other file by it."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _linked(path) from None
        raise


def no_link(path: Path) -> Path:
    """`path` (a folder of the data folder), refused if it is a symbolic link."""
    if path.is_symlink():
        raise _linked(path)
    return path


def cluster_user(root: Path) -> ClusterUser:
    """The user to run the cluster in `root` as; refuses what only a change outside could fix."""
    if os.geteuid() != 0:
        return ClusterUser(str(os.geteuid()))  # this process's user: nothing to look up
    advice = "or run loyalty as that user, or set DATABASE_URL to an existing server"
    if not root.is_dir():
        raise EmbeddedPostgresError(
            f"PostgreSQL does not run as root: create the data folder for an unprivileged "
            f"user (mkdir -p {root} && chown USER {root}) and it runs as that user, {advice}"
        )
    owner = root.stat().st_uid
    if owner == 0:
        raise EmbeddedPostgresError(
            f"PostgreSQL does not run as root and the data folder {root} belongs to root: "
            f"give it to an unprivileged user (chown -R USER {root}) and it runs as that user, "
            f"{advice}"
        )
    try:
        entry = pwd.getpwuid(owner)
    except KeyError:
        raise EmbeddedPostgresError(
            f"the data folder {root} belongs to uid {owner}, which has no user entry"
        ) from None
    user = ClusterUser(
        entry.pw_name, owner, entry.pw_gid, tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    )
    _check_reachable(root, user)
    pgdata = root / "pgdata"
    if pgdata.exists() and pgdata.stat().st_uid != owner:
        raise EmbeddedPostgresError(
            f"{pgdata} does not belong to {user.name}, the owner of {root}: "
            f"chown -R {user.name} {root}"
        )
    return user


def _check_reachable(root: Path, user: ClusterUser) -> None:
    entered = subprocess.run(  # noqa: S603 - fixed program, the path as an argument
        ["/bin/sh", "-c", 'cd -- "$1"', "sh", str(root)],
        user=user.uid,
        group=user.gid,
        extra_groups=list(user.groups),
        capture_output=True,
        check=False,
    )
    if entered.returncode != 0:
        path = [*reversed(root.parents), root]
        closed = next((p for p in path if not _enterable(p, user)), None)
        where = f": {closed} does not let it through" if closed else ""
        raise EmbeddedPostgresError(
            f"{user.name}, the owner of the data folder {root}, cannot reach it{where}; "
            f"move the data folder (LOYALTY_DATA_DIR) where {user.name} can reach it"
        )


def _enterable(folder: Path, user: ClusterUser) -> bool:
    info = folder.stat()
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in user.groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def scratch_folder(prefix: str) -> Path:
    """A new temporary data folder (tests, benchmarks); run by root, it is given to `nobody`
    so that the server can run at all."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SCRATCH_USER)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    return folder
