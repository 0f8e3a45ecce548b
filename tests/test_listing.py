"""``GET /customers``: paging, search and status filter, on SQLite and PostgreSQL."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from latepoint_forms import create_app
from latepoint_forms.api.listing import SEARCH_MAX_LENGTH, SEARCH_PATTERN
from latepoint_forms.customers import rules
from latepoint_forms.customers.service import list_customers
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.models.customer import fold_for_search

from .conftest import ApiClient, base_config
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
        data = response.get_json()["data"]
        assert data.pop("welcome_email_sent") is False  # said by create alone
        created.append(data)
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
        ("lukasz", ["Zoë Łukasz"]),  # Ł is no L plus a mark: transliterated
        # A phone as people write it: separators dropped, national trunk 0 / 00 prefix.
        ("+44 20 7946", ["Anne-Marie O'Brien"]),
        ("020 7946 0958", ["Anne-Marie O'Brien"]),
        ("(020) 7946-0958", ["Anne-Marie O'Brien"]),
        ("0044 20 7946.0958", ["Anne-Marie O'Brien"]),
        ("7946 0958", ["Anne-Marie O'Brien"]),
        ("020 7946 0959", []),
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


@pytest.mark.parametrize(
    ("first_name", "last_name", "term"),
    [
        ("Søren", "Kierkegård", "soren kierkegard"),
        ("Ødegaard", "Lærke", "odegaard laerke"),
        ("Đorđe", "Đoković", "dorde dokovic"),
        ("Þórunn", "Guðmundsdóttir", "thorunn gudmundsdottir"),
        ("Œdipe", "Ærø", "oedipe aero"),
        ("Iğdır", "Paßmann", "igdir passmann"),
        ("Ħamrun", "Ŧeo", "hamrun teo"),
    ],
)
def test_search_transliterates_letters_nfkd_keeps_whole(
    api: ApiClient, first_name: str, last_name: str, term: str
) -> None:
    created = api.post("/customers", {"first_name": first_name, "last_name": last_name})
    assert created.status_code == 201, created.get_json()
    api.post("/customers", {"first_name": "Other", "last_name": "Person"})
    full_name = f"{first_name} {last_name}"

    assert names(api.get(f"/customers?search={term.replace(' ', '+')}")) == [full_name]
    assert names(api.get(f"/customers?search={term.upper().replace(' ', '+')}")) == [full_name]


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
        ("search=" + "a" * 101, {"search": "Search must be at most 100 characters"}),
        ("search=" + "+" * 101, {"search": "Search must be at most 100 characters"}),  # spaces
        ("search=a%00b", {"search": "Search must not contain control characters"}),
        # The rule of free text (rules.clean_text), not a narrower copy of it: C1 controls,
        # Unicode line/paragraph separators and bidi overrides too, however they are placed.
        ("search=%C2%85", {"search": "Search must not contain control characters"}),
        ("search=%E2%80%A8", {"search": "Search must not contain control characters"}),
        ("search=ann%E2%80%A9", {"search": "Search must not contain control characters"}),
        ("search=%E2%80%AEnna", {"search": "Search must not contain control characters"}),
        ("search=%09", {"search": "Search must not contain control characters"}),
        ("page=1&page=2", {"page": "Give this parameter once"}),
        ("statu=pending", {"statu": "Unknown parameter"}),
        ("locale=user", {"locale": "Unknown parameter"}),  # only "_" names are ignored
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


@pytest.mark.parametrize("prefix", ["/api/v1", "/wp-json/latepoint-api/v1"])
def test_parameters_clients_add_on_their_own_are_ignored(api: ApiClient, prefix: str) -> None:
    """WordPress apiFetch adds _locale=user, jQuery a cache-buster _=<ms>, a page _wpnonce."""
    create_people(api)
    client = ApiClient(api.client, api.key, prefix=prefix)

    response = client.get("/customers?search=petrov&_locale=user&_=1764216000000&_wpnonce=ab12")

    assert names(response) == ["Ivan Petrov"]


def test_the_documented_search_pattern_is_the_free_text_rule() -> None:
    """The OpenAPI pattern describes rules.clean_text exactly (over the BMP), so neither a
    fuzzer nor a client reading the document is told something the API does not do."""
    pattern = re.compile(SEARCH_PATTERN)
    for code in range(0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # a lone surrogate cannot arrive in a decoded URL
        char = chr(code)
        try:
            rules.clean_text(f"a{char}a", label="Search", max_length=SEARCH_MAX_LENGTH)
            accepted = True
        except rules.RuleError:
            accepted = False
        assert bool(pattern.fullmatch(f"a{char}a")) == accepted, hex(code)


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


def test_search_follows_a_changed_name(api: ApiClient) -> None:
    created = create_people(api)
    with api.app.app_context():
        customer = db.session.get(Customer, created[-1]["id"])
        assert customer is not None
        customer.last_name = "Petrová"
        db.session.commit()

    assert names(api.get("/customers?search=petrova")) == ["Ivan Petrová"]


def test_migration_fills_search_text_of_existing_rows(tmp_path: Path) -> None:
    """Rows stored before migration 0003 are found by search after it."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        upgrade(revision="0002_catalog_bookings")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (uuid, customer_code, first_name, last_name, email,"
                    " status, custom_fields, is_guest, source, created_at, updated_at) VALUES"
                    " ('u-1', 'CUS-AAAAA-BBBBB', 'Zoë', 'Straße', 'zoe@example.com', 'active',"
                    " '{}', 0, 'api', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        upgrade()
        customers, total = list_customers(1, 20, search="STRASSE")
        assert [c.email for c in customers] == ["zoe@example.com"]
        assert total == 1
        assert customers[0].search_text == "zoe strasse\x1fzoe@example.com\x1fcus-aaaaa-bbbbb"
        db.session.remove()
        db.engine.dispose()


