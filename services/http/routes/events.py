"""``GET /v1/runs/{run_id}/events``: a run's events as Server-Sent Events, resumable from
``Last-Event-ID``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from services.http.deps import API, AppSettings, Read, Runs
from services.http.problems import error_responses, problem_body
from services.live.requests import RunError


def _sse_event(seq: int, line: str) -> str:
    """One event of the stream: its seq, its reason as the SSE event type, the CloudEvent."""
    reason = line[line.find('"reason":"') + 10:].split('"', 1)[0]
    return f"id: {seq}\nevent: {reason}\ndata: {line}\n\n"


async def _sse(stream: AsyncIterator[list[tuple[int, str]]], run_id: str) -> AsyncIterator[bytes]:
    """The stream's chunks as SSE: what is there, in one write; a comment after silence; a
    failure as an ``error`` event; always an ``end`` event last."""
    try:
        async for chunk in stream:  # what is there, in one write; [] after silence
            if not chunk:
                yield b": keep-alive\n\n"
                continue
            yield "".join(_sse_event(seq, line) for seq, line in chunk).encode()
    except RunError as exc:
        error = problem_body(exc.status, str(exc), f"{API}/runs/{run_id}/events")
        yield f"event: error\ndata: {json.dumps(error)}\n\n".encode()
    yield b"event: end\ndata: {}\n\n"


router = APIRouter(prefix=API)


@router.get("/runs/{run_id}/events", dependencies=Read, response_class=StreamingResponse,
            responses={200: {"description": "Server-Sent Events: id: seq, event: reason, data: a "
                                            "CloudEvent; event: error (a problem details "
                                            "object); event: end",
                             "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                       **error_responses(401, 404)})
async def events(run_id: str, manager: Runs, settings: AppSettings, from_seq: int = 1,
                 last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
    resume = last_event_id is not None and last_event_id.isdigit() and len(last_event_id) <= 18
    start = int(last_event_id) + 1 if resume else from_seq  # type: ignore[arg-type]
    manager.get(run_id)
    stream = manager.follow(run_id, start, idle=settings.sse_keepalive)
    return StreamingResponse(_sse(stream, run_id), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
