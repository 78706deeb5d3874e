"""A fast path for the counters' hot lookups (查询快速路径), inside their ordinary FastAPI routes.

FastAPI spends more CPU per request on solving a route's dependencies and parameters than a card
lookup spends on the database. For the few GET routes every counter calls all day (a card, a person,
subsidy payments, the change feed) the route class ``FastRoute`` first tries a shortcut:

- the query (and path) parameters are read directly, and only when the request has exactly the
  plain shape the shortcut understands (each parameter at most once, values a parser accepts — the
  same limits as the route declares); anything else goes the ordinary way;
- the operator token and counter credential must be in this worker's cache
  (``Authenticator.cached``: verified within ``CENTRAL_AUTH_CACHE_SECONDS``); otherwise the
  ordinary way checks them (against the database). Roles and the counter are checked exactly as
  ``Access.require`` does — the same ``Access`` object, the same 403 problems;
- the answer is validated against the route's response model and serialised by pydantic, as
  FastAPI does (``Response(<json>, media_type="application/json")``);
- errors (problems, database outages) are raised into the same exception handlers.

So a shortcut answers exactly what the ordinary route would; ``tests/central/test_fast_lookups.py``
compares the two request by request. The route stays in OpenAPI as declared. ``CENTRAL_FAST_ROUTES=
false`` switches the shortcuts off (every request the ordinary way). The commands have a fast path of
their own on the same route class (``central.api.commanding.register_fast_commands``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from central.api.deps import Access
from central.services.auth import COUNTER_KEY_HEADER, Authenticator
from counter_app.domain.operators import Role

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
#: A shortcut: the answer (a dict for the response model, or a Response) from the checked access.
Run = Callable[[Access, dict[str, Any]], Awaitable[Any]]
#: A parameter's parser: the value, or ``ValueError`` (then the request goes the ordinary way).
Parser = Callable[[str], Any]


class Unusual(Exception):
    """The request is not of the plain shape the shortcut handles: take the ordinary route."""


def text(min_length: int, max_length: int) -> Parser:
    def parse(value: str) -> str:
        if not min_length <= len(value) <= max_length:
            raise ValueError(value)
        return value

    return parse


def choice(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(value)
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    def parse(value: str) -> int:
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            raise ValueError(value)
        number = int(value)
        if not low <= number <= high:
            raise ValueError(value)
        return number

    return parse


@dataclass(frozen=True)
class Shortcut:
    """How to answer one route without FastAPI's parameter machinery."""

    run: Run
    roles: frozenset[Role]
    query: dict[str, Parser]
    path: dict[str, Parser]
    required: frozenset[str]

    def arguments(self, request: Request) -> dict[str, Any]:
        """The parsed parameters; ``Unusual`` unless each is known, given at most once and valid."""
        values: dict[str, Any] = {}
        query = request.scope.get("query_string", b"")
        if query:
            # exactly as Starlette's QueryParams reads it
            for name, raw in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                parser = self.query.get(name)
                if parser is None or name in values:
                    raise Unusual
                values[name] = _parsed(parser, raw)
        for name, parser in self.path.items():
            raw = request.path_params.get(name)
            if not isinstance(raw, str):
                raise Unusual
            values[name] = _parsed(parser, raw)
        if not self.required <= values.keys():
            raise Unusual
        return values


def _parsed(parser: Parser, raw: str) -> Any:
    try:
        return parser(raw)
    except ValueError:
        raise Unusual from None


#: A fast path: the answer, or None for "take the ordinary way" (decided before anything is done).
FastPath = Callable[[Request, APIRoute], Awaitable[Response | None]]
FAST_PATHS: dict[Callable[..., Any], FastPath] = {}


def shortcut(
    endpoint: Callable[..., Any],
    *,
    roles: frozenset[Role],
    query: dict[str, Parser] | None = None,
    path: dict[str, Parser] | None = None,
    required: tuple[str, ...] = (),
) -> Callable[[Run], Run]:
    """Register ``run(access, arguments)`` as the shortcut of the lookup ``endpoint`` (a ``FastRoute``).

    ``query`` and ``path``: the parameters it reads, with their parsers (the route's own limits);
    ``required``: those that must be there. Any other query parameter sends the request the ordinary way.
    """

    def register(run: Run) -> Run:
        FAST_PATHS[endpoint] = _lookup_path(
            Shortcut(run, roles, query or {}, path or {}, frozenset(required))
        )
        return run

    return register


def _lookup_path(cut: Shortcut) -> FastPath:
    adapters: dict[Any, TypeAdapter[Any]] = {}

    async def answer(request: Request, route: APIRoute) -> Response | None:
        try:
            arguments = cut.arguments(request)
        except Unusual:
            return None
        headers = request.headers
        authorization = headers.get("authorization")
        counter_key = headers.get(COUNTER_KEY_HEADER) or None
        authenticator: Authenticator = request.app.state.auth
        principal = authenticator.cached(authorization, counter_key)
        if principal is None:  # not verified lately: the ordinary way checks the database
            return None
        access = Access(request, authorization, counter_key)
        access.admit(principal, cut.roles, counter=True)
        result = await cut.run(access, arguments)
        model = route.response_model
        if isinstance(result, Response) or model is None:
            return result  # type: ignore[no-any-return]
        adapter = adapters.get(model)
        if adapter is None:
            adapter = adapters[model] = TypeAdapter(model)
        body = adapter.dump_json(adapter.validate_python(result), by_alias=True)
        return Response(body, media_type="application/json")

    return answer


class FastRoute(APIRoute):
    """An ``APIRoute`` that answers through its endpoint's fast path when the request allows."""

    def get_route_handler(self) -> Handler:
        ordinary = super().get_route_handler()
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            fast = FAST_PATHS.get(endpoint)  # registered after the route itself: looked up here
            if fast is not None and request.app.state.settings.fast_routes:
                response = await fast(request, self)
                if response is not None:
                    return response
            return await ordinary(request)

        return handler
