"""The OpenAPI 3.1 document of the API, generated from the endpoint table of :mod:`.app` and the
response structs of :mod:`.shapes` (msgspec's JSON Schema), so it cannot drift from the code."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from puljemonitor.server import shapes


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" or "query"
    description: str
    required: bool = True
    enum: tuple[str, ...] | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class Endpoint:
    path: str
    name: str
    summary: str
    response: type | tuple[type, ...] | None  # a msgspec struct (one per kind of pool), or None for a stream
    params: tuple[Param, ...] = ()
    token: str = "optional"  # "optional": anonymous gets public figures; "required": 401 without one
    media: str = "application/json"
    statuses: dict[int, str] = field(default_factory=dict)


def _types(endpoint: Endpoint) -> tuple[type, ...]:
    response = endpoint.response
    return () if response is None else response if isinstance(response, tuple) else (response,)


def document(endpoints: list[Endpoint], title: str, version: str) -> dict:
    types = [t for e in endpoints for t in _types(e)] + [shapes.Error]
    schemas, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    paths: dict[str, dict] = {}
    found = iter(schemas)
    for endpoint in endpoints:
        answers = [next(found) for _ in _types(endpoint)]
        if answers:  # a route that answers per pool: one of the shapes (the first pool's, BIR's)
            schema = answers[0] if len(answers) == 1 else {"oneOf": answers}
            paths[endpoint.path] = {"get": _operation(endpoint, schema)}
    for endpoint in endpoints:
        if endpoint.response is None:
            paths[endpoint.path] = {"get": _operation(endpoint, {"type": "string"})}
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Figures of the Danish employment pools (spec §4–§7: Afklaringspuljen by month, BIR by "
            "rolling period) and each municipality's own "
            "citizens, scoped per caller (spec §9). Without a token: the public figures, with small-number "
            "suppression (a hidden count or share is null and listed in `suppressed`). A municipality token: "
            "its own codes' figures exact, and its citizens. A `star` token: everything.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "pm1.<id>.<secret>"}},
            "responses": {
                name: {"description": text, "content": {"application/json": {"schema": error}}}
                for name, text in (
                    ("BadRequest", "A malformed parameter"),
                    ("Unauthorized", "No token where one is needed, or a malformed, unknown or revoked token"),
                    ("Forbidden", "The token does not cover this municipality"),
                    ("NotFound", "Unknown pool, month, participant, municipality, or citizen (of this municipality)"),
                )
            },
        },
        "paths": dict(sorted(paths.items())),
    }


def _operation(endpoint: Endpoint, schema: dict) -> dict:
    responses = {"200": {"description": "OK", "content": {endpoint.media: {"schema": schema}}}}
    responses["400"] = {"$ref": "#/components/responses/BadRequest"}
    responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
    if endpoint.token == "required":
        responses["403"] = {"$ref": "#/components/responses/Forbidden"}
    responses["404"] = {"$ref": "#/components/responses/NotFound"}
    for status, text in endpoint.statuses.items():
        responses[str(status)] = {"description": text}
    params = []
    for p in endpoint.params:
        param_schema: dict = {"type": "string"}
        if p.enum:
            param_schema["enum"] = list(p.enum)
        if p.pattern:
            param_schema["pattern"] = p.pattern
        params.append(
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "description": p.description,
                "schema": param_schema,
            }
        )
    op = {"operationId": endpoint.name, "summary": endpoint.summary, "parameters": params, "responses": responses}
    op["security"] = [{"bearer": []}] if endpoint.token == "required" else [{}, {"bearer": []}]
    return op
