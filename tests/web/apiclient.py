"""A Flask test client for /api/v1 that checks every JSON response against the OpenAPI document the
server serves (status code declared for that path and method, body valid for the declared schema)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema

PREFIX = "/api/v1"


class OpenApiChecker:
    def __init__(self, doc: dict[str, Any]):
        from openapi_spec_validator import validate

        validate(doc)
        self.doc = doc
        # literal segments first, so /attributes/global/{attr} wins over /attributes/{scope}/{target}
        self.routes = sorted(((re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "$"), t) for t in doc["paths"]),
                             key=lambda r: r[1].count("{"))
        self.checked: set[tuple[str, str, str]] = set()

    def template(self, path: str) -> str:
        for pattern, template in self.routes:
            if pattern.match(path):
                return template
        raise AssertionError(f"{path} is not in the OpenAPI document")

    def check(self, method: str, path: str, response) -> None:  # type: ignore[no-untyped-def]
        template = self.template(path)
        op = self.doc["paths"][template].get(method.lower())
        assert op is not None, f"{method} {template} is not in the OpenAPI document"
        status = str(response.status_code)
        assert status in op["responses"], f"{method} {template} answered {status}, not declared"
        content = op["responses"][status].get("content", {})
        if response.mimetype == "application/json":
            schema = content["application/json"]["schema"]
            jsonschema.validate(response.get_json(), {**schema, "components": self.doc["components"]},
                                cls=jsonschema.Draft202012Validator)
        else:
            assert response.mimetype in content, (method, template, response.mimetype)
        self.checked.add((method.upper(), template, status))


class Api:
    def __init__(self, client, checker: OpenApiChecker):  # type: ignore[no-untyped-def]
        self.client = client
        self.checker = checker

    def __call__(self, method: str, path: str, token: str | None = None, headers: dict | None = None,
                 **kwargs: Any):  # type: ignore[no-untyped-def]
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.client.open(PREFIX + path, method=method, headers=headers, **kwargs)
        self.checker.check(method, path.split("?")[0], response)
        return response
