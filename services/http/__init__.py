"""The simulation service over HTTP: :mod:`services.http.app` (``create_app``: the routes and
their lifespan), :mod:`services.http.api_models` (what the API answers, for its OpenAPI
document), :mod:`services.http.problems` (every error as RFC 9457 problem details),
:mod:`services.http.guards` (the bearer token and the body limit) and
:mod:`services.http.openapi`. The runs themselves are :mod:`services.live`'s."""
