"""Every error of the service as an RFC 9457 problem details object
(``application/problem+json``): the body, the response, a request's validation errors as
located issues, the error statuses each route documents, and the app's exception handlers."""

from __future__ import annotations

import dataclasses
import http
import json
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, StarletteHTTPException
from fastapi.responses import JSONResponse

from services.http.api_models import Problem
from services.live.requests import RunError
from sim import Issue


def issues_json(issues: list[Issue]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(i) | {"text": i.render()} for i in issues]


PROBLEM_JSON = "application/problem+json"
"""Every error of the service is an RFC 9457 problem details object of this media type."""
TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}
"""RFC 9110's names where Python before 3.13 still has RFC 7231's."""


def problem_body(status: int, detail: str, instance: str | None = None,
                 issues: list[Issue] | None = None, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem details object: ``type`` (``about:blank``: the status says it all),
    ``title`` (the status's phrase), ``status``, ``detail`` (what went wrong, for a person),
    ``instance`` (the request's path) and, when there are any, the extension member ``issues``
    (each located: file, line, column, field)."""
    title = TITLES.get(status, http.HTTPStatus(status).phrase)
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status,
                            "detail": detail}
    if instance is not None:
        body["instance"] = instance
    if issues:
        body["issues"] = issues_json(issues)
    return body | extra


def problem(status: int, detail: str, instance: str | None = None,
            issues: list[Issue] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    """:func:`problem_body` as a response of type ``application/problem+json``."""
    return JSONResponse(problem_body(status, detail, instance, issues, **extra), status,
                        headers=headers, media_type=PROBLEM_JSON)


def _shown(value: Any) -> str:
    """A value a client sent, as JSON would write it (NaN too), at most 60 characters."""
    if isinstance(value, float) and not math.isfinite(value):
        text = "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    elif isinstance(value, dict):
        text = "an object"
    elif isinstance(value, list):
        text = "a list"
    else:
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            text = type(value).__name__
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def request_issue(error: dict[str, Any]) -> Issue:
    """One of pydantic's errors about a request (its body, query or headers) as an :class:`Issue`:
    the field, what was expected and what was found; never the raw input (it may be NaN)."""
    loc = [str(p) for p in error.get("loc", ())]
    where, path = (loc[0], ".".join(loc[1:])) if loc else ("body", "")
    expected = str(error.get("msg", "invalid")).replace("Input should be ", "expected ", 1)
    ctx = error.get("ctx") or {}
    bound = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
             "less_than": "<"}.get(str(error.get("type")))
    if bound:
        expected = f"expected a number {bound} {_shown(next(iter(ctx.values()), '?'))}"
    elif error.get("type") == "string_too_long":
        expected = f"expected at most {ctx.get('max_length')} characters"
    if error.get("type") == "missing":
        message = "required"
    elif error.get("type") == "json_invalid":
        message = f"not JSON: {(error.get('ctx') or {}).get('error', 'invalid')}"
    else:
        message = f"{expected}, found {_shown(error.get('input'))}"
    return Issue(path, message, f"<request {where}>")


ERRORS = {
    401: "no bearer token, or a wrong one (WWW-Authenticate: Bearer)",
    404: "no such run",
    409: "the run is in a state that does not allow it",
    413: "the request body is over AKSSIM_MAX_BODY_BYTES",
    422: "the request is not valid: detail says where, issues lists each problem",
    429: "AKSSIM_MAX_RUNS runs go already",
    500: "the service failed (its log says why)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route's error statuses: each a problem details object (500 too)."""
    return {s: {"model": Problem, "description": ERRORS[s]} for s in (*statuses, 500)}


async def _run_error(request: Request, exc: RunError) -> JSONResponse:
    return problem(exc.status, str(exc), request.url.path, exc.issues)


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    issues = [request_issue(e) for e in exc.errors()]
    return problem(422, "; ".join(i.render() for i in issues), request.url.path, issues)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, str(exc.detail), request.url.path,
                   headers=dict(exc.headers or {}))


async def _unhandled(request: Request, _: Exception) -> JSONResponse:
    # Starlette logs the exception with its traceback; the client gets no trace of it.
    return problem(500, "the service failed on this request; its log says why",
                   request.url.path)


def add_problem_handlers(app: FastAPI) -> None:
    """Every error the app raises answers as problem details: a :class:`RunError` with its
    status and issues, a request's validation errors as located issues, Starlette's HTTP errors
    with their headers, and anything else as a 500 that tells the client nothing of the trace."""
    app.add_exception_handler(RunError, _run_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unhandled)
