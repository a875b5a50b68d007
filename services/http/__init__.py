"""The simulation service over HTTP: :mod:`services.http.app` (``create_app``: the app, its
lifespan and middleware), :mod:`services.http.routes` (the routes, one ``APIRouter`` module per
resource), :mod:`services.http.deps` (what the routes share), :mod:`services.http.api_models`
(what the API answers, for its OpenAPI document), :mod:`services.http.problems` (every error as
RFC 9457 problem details, and the exception handlers), :mod:`services.http.guards` (the bearer
token and the body limit) and :mod:`services.http.openapi`. The runs themselves are
:mod:`services.live`'s."""
