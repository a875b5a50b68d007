"""The service's routes as FastAPI ``APIRouter`` modules, which :func:`services.http.app.create_app`
includes in this order (the order of the OpenAPI document's paths): :mod:`.docs` (the
document and Swagger UI, not in the document), :mod:`.health`, :mod:`.scenarios`, :mod:`.runs`,
:mod:`.faults`, :mod:`.events`."""
