"""What a request must pass before a route sees it: the bearer token (always for writes, for
reads unless ``open_reads``; ``/metrics`` included) and the body size limit."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Header, HTTPException, Request

from services.http.problems import problem


def authorized(token: str, authorization: str | None) -> bool:
    """Whether an ``Authorization`` header carries *token* (the scheme is case-insensitive,
    RFC 7235 section 2.1: ``bearer x`` is ``Bearer x``)."""
    if authorization is None:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode("utf-8", "surrogateescape"), token.encode())


UNAUTHORIZED = "a bearer token is needed (Authorization: Bearer <AKSSIM_API_TOKEN>)"


def _check(request: Request, authorization: str | None) -> None:
    if not authorized(request.app.state.token, authorization):
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})


def writer(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Mutating calls: the bearer token, always."""
    _check(request, authorization)


def reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Reads: the bearer token unless ``open_reads``."""
    if not request.app.state.settings.open_reads:
        _check(request, authorization)


class ReadGate:
    """An ASGI app (``/metrics``) behind the read rule: the bearer token unless *open_reads*."""

    def __init__(self, app: Any, token: str, open_reads: bool) -> None:
        self.app, self.token, self.open_reads = app, token, open_reads

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.open_reads:
            header = dict(scope.get("headers") or []).get(b"authorization")
            if not authorized(self.token, None if header is None else header.decode("latin-1")):
                response = problem(401, UNAUTHORIZED, scope.get("path"),
                                   headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over *limit* bytes with 413: by ``Content-Length`` at once, and
    by counting as it arrives when there is none (``Transfer-Encoding: chunked``)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode("latin-1").strip()
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, send)
            return
        received, started = 0, False

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge(self.limit)
            return message

        async def watched(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Any, send: Any) -> None:
        response = problem(413, f"request body over {self.limit} bytes", scope.get("path"),
                           headers={"Connection": "close"})
        await response({"type": "http"}, _nothing, send)


class _TooLarge(HTTPException):
    """A chunked request body went over the limit: 413 wherever it is noticed (FastAPI lets
    an HTTPException through while it reads a body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes", headers={"Connection": "close"})


async def _nothing() -> Any:
    return {"type": "http.disconnect"}
