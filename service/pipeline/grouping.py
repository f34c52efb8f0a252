"""Group commit for single events: concurrent `POST /v1/events` of one process share a set.

An event that arrives while fewer than `leaders` groups are running starts a group of its
own at once (alone on the wire, nothing waits). An event that arrives while they all run waits
for the next group, which starts as soon as one of them finishes, or after `window` seconds,
or when `max_events` have joined, whichever comes first: so load makes groups larger instead
of queues longer, and no event waits more than the window for its group to start. Each group
runs through the same load/decide/save as a batch, in its own task, and every request of the
group is answered after the group's commit, never before. A caller that goes away does not
cancel its group: what was committed stays committed and a retry is answered as a replay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

__all__ = ["EventGroups"]

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class EventGroups(Generic[Item, Answer]):
    """Coalesces concurrent submissions into groups run by `run` (one answer per item)."""

    def __init__(
        self,
        run: Callable[[Sequence[Item]], Awaitable[list[Answer]]],
        *,
        window: float,
        max_events: int,
        leaders: int = 2,
        max_groups: int = 8,
    ) -> None:
        self._run = run
        self._window = window
        self._max_events = max(1, max_events)
        self._leaders = max(1, leaders)
        self._max_groups = max(self._leaders, max_groups)
        self._pending: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, item: Item) -> Answer:
        """Join the next group (starting it now if few are running) and wait for its commit."""
        if self._closed:
            raise RuntimeError("the event intake is shutting down")
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_events or len(self._running) < self._leaders:
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._waited)
        # shielded: a caller that goes away leaves its group (and its commit) alone
        return await asyncio.shield(future)

    def _waited(self) -> None:
        self._timer = None
        if len(self._running) < self._max_groups:
            self._start()
        # else: every group slot is busy; the next finishing group starts the waiting ones

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        group, self._pending = self._pending[: self._max_events], self._pending[self._max_events :]
        task = asyncio.get_running_loop().create_task(self._run_group(group))
        self._running.add(task)
        task.add_done_callback(self._finished)
        if self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._waited)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending:
            self._start()

    async def _run_group(self, group: list[tuple[Item, asyncio.Future[Answer]]]) -> None:
        try:
            answers = await self._run([item for item, _ in group])
        except BaseException as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), answer in zip(group, answers, strict=True):
            if not future.done():
                future.set_result(answer)

    async def close(self) -> None:
        """Run what is waiting, wait for every running group, and take no more."""
        self._closed = True
        while self._pending or self._running:
            if self._pending:
                self._start()
            if self._running:
                await asyncio.wait(list(self._running))

    def stats(self) -> dict[str, Any]:
        """Events waiting and groups running, for metrics."""
        return {"pending": len(self._pending), "running": len(self._running)}
