"""The API reference article of the knowledge base, written from the OpenAPI document
(``portal api reference``), so the article can never say something the API does not do."""

from __future__ import annotations

import json
import re

from .serialize import openapi_document

FRONT_MATTER = """---
title: "API reference"
summary: Every endpoint of the JSON API v1 with its parameters, request body, answers and fields, generated from the OpenAPI document at /api/v1/openapi.json.
tags: [api, reference, openapi, endpoints, schemas, fields]
category: api
lang: en
draft: false
related: [api-overview, api-authentication-tokens, api-errors-and-rate-limits]
---
"""


def _anchor(name: str) -> str:
    # The id Markdown's toc extension gives a heading that is just the name.
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict) -> str:
    """A JSON Schema as a short phrase for a table cell."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        text = " or ".join(type_of(s) for s in options)
        return f"{text} or null" if len(options) < len(schema["anyOf"]) else text
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        return f"object of {type_of(schema['additionalProperties'])}"
    text = kind
    if "format" in schema:
        text += f" ({schema['format']})"
    limits = [f"{label} {schema[key]}" for key, label in (("minLength", "min. length"), ("maxLength", "max. length"),
                                                          ("minimum", "min."), ("maximum", "max.")) if key in schema]
    return f"{text}, {', '.join(limits)}" if limits else text


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _default(schema: dict) -> str:
    if schema.get("default") is None:
        return ""
    return f" Default: `{json.dumps(schema['default'])}`."


def _referenced(document: dict) -> list[str]:
    """Schemas that bodies use, directly or inside another schema, in a stable order."""
    schemas = document["components"]["schemas"]
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                name = _ref_name(node["$ref"])
                if name not in found:
                    found.append(name)
                    walk(schemas.get(name, {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for operations in document["paths"].values():
        for operation in operations.values():
            walk(operation.get("requestBody", {}))
            walk(operation.get("responses", {}))
    return sorted(found, key=str.lower)


def _operations(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield path, method.upper(), operation


def _token(operation: dict) -> str:
    security = operation.get("security") or []
    return "optional" if {} in security else "required" if security else "none"


def _operation(path: str, method: str, operation: dict) -> list[str]:
    lines = [f"### `{method} {path}`", "", operation.get("summary", "")]
    if operation.get("description"):
        lines += ["", operation["description"]]
    lines += ["", f"Token: {_token(operation)}.", ""]
    parameters = operation.get("parameters") or []
    if parameters:
        lines += ["| Parameter | In | Type | Required | Description |", "|---|---|---|---|---|"]
        for p in parameters:
            schema = p.get("schema", {})
            lines.append(f"| `{p['name']}` | {p['in']} | {_cell(type_of(schema))} | "
                         f"{'yes' if p.get('required') else 'no'} | "
                         f"{_cell((p.get('description') or schema.get('description') or '') + _default(schema))} |")
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {})
    for media_type, content in body.items():
        lines += [f"Request body (`{media_type}`): {type_of(content.get('schema', {}))}.", ""]
    lines += ["| Status | Meaning | Body |", "|---|---|---|"]
    for status, response in sorted(operation.get("responses", {}).items()):
        content = response.get("content") or {}
        bodies = "; ".join(f"{type_of(c.get('schema', {}))} (`{m}`)" for m, c in content.items())
        lines.append(f"| {status} | {_cell(response.get('description'))} | {_cell(bodies) or '—'} |")
    return lines + [""]


def _schema(name: str, schema: dict) -> list[str]:
    lines = [f"### {name}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    properties = schema.get("properties", {})
    if not properties:
        return lines + [f"{type_of(schema)}.", ""]
    required = set(schema.get("required", []))
    lines += ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for field, spec in properties.items():
        lines.append(f"| `{field}` | {_cell(type_of(spec))} | {'yes' if field in required else 'no'} | "
                     f"{_cell((spec.get('description') or '') + _default(spec))} |")
    if schema.get("additionalProperties") is True:
        lines += ["", "Further members may appear; ignore those you do not know."]
    return lines + [""]


def reference_markdown() -> str:
    """The whole article, front matter included; the same document always gives the same text."""
    document = openapi_document()
    info = document["info"]
    lines = [
        "<!-- Written by `portal api reference` from the OpenAPI document: edit the code, not this file. -->",
        f"Every endpoint of the {info['title']} (version {info['version']}), with its parameters, request "
        f"body and answers, as the machine-readable OpenAPI {document['openapi']} document at "
        "`/api/v1/openapi.json` describes them. "
        "[Authentication](api-authentication-tokens.md) and [errors and rate limits]"
        "(api-errors-and-rate-limits.md) are explained in their own articles.",
        "",
        "## Endpoints",
        "",
        "| Method and path | What it does | Token |",
        "|---|---|---|",
    ]
    for path, method, operation in _operations(document):
        lines.append(f"| `{method} {path}` | {_cell(operation.get('summary'))} | {_token(operation)} |")
    lines.append("")
    for tag, about in [(t["name"], t.get("description")) for t in document.get("tags", [])]:
        lines += [f"## {tag}", ""] + ([about, ""] if about else [])
        for path, method, operation in _operations(document):
            if tag in operation.get("tags", []):
                lines += _operation(path, method, operation)
    lines += ["## Fields", "", "The objects that requests and answers carry. Times are ISO 8601 in UTC.", ""]
    schemas = document["components"]["schemas"]
    for name in _referenced(document):
        lines += _schema(name, schemas[name])
    return FRONT_MATTER + "\n".join(lines).rstrip() + "\n"
