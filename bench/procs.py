"""Reading other processes from /proc: a process tree, its CPU seconds and its resident memory.

Used to report what the server, PostgreSQL and the load generator each cost on the shared
cores, and the server's memory during a soak. Linux only; elsewhere the figures are left out.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (alive now), found by their parent ids: the `children`
    files are not readable for another user's processes everywhere (sandboxes)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds used so far by each of these processes and its waited-for
    children (PostgreSQL's backends end with their connections; the postmaster reaps them)."""
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = sum(int(f) for f in fields[11:15]) / _TICKS  # utime, stime, cutime, cstime
    return out


def cpu_used(root: int, before: dict[int, float]) -> float:
    """CPU seconds the tree under `root` used since `before` (`cpu_seconds` of its tree then):
    processes started since (a pool's new connections) count from zero, and those that ended
    are in their parent's children's time."""
    return sum(cpu_seconds(tree(root)).values()) - sum(before.values())


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 when it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def available() -> bool:
    """True where /proc can be read (Linux)."""
    return Path("/proc/self/stat").exists()
