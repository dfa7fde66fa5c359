"""OpenAPI additions: every operation documents the problem details it may answer with."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.enums import ParamType
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Parameter,
    Reference,
    Schema,
)

from kernel import idempotency
from kernel.errors import PROBLEM_JSON

PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    description="RFC 9457 problem details; `code` is stable and meant for translation.",
    required=["type", "title", "status", "code"],
    properties={
        "type": Schema(type=OpenAPIType.STRING),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "code": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "outcome": Schema(
            type=OpenAPIType.STRING,
            description="`unknown` on a 503 `outcome_unknown`: the change may have been stored",
        ),
        "idempotency_key": Schema(
            type=OpenAPIType.STRING,
            description="the key to send the same request again with, to learn its outcome",
        ),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            description="the offending fields, for 422 answers",
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "source": Schema(type=OpenAPIType.STRING),
                    "message": Schema(type=OpenAPIType.STRING),
                },
            ),
        ),
    },
)
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
UNSAFE_METHODS = frozenset({"put", "post", "delete", "patch"})
IDEMPOTENCY_KEY = Parameter(
    name=idempotency.HEADER,
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING, max_length=idempotency.MAX_KEY_LENGTH),
    description=(
        "Send the request at most once: a key of yours (a UUID), kept 24 hours per caller. "
        "The same key with the same body returns the first answer (same status and body, "
        "header `Idempotent-Replayed: true`) without doing it again; with another body: 422 "
        "`idempotency_key_reused`; while the first is still running: 409 "
        "`idempotency_in_progress` (retry after `Retry-After`). Only answers that changed "
        "something (2xx, 3xx) are kept. After a lost answer or a 503 `outcome_unknown`, send "
        "the same request with the same key."
    ),
)


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))
        },
    )


# Files offered as XLSX are offered as CSV too (``?format=csv``): both are documented.
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def _document_csv(responses: dict[str, Any]) -> None:
    ok = responses.get("200")
    content = getattr(ok, "content", None)
    if isinstance(content, dict) and XLSX in content and CSV not in content:
        content[CSV] = content[XLSX]


def document_problems(app: Litestar) -> None:
    """Declare the problem answers (400, 401, 403, 404, 409, 422, 429, 503 ...) of every operation.

    Runs when the app is made, before the document is first served. Litestar's own 400 entry
    describes its default error body; ours are problem details, so it is replaced. Unsafe
    operations also declare the ``Idempotency-Key`` header (kernel.idempotency).
    """
    document = app.openapi_schema
    if document.components.schemas is None:
        document.components.schemas = {}
    document.components.schemas["Problem"] = PROBLEM_SCHEMA
    for path_item in (document.paths or {}).values():
        for method in METHODS:
            operation = getattr(path_item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            responses["400"] = _problem_response("Malformed request (problem details)")
            responses["default"] = _problem_response(
                "Refusal or failure as RFC 9457 problem details: "
                "401, 403, 404, 409, 413, 422, 429, 503"
            )
            _document_csv(responses)
            operation.responses = responses
            if method in UNSAFE_METHODS:
                operation.parameters = [*(operation.parameters or []), IDEMPOTENCY_KEY]
