"""A real server and a real headless Chromium for the browser tests.

The app runs in werkzeug's threaded server on a free port, on a migrated SQLite file of its
own; it is shut down (and the browser closed) when the session ends. Chromium is Debian's
(`/usr/bin/chromium`, installed by `.ci/run`); Playwright only drives it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from latepoint_forms import create_app
from latepoint_forms.extensions import db
from latepoint_forms.models import Agent, AgentOffer, CustomFieldDefinition, Location, Service

from ..mail_support import SmtpServer, smtp_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
OPEN_8_TO_8 = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
REPOSITORY = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask


def _build_catalog(app: Flask) -> None:
    with app.app_context():
        haircut = Service(
            key="haircut", name="Haircut", duration_minutes=30, slot_interval_minutes=30
        )
        colour = Service(
            key="colour", name="Colour & style", duration_minutes=90, slot_interval_minutes=30
        )
        massage = Service(
            key="massage", name="Back massage", duration_minutes=60, slot_interval_minutes=30
        )
        harbour = Location(
            key="harbour",
            name="Harbour Street",
            timezone="Europe/London",
            opening_hours=OPEN_8_TO_8,
            address="4 Harbour Street, Whitstable CT5 1AG",
            country="GB",
            phone="+441227946012",
        )
        old_town = Location(
            key="old-town", name="Old Town", timezone="Europe/London", opening_hours=OPEN_8_TO_8
        )
        amy = Agent(key="amy", name="Amy Pond")
        ben = Agent(key="ben", name="Ben Okafor")
        chloe = Agent(key="chloe", name="Chloé Martin")
        db.session.add_all([haircut, colour, massage, harbour, old_town, amy, ben, chloe])
        db.session.flush()
        for agent, service, location in [
            (amy, haircut, harbour),
            (ben, haircut, harbour),
            (chloe, haircut, harbour),
            (amy, colour, harbour),
            (ben, haircut, old_town),
            (chloe, massage, old_town),
        ]:
            db.session.add(
                AgentOffer(agent_id=agent.id, service_id=service.id, location_id=location.id)
            )
        db.session.add(
            CustomFieldDefinition(
                key="heard_from",
                label="How did you hear about us?",
                type="select",
                options=[
                    {"value": "friend", "label": "A friend"},
                    {"value": "search", "label": "A web search"},
                    {"value": "walk_in", "label": "Walking past"},
                ],
            )
        )
        db.session.commit()


def e2e_app(path: Path, **config: Any) -> Flask:
    """The app for a browser test, on a migrated SQLite file of its own, with the catalog."""
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SECRET_KEY": f"e2e-secret-{path.stem}",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
            "FAST_PASSWORD_HASHING": True,
            "DEFAULT_COUNTRY": "GB",
            "DEFAULT_PHONE_REGION": "GB",
            "FORM_MIN_SECONDS": 0,  # a browser driven by a test fills a form at once
            **config,
        }
    )
    with app.app_context():
        upgrade()
    _build_catalog(app)
    return app


def _whole_bodies(app: Flask) -> Any:
    """``app`` with each response body read whole (and its file closed) before werkzeug's
    server writes it: a browser that leaves a page while a static file is on its way drops
    the connection, and werkzeug's development server then never closes that file (an
    unclosed-file warning, raised later in whichever test is running)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@contextmanager
def serving(app: Flask, name: str) -> Iterator[LiveServer]:
    """``app`` in werkzeug's threaded server on a free port (``PUBLIC_URL`` pointing at it,
    so the links in its messages lead back to it), shut down on leaving."""
    server = make_server("127.0.0.1", 0, _whole_bodies(app), threaded=True)
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield LiveServer(app.config["PUBLIC_URL"], app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    app = e2e_app(tmp_path_factory.mktemp("e2e") / "e2e.sqlite3")
    with serving(app, "e2e-server") as live:
        yield live


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd on loopback) for one test module's messages."""
    with smtp_server() as server:
        yield server


def start_mail_server(
    tmp_path_factory: pytest.TempPathFactory,
    smtp: SmtpServer,
    name: str,
    prepare: Callable[[Flask], None] | None = None,
) -> Any:
    """A context manager: an app of its own that sends its mail to ``smtp`` (``prepare``
    may change its data before it serves)."""
    path = Path(tmp_path_factory.mktemp(f"e2e-{name}")) / f"{name}.sqlite3"
    app = e2e_app(path, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    if prepare is not None:
        prepare(app)
    return serving(app, f"e2e-{name}")


@pytest.fixture(scope="module")
def mail_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer
) -> Iterator[LiveServer]:
    """The app on its own SQLite file (one per test module), sending mail to ``smtp``."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with start_mail_server(tmp_path_factory, smtp, name) as live:
        yield live


@pytest.fixture
def tab(browser: Any, mail_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) on ``mail_server``; page errors fail the test."""
    context = browser.new_context(viewport=DESKTOP, base_url=mail_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"browser errors: {errors}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests: install Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies), desktop-sized; console errors fail the test."""
    context = browser.new_context(viewport=DESKTOP, base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    # A 422 or 409 page is logged as "Failed to load resource": expected, not a fault.
    tab.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], f"browser console errors: {errors}"


@pytest.fixture
def page_without_js(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, java_script_enabled=False
    )
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the README's), else a temp dir."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        target = REPOSITORY / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def snap(screenshot_dir: Path) -> Any:
    """Take the viewport at desktop and phone width: <name>-desktop.png, <name>-phone.png."""

    def take(tab: Any, name: str, *, scroll_to: str | None = None) -> list[Path]:
        paths = []
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            tab.set_viewport_size(size)
            if scroll_to:
                tab.locator(scroll_to).first.scroll_into_view_if_needed()
            else:
                tab.evaluate("window.scrollTo(0, 0)")
            # Usable at this width: nothing sticks out sideways (the day strip scrolls inside).
            overflow = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow}px too wide at {size['width']}px"
            path = screenshot_dir / f"{name}-{label}.png"
            tab.screenshot(path=str(path), animations="disabled", caret="hide")
            assert path.stat().st_size > 5_000  # a real rendering, not a blank page
            paths.append(path)
        tab.set_viewport_size(DESKTOP)
        return paths

    return take
