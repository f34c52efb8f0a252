"""Event intake routes for checkouts and apps' servers (scope `events:write`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from service.api.requests import (
    created_or_replayed,
    event_groups_of,
    intake_options_of,
    runtime_of,
)
from service.errors import DomainError
from service.http.access import api_key
from service.http.problems import status_of
from service.pipeline import intake
from service.pipeline.intake import EventIn, EventResult

__all__ = ["ROUTES"]

BATCH_LIMIT = 1000


class EventBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Up to 1,000 events, decided in order as one set (one member's events see each other)."""

    events: Annotated[list[EventIn], msgspec.Meta(min_length=1, max_length=BATCH_LIMIT)]


class BatchItem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One event's outcome: 201 processed, 200 replay, the 4xx it was refused with, or 500
    `event_not_booked` when it failed for a reason of the service's own (nothing of it was
    booked, the others were not held up; it may be sent again)."""

    index: int
    event_id: str
    status: int
    result: EventResult | None = None
    detail: str | None = None
    field: str | None = None
    code: str | None = None


class BatchResult(msgspec.Struct, kw_only=True):
    """A result per event, in the order they were sent."""

    results: list[BatchItem]
    processed: int
    replayed: int
    refused: int


@post(
    "/v1/events",
    operation_id="postEvent",
    opt=api_key("events:write"),
    tags=["events"],
    summary="Post one event (purchase, refund, review, referral, signup, checkin, custom)",
    status_code=201,
    responses={
        200: ResponseSpec(
            data_container=EventResult,
            generate_examples=False,
            description="A replay: this event was already processed; the first answer, unchanged",
        )
    },
)
async def post_event(
    request: Request[Any, Any, Any], data: JSONBody[EventIn]
) -> Response[EventResult]:
    """201 with what the event did; the same id and body again: 200 with the first answer
    (`replay: true`); the same id with another body: 409."""
    result = await intake.ingest(
        runtime_of(request),
        intake_options_of(request),
        data,
        groups=event_groups_of(request),
    )
    return created_or_replayed(result)


@post(
    "/v1/events/batch",
    operation_id="postEventBatch",
    opt=api_key("events:write"),
    tags=["events"],
    summary="Post up to 1,000 events; a result per event",
    status_code=200,
)
async def post_batch(request: Request[Any, Any, Any], data: JSONBody[EventBatch]) -> BatchResult:
    """Each event is processed (or refused) as if posted alone, in order: a member's second
    event sees the first's result."""
    outcomes = await intake.ingest_batch(
        runtime_of(request), intake_options_of(request), data.events
    )
    items = [_item(index, data.events[index], outcome) for index, outcome in enumerate(outcomes)]
    return BatchResult(
        results=items,
        processed=sum(1 for i in items if i.status == 201),
        replayed=sum(1 for i in items if i.status == 200),
        refused=sum(1 for i in items if i.status >= 400),
    )


def _item(index: int, event_in: EventIn, outcome: EventResult | DomainError) -> BatchItem:
    if isinstance(outcome, DomainError):
        return BatchItem(
            index=index,
            event_id=event_in.id,
            status=status_of(outcome),
            detail=outcome.detail,
            field=outcome.field,
            code=outcome.code,
        )
    return BatchItem(
        index=index,
        event_id=event_in.id,
        status=200 if outcome.replay else 201,
        result=outcome,
    )


ROUTES = [post_event, post_batch]
