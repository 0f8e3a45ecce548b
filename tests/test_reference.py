"""docs/API.md is what ``python -m latepoint_forms.reference`` prints: it cannot go stale."""

from __future__ import annotations

from pathlib import Path

from latepoint_forms.api.openapi import build_document, error_codes
from latepoint_forms.customers.fields import CUSTOMER_FIELDS
from latepoint_forms.reference import reference_app, render

COMMITTED = Path(__file__).resolve().parent.parent / "docs" / "API.md"


def test_the_committed_reference_is_the_generated_one() -> None:
    generated = render(reference_app())

    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/API.md is stale: run `make docs` and commit it"
    )


def test_the_reference_names_every_field_operation_and_error_code() -> None:
    text = render(reference_app())

    for field in CUSTOMER_FIELDS:
        assert f"| `{field.key}` |" in text
    for path, item in build_document("/api/v1")["paths"].items():
        for method in item:
            assert f"`{method.upper()} {path}`" in text
    for codes in error_codes().values():
        for code in codes:
            assert f"`{code}`:" in text
    assert "| `POST /customers` | `customers:create` |" in text
    assert "| `GET /status` | any valid key |" in text