def test_migration_0004_refolds_search_text_of_every_row(unmigrated_url: str) -> None:
    """Rows stored under 0003's folding ("søren") are found as "soren" after 0004, however
    many batches they take; a downgrade puts 0003's folding back."""
    app = create_app(base_config(unmigrated_url))
    rows = 1201  # more than two of the migration's batches of 500
    with app.app_context():
        upgrade(revision="0003_import_fingerprint")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (uuid, customer_code, first_name, last_name, email,"
                    " status, custom_fields, is_guest, source, created_at, updated_at,"
                    " search_text) VALUES (:uuid, :code, 'Søren', 'Łukasz', NULL, 'active',"
                    " '{}', false, 'api', '2026-01-01 00:00:00', '2026-01-01 00:00:00',"
                    " :text)"
                ),
                [
                    {
                        "uuid": f"u-{i}",
                        "code": f"CUS-{i:05d}-AAAAA",
                        "text": f"søren łukasz\x1fcus-{i:05d}-aaaaa",  # 0003's folding
                    }
                    for i in range(rows)
                ],
            )
        assert list_customers(1, 1, search="soren")[1] == 0  # the defect, before 0004
        db.session.remove()

        upgrade()
        found, total = list_customers(1, 5, search="soren lukasz")
        assert total == rows
        assert found[0].search_text == f"soren lukasz\x1fcus-{rows - 1:05d}-aaaaa"
        db.session.remove()

        downgrade(revision="0003_import_fingerprint")
        with db.engine.connect() as conn:
            texts = set(conn.execute(sa.text("SELECT search_text FROM customers")).scalars())
        assert len(texts) == rows
        assert "søren łukasz\x1fcus-00000-aaaaa" in texts
        db.session.remove()
        db.engine.dispose()


def test_migration_0004_folds_as_the_model_does() -> None:
    """0004 holds a frozen copy of fold_for_search. If this fails, the model's folding has
    changed: stored search_text needs a new migration that recomputes it (and this test
    pointed at that migration)."""
    path = Path(__file__).parent.parent / "migrations/versions/0004_search_text_refold.py"
    spec = importlib.util.spec_from_file_location("migration_0004", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    for code in range(0x3000):
        if not 0xD800 <= code <= 0xDFFF:
            assert migration._fold_0004(chr(code)) == fold_for_search(chr(code)), hex(code)
