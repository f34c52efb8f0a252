"""Group commit for single events: concurrent `POST /v1/events` of one process share a set.

The first event to arrive opens a group; the group closes when `window` seconds have passed
or `max_events` have joined, and runs through the same load/decide/save as a batch, in its own
task. Every request of the group is answered after the group's commit, never before. A caller
that goes away does not cancel its group: what was committed stays committed and a retry of
the event is answered as a replay. At most `max_groups` groups run at once; while they all
run, the next group keeps filling, so that load makes groups larger instead of queues longer.
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
        max_groups: int,
    ) -> None:
        self._run = run
        self._window = window
        self._max_events = max(1, max_events)
        self._max_groups = max(1, max_groups)
        self._pending: list[tuple[Item, asyncio.Future[Answer]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._due = False
        self._running: set[asyncio.Task[None]] = set()
        self._closed = False

    async def submit(self, item: Item) -> Answer:
        """Join the open group (opening one if none is) and wait for its commit."""
        if self._closed:
            raise RuntimeError("the event intake is shutting down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self._max_events:
            self._close_group()
        elif self._timer is None and not self._due:
            self._timer = loop.call_later(self._window, self._close_group)
        # shielded: a caller that goes away leaves its group (and its commit) alone
        return await asyncio.shield(future)

    def _close_group(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            self._due = False
            return
        if len(self._running) >= self._max_groups:
            self._due = True  # start as soon as a running group finishes
            return
        self._due = False
        group, self._pending = self._pending[: self._max_events], self._pending[self._max_events :]
        task = asyncio.get_running_loop().create_task(self._run_group(group))
        self._running.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending and (self._due or len(self._pending) >= self._max_events):
            self._close_group()

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
            if self._pending and len(self._running) < self._max_groups:
                self._close_group()
            if self._running:
                await asyncio.wait(list(self._running))
            else:
                await asyncio.sleep(0)

    def stats(self) -> dict[str, Any]:
        """Events waiting and groups running, for metrics."""
        return {"pending": len(self._pending), "running": len(self._running)}
