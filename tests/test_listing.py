"""``GET /customers``: paging, search and status filter, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ApiClient
from .test_api import assert_error
from .test_openapi import conforms

PEOPLE = [
    {"first_name": "Zoë", "last_name": "Łukasz", "email": "zoe@example.com", "status": "active"},
    {"first_name": "José María", "last_name": "Núñez", "email": "jm@example.org"},
    {"first_name": "Anne-Marie", "last_name": "O'Brien", "phone": "+44 20 7946 0958"},
    {"first_name": "王小明", "last_name": "Straße", "status": "pending"},
    {"first_name": "John", "last_name": "Doe", "email": "john_doe@example.com"},
    {
        "first_name": "Ivan",
        "last_name": "Petrov",
        "email": "ivan@example.com",
        "status": "inactive",
    },
]


def create_people(api: ApiClient) -> list[dict[str, Any]]:
    created = []
    for person in PEOPLE:
        response = api.post("/customers", person)
        assert response.status_code == 201, response.get_json()
        created.append(response.get_json()["data"])
    return created


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [customer["full_name"] for customer in response.get_json()["data"]]


def test_first_page_is_newest_first_with_meta(api: ApiClient) -> None:
    created = create_people(api)

    response = api.get("/customers?per_page=4")

    body = response.get_json()
    assert response.status_code == 200
    assert list(body) == ["status", "message", "data", "meta"]
    assert body["status"] == "success"
    assert body["message"] == "6 customers found"
    assert [c["id"] for c in body["data"]] == [c["id"] for c in reversed(created)][:4]
    assert body["data"][0] == created[-1]  # the same representation as a single read
    assert body["meta"] == {"page": 1, "per_page": 4, "total": 6, "pages": 2}


def test_pages_cover_every_customer_once(api: ApiClient) -> None:
    created = create_people(api)

    seen = []
    for page in (1, 2, 3):
        body = api.get(f"/customers?page={page}&per_page=2").get_json()
        assert body["meta"] == {"page": page, "per_page": 2, "total": 6, "pages": 3}
        seen += [c["id"] for c in body["data"]]
    past_the_end = api.get("/customers?page=4&per_page=2").get_json()

    assert seen == sorted((c["id"] for c in created), reverse=True)
    assert past_the_end["data"] == []
    assert past_the_end["meta"]["total"] == 6


def test_empty_list(api: ApiClient) -> None:
    body = api.get("/customers").get_json()

    assert body["data"] == []
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 0, "pages": 0}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("zoe", ["Zoë Łukasz"]),  # accents ignored on both databases
        ("ZOË", ["Zoë Łukasz"]),
        ("łukasz", ["Zoë Łukasz"]),  # non-ASCII case folding (SQLite's lower() would not)
        ("ŁUKASZ", ["Zoë Łukasz"]),  # (Ł is a letter of its own, not L with a mark)
        ("nunez", ["José María Núñez"]),
        ("maría núñez", ["José María Núñez"]),  # across first and last name
        ("strasse", ["王小明 Straße"]),
        ("小明", ["王小明 Straße"]),
        ("o'brien", ["Anne-Marie O'Brien"]),
        ("+44207946", ["Anne-Marie O'Brien"]),  # phone as stored (E.164)
        ("EXAMPLE.ORG", ["José María Núñez"]),
        ("john_doe", ["John Doe"]),  # "_" is not a wildcard
        ("%", []),  # nor is "%"
        ("example.com", ["Ivan Petrov", "John Doe", "Zoë Łukasz"]),
        ("   ", "everyone"),  # blank: no filter
        ("nobody", []),
    ],
)
def test_search(api: ApiClient, search: str, expected: list[str] | str) -> None:
    created = create_people(api)
    if expected == "everyone":
        expected = [c["full_name"] for c in reversed(created)]

    response = api.client.get(
        "/api/v1/customers", query_string={"search": search}, headers=api.headers()
    )

    assert names(response) == expected
    assert response.get_json()["meta"]["total"] == len(expected)


def test_search_by_customer_code(api: ApiClient) -> None:
    created = create_people(api)
    code = created[2]["customer_code"]

    assert names(api.get(f"/customers?search={code.lower()}")) == ["Anne-Marie O'Brien"]


def test_status_filter_and_search_together(api: ApiClient) -> None:
    create_people(api)

    assert names(api.get("/customers?status=pending")) == ["王小明 Straße"]
    assert names(api.get("/customers?status=inactive&search=example")) == ["Ivan Petrov"]
    assert names(api.get("/customers?status=inactive&search=zoe")) == []


@pytest.mark.parametrize(
    ("query", "details"),
    [
        ("page=0", {"page": "Must be a whole number from 1 to 1000000"}),
        ("page=abc", {"page": "Must be a whole number from 1 to 1000000"}),
        ("page=", {"page": "Must be a whole number from 1 to 1000000"}),
        ("page=-1", {"page": "Must be a whole number from 1 to 1000000"}),
        ("page=99999999999999999999", {"page": "Must be a whole number from 1 to 1000000"}),
        ("per_page=101", {"per_page": "Must be a whole number from 1 to 100"}),
        ("per_page=1.5", {"per_page": "Must be a whole number from 1 to 100"}),
        ("status=deleted", {"status": "Must be one of: active, inactive, pending"}),
        ("status=", {"status": "Must be one of: active, inactive, pending"}),
        ("search=" + "a" * 101, {"search": "Must be at most 100 characters"}),
        ("search=a%00b", {"search": "Must not contain control characters"}),
        ("page=1&page=2", {"page": "Give this parameter once"}),
        ("statu=pending", {"statu": "Unknown parameter"}),
        (
            "page=0&per_page=0&status=x",
            {
                "page": "Must be a whole number from 1 to 1000000",
                "per_page": "Must be a whole number from 1 to 100",
                "status": "Must be one of: active, inactive, pending",
            },
        ),
    ],
)
def test_invalid_parameters(api: ApiClient, query: str, details: dict[str, str]) -> None:
    error = assert_error(api.get(f"/customers?{query}"), 422, "validation_failed")

    assert error["details"] == details


def test_a_search_of_100_characters_is_accepted(api: ApiClient) -> None:
    assert api.get("/customers?search=" + "é" * 100).status_code == 200


def test_list_needs_the_read_permission(api: ApiClient, make_api_key: Any) -> None:
    writer = ApiClient(api.client, make_api_key(permissions=("customers:create",)))

    assert_error(writer.get("/customers"), 403, "insufficient_permissions")
    assert_error(ApiClient(api.client, None).get("/customers"), 401, "unauthorized")


def test_served_under_the_wordpress_path(api: ApiClient) -> None:
    create_people(api)
    wp = ApiClient(api.client, api.key, prefix="/wp-json/latepoint-api/v1")

    assert names(wp.get("/customers?search=petrov")) == ["Ivan Petrov"]


def test_a_real_page_matches_the_document(api: ApiClient) -> None:
    create_people(api)
    document = api.client.get("/api/v1/openapi.json").get_json()

    conforms(document, "/customers", "get", api.get("/customers?per_page=3&search=example"))
    conforms(document, "/customers", "get", api.get("/customers?page=0"))
