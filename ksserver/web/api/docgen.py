"""docs/api.md from the OpenAPI document: ``python -m ksserver.web.api.docgen > docs/api.md``."""

from __future__ import annotations

from typing import Any

from ksserver.web.api.openapi import document


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " \\| ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "object")
    return " or ".join(kind) if isinstance(kind, list) else kind


def render() -> str:
    doc = document()
    generated = "Generated from `/api/v1/openapi.json` by `python -m ksserver.web.api.docgen`; do not edit by hand."
    errors = ('Errors are JSON: `{"error": "...", "status": N, "field": "..."}` (`field` when one value of the '
              "request is at fault).")
    lines = ["# REST API (`/api/v1`)", "", generated, "", doc["info"]["description"], "", errors, ""]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            lines += [f"## {method.upper()} /api/v1{path}", "", op["summary"] + ".", ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | type | description |", "|---|---|---|---|"]
                lines += [f"| `{p['name']}` | {p['in']} | {_schema_text(p['schema'])} | {p['description']} |"
                          for p in params]
                lines.append("")
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]["schema"]
                lines += [f"Body: `{_schema_text(body)}`.", ""]
            codes = ", ".join(f"{code} ({_response_text(r)})" for code, r in op["responses"].items())
            lines += [f"Responses: {codes}.", ""]
    lines += ["## Schemas", ""]
    for name, schema in doc["components"]["schemas"].items():
        props = schema.get("properties", {})
        fields = ", ".join(f"`{k}`: {_schema_text(v)}" for k, v in props.items())
        lines += [f"- **{name}**: {fields}"]
    return "\n".join(lines) + "\n"


def _response_text(response: dict[str, Any]) -> str:
    content = response.get("content", {})
    if "application/json" in content:
        return _schema_text(content["application/json"]["schema"])
    return next(iter(content), "no body")


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
