"""Is the server of this data folder running, and on which port? Read from `postmaster.pid`.

A `postmaster.pid` outlives a crash (kill -9, power loss), and its PID may since have been
given to another process. So a PID counts only if that process is a postgres started on this
very data folder (its command line, from /proc, names it after `-D`) and its recorded port
accepts connections. A stale file is removed before a start: PostgreSQL itself would refuse to
start while the PID it names is alive, whatever that process is.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
from pathlib import Path

__all__ = ["accepts", "alive", "clear_stale", "running_port"]


def running_port(pgdata: Path) -> int | None:
    """The port of the postgres running on `pgdata`, or None."""
    recorded = _read(pgdata)
    if recorded is None or not _is_postmaster_of(recorded[0], pgdata):
        return None
    return recorded[1] if accepts(recorded[1]) else None


def clear_stale(pgdata: Path) -> None:
    """Remove a `postmaster.pid` whose PID is not a postgres of `pgdata` (call under the lock)."""
    recorded = _read(pgdata)
    if recorded is not None and not _is_postmaster_of(recorded[0], pgdata):
        with contextlib.suppress(FileNotFoundError):
            (pgdata / "postmaster.pid").unlink()


def accepts(port: int) -> bool:
    """Something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read(pgdata: Path) -> tuple[int, int] | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 4 or not lines[0].strip().isdigit() or not lines[3].strip().isdigit():
        return (0, 0) if lines else None  # half-written or garbage: stale
    return int(lines[0]), int(lines[3])


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    if pid <= 0 or not alive(pid):
        return False
    proc = Path("/proc")
    if not (proc / "self").exists():  # no /proc (macOS): the port check alone decides
        return True
    try:
        args = (proc / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False  # gone since
    if not args or not os.path.basename(args[0]).startswith(b"postgres"):
        return False
    for flag, value in itertools.pairwise(args):
        if flag == b"-D" and os.path.realpath(value) == os.path.realpath(pgdata).encode():
            return True
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
