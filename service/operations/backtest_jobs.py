"""Backtests started over HTTP: a job per request, run beside the server, polled for its
progress and, once done, its report.

A job runs in a thread of its own (with its own event loop and a small pool of its own), so
the replay's pure Python does not run on the server's event loop. Jobs are kept in the memory
of the replica that started them (the last `KEPT` of them): poll the replica that answered the
start (its `Location`); a restart forgets them, and a backtest writes nothing, so starting it
again loses nothing.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Annotated, Literal

import msgspec

from service.active_ruleset import NoActiveRuleset
from service.errors import InvalidInput, NotFound
from service.operations.backtest import BacktestReport, backtest_at
from service.operations.rules import RuleFiles, load_draft
from service.runtime import Runtime

__all__ = ["BacktestJob", "BacktestRequest", "job", "start"]

KEPT = 20
"""Jobs a replica remembers (the oldest finished ones go first)."""


class BacktestRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A draft (every file of the rules folder) and the period to replay it over."""

    files: RuleFiles
    since: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """First moment of the period (default: 30 days before `until`)."""
    until: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """End of the period, excluded (default: now)."""
    members: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    """Only the first N members (a quick look)."""


class Progress(msgspec.Struct, kw_only=True):
    events_done: int = 0
    events_total: int = 0
    events_per_second: float = 0.0
    seconds_left: float | None = None


class BacktestJob(msgspec.Struct, kw_only=True):
    """A backtest: `running`, then `done` with its report (or `failed` with why)."""

    id: str
    status: Literal["running", "done", "failed"]
    draft_version: str
    since: datetime
    until: datetime
    started_at: datetime
    progress: Progress
    report: BacktestReport | None = None
    error: str | None = None


_JOBS: OrderedDict[str, BacktestJob] = OrderedDict()
_LOCK = threading.Lock()


async def start(runtime: Runtime, request: BacktestRequest, *, database_url: str) -> BacktestJob:
    """Check the draft (refused as a publication would be), then start the job (on its own
    connections to `database_url`)."""
    draft = await load_draft(dict(request.files), _active_version(runtime))
    now = runtime.clock.now()
    until = request.until or now
    since = request.since or until - timedelta(days=30)
    if since >= until:
        raise InvalidInput("since must be before until", field="since")
    job = BacktestJob(
        id=f"bt-{uuid.uuid4().hex[:16]}",
        status="running",
        draft_version=draft.version,
        since=since,
        until=until,
        started_at=now,
        progress=Progress(),
    )
    with _LOCK:
        _JOBS[job.id] = job
        while len(_JOBS) > KEPT:
            oldest = next((k for k, j in _JOBS.items() if j.status != "running"), None)
            if oldest is None:
                break
            del _JOBS[oldest]
    threading.Thread(
        target=_run, args=(job, database_url, draft, request.members), name=job.id, daemon=True
    ).start()
    return job


def job(job_id: str) -> BacktestJob:
    """The job as it stands; NotFound naming `backtest_id`."""
    with _LOCK:
        found = _JOBS.get(job_id)
    if found is None:
        raise NotFound(
            f"no backtest '{job_id}' on this replica", field="backtest_id", code="unknown_backtest"
        )
    return found


def _run(job: BacktestJob, url: str, draft: object, members: int | None) -> None:
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        rate = done / elapsed
        job.progress = Progress(
            events_done=done,
            events_total=total,
            events_per_second=round(rate, 1),
            seconds_left=round((total - done) / rate, 1) if rate else None,
        )

    async def run() -> BacktestReport:
        return await backtest_at(
            url,
            draft,  # type: ignore[arg-type]
            since=job.since,
            until=job.until,
            members=members,
            on_progress=progress,
        )

    try:
        report = asyncio.run(run())
    except Exception as exc:  # the job says why; the server goes on
        job.error = f"{type(exc).__name__}: {exc}"
        job.status = "failed"
        return
    job.report = report
    progress(report.events, report.events)
    job.status = "done"


def _active_version(runtime: Runtime) -> str | None:
    try:
        return runtime.rules.current.version
    except NoActiveRuleset:  # none yet: the draft is checked all the same
        return None
