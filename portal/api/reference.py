"""The API reference article of the knowledge base, written from the OpenAPI document."""

from __future__ import annotations


def reference_markdown() -> str:
    from .serialize import openapi_document

    document = openapi_document()
    return "TODO\n" + str(len(document["paths"]))
