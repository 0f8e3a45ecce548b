"""``/api/v1/docs`` in a real browser: every operation listed, nothing fetched from elsewhere."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import LiveServer

pytestmark = pytest.mark.browser

METHODS = {"get", "post", "put", "patch", "delete", "options", "head"}


def test_the_api_reference_lists_every_operation_from_this_host_only(
    page: Any, live_server: LiveServer
) -> None:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(urlsplit(r.url).netloc))
    with live_server.app.test_client() as client:
        document = client.get("/api/v1/openapi.json").get_json()
    expected = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }

    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    shown = set()
    for block in page.locator(".opblock").all():
        method = block.locator(".opblock-summary-method").inner_text().strip()
        path = block.locator(".opblock-summary-path").get_attribute("data-path")
        shown.add((method, path))

    assert expected, "the OpenAPI document has operations"
    assert shown == expected
    assert page.locator("h1").first.inner_text() == "Harbour Studio API reference"
    assert hosts == {urlsplit(live_server.url).netloc}  # no CDN, no validator, no fonts


def test_the_renderer_is_served_versioned_and_cacheable(live_server: LiveServer) -> None:
    from latepoint_forms.api_docs import SWAGGER_UI_VERSION

    with live_server.app.test_client() as client:
        page = client.get("/api/v1/docs")
        script = client.get(f"/api/v1/docs/assets/{SWAGGER_UI_VERSION}/swagger-ui-bundle.js")
        stale = client.get("/api/v1/docs/assets/0.0.1/swagger-ui-bundle.js")
        unlisted = client.get(f"/api/v1/docs/assets/{SWAGGER_UI_VERSION}/index.css")
        script.close()  # a file response: let go of the file

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in page.get_data(as_text=True)  # no inline start-up code
    assert script.status_code == 200
    assert "immutable" in script.headers["Cache-Control"]
    assert stale.status_code == 404
    assert unlisted.status_code == 404
