"""Every error of the API as RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from pydantic import BaseModel, ConfigDict

PROBLEM_JSON = "application/problem+json"

# slug -> title. The slug ends the ``type`` URI, which points at the article that explains it.
TITLES = {
    "malformed-request": "The request could not be read",
    "invalid-token": "Invalid or revoked token",
    "forbidden": "Not allowed",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "validation-error": "The request has invalid fields",
    "ticket-quota-exceeded": "Monthly ticket quota reached",
    "plan-expired": "Support plan ended",
    "hours-used-up": "Prepaid support hours used up",
    "plan-overlap": "The dates overlap another plan of the organization",
    "ticket-state": "Not possible in the ticket's current state",
    "changed-meanwhile": "The ticket changed since you read it",
    "idempotency-key-reused": "Idempotency-Key reused with a different request",
    "idempotency-request-in-progress": "A request with this Idempotency-Key is still running",
    "file-missing": "File no longer stored",
    "too-large": "Request too large",
    "rate-limited": "Too many requests",
    "search-unavailable": "Search is unavailable",
    "service-unavailable": "Temporarily unavailable",
    "storage-full": "No room to store the files",
    "internal-error": "Internal error",
}
STATUS_SLUGS = {400: "malformed-request", 401: "invalid-token", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed", 412: "changed-meanwhile", 413: "too-large", 422: "validation-error", 429: "rate-limited",
                500: "internal-error", 503: "service-unavailable"}
DOCS_ARTICLE = "api-errors-and-rate-limits"


class FieldError(BaseModel):
    field: str
    message: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details; some problems add members of their own."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raised anywhere in an API request; the blueprint turns it into the response."""

    def __init__(self, status: int, detail: str, slug: str | None = None, errors: list[dict] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail = status, detail
        self.slug = slug or STATUS_SLUGS.get(status, "internal-error" if status >= 500 else "malformed-request")
        self.errors, self.headers, self.extra = errors, headers or {}, extra


def problem_response(problem: Problem):
    body: dict[str, Any] = {
        "type": f"{request.host_url}kb/{DOCS_ARTICLE}#{problem.slug}",
        "title": TITLES.get(problem.slug, problem.slug),
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    response = current_app.json.response(body)
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    response.headers.update(problem.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def field_errors(errors: dict[str, str]) -> list[dict]:
    return [{"field": name, "message": message} for name, message in errors.items()]


def validation_problem(req, resp, error, instance, model_adapter) -> None:
    """spectree's hook after request validation: its errors become one 422 problem, field by field."""
    if error is None:
        return
    errors = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "__root__"]
        errors.append({"field": ".".join(location) or "body", "message": item.get("msg", "Invalid value.")})
    count = len(errors)
    raise Problem(422, f"{count} field{'s' if count != 1 else ''} need{'s' if count == 1 else ''} attention.",
                  "validation-error", errors=errors)
