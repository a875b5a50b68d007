"""The service's OpenAPI document: FastAPI's, with every error typed as problem details and
the fault request's schemas added."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from services.http.api_models import fault_request_schemas
from services.http.problems import ERRORS, PROBLEM_JSON


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with every error typed ``application/problem+json`` (FastAPI puts a
    ``responses=`` model under the route's own media type) and the fault body's schemas."""
    from fastapi.openapi.utils import get_openapi

    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    faults = fault_request_schemas()
    assert not set(faults) & set(schemas), set(faults) & set(schemas)
    schemas |= faults
    for path in doc["paths"].values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref", "").rsplit("/", 1)[-1] in ("Problem", "HTTPValidationError"):
                    del content["application/json"]
                    content[PROBLEM_JSON] = {"schema": {"$ref": "#/components/schemas/Problem"}}
                    if status == "422":
                        response["description"] = ERRORS[422]
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in json.dumps(doc):
            schemas.pop(unused, None)
    return doc
