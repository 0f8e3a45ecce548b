"""The embeddable widget (SPEC section 10) in real Chromium, on host pages of other origins.

Each host page is served by a second tiny server on another loopback port, with its own CSP
allowing only our server in ``script-src`` and ``connect-src`` (``default-src 'none'``; the
page's own stylesheet by ``style-src 'self'``). The page has no script of its own (its CSP
forbids one): what it receives is recorded by a Playwright init script (which the page's CSP
does not govern) listening on ``document`` for the widget's events and for
``securitypolicyviolation``.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from babel import Locale
from babel.support import NullTranslations, Translations
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from latepoint_forms.api.idempotency import fingerprint
from latepoint_forms.api.keys import create_api_key, hash_key
from latepoint_forms.extensions import db
from latepoint_forms.i18n import SOURCE_LANGUAGE, TRANSLATIONS
from latepoint_forms.models import (
    Agent,
    AgentOffer,
    ApiKey,
    Booking,
    Customer,
    IdempotencyRecord,
    Location,
    Service,
)
from latepoint_forms.models.types import utcnow
from latepoint_forms.settings import RULES_EXTENSION_KEY
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.web.widget_text import texts_for

from ..test_i18n_catalogs import CATALOGS
from ..test_i18n_pages import english_sentences
from .axe import assert_no_serious_violations
from .conftest import DESKTOP, PHONE, LiveServer

PLACEHOLDER_TEXT = re.compile(r"%\(\w+\)[sd]")
HOSTILE_CSS = """
* { font-size: 40px; font-family: "Comic Sans MS", cursive; letter-spacing: 3px; }
input, select, textarea, button { display: none; color: red; background: yellow; }
label { visibility: hidden; }
body { color: green; }
"""
SHOP_CSS = """
body { margin: 0; font: 17px/1.5 Georgia, serif; color: #222; background: #f4efe6; }
header { padding: 24px; background: #3b2f2f; color: #fff; }
header h1 { margin: 0; font-size: 28px; }
main { max-width: 720px; margin: 0 auto; padding: 24px 16px; }
"""

# Recorded in the page's own world: the widget's events and any CSP violation.
RECORDER = """
window.__latepoint = [];
window.__violations = [];
for (const name of ["latepoint:booked", "latepoint:registered"]) {
  document.addEventListener(name, (event) => {
    window.__latepoint.push({type: event.type, detail: event.detail,
                             target: event.target.id, bubbles: event.bubbles,
                             composed: event.composed});
  });
}
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@dataclass
class HostSite:
    """Pages of a shop on another origin: path -> (html, css)."""

    csp: str
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer
    pages: dict[str, str] = field(default_factory=dict)
    styles: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path in self.pages:
            response = Response(self.pages[request.path], mimetype="text/html")
        elif request.path == "/favicon.ico":
            response = Response(status=204)  # nothing, but no console error for its absence
        elif request.path in self.styles:
            response = Response(self.styles[request.path], mimetype="text/css")
        else:
            response = Response("not found", status=404, mimetype="text/plain")
        response.headers["Content-Security-Policy"] = self.csp
        response.headers.update(self.headers)
        return response(environ, start_response)

    def page(
        self,
        path: str,
        key: str,
        server: str,
        css: str = SHOP_CSS,
        html_lang: str = "en",
        before: str = "",
        **data: str,
    ) -> str:
        """A shop page with the SPEC's snippet (and ``data-*`` attributes) on it; ``before``
        is more of the page's own markup, ahead of the snippet."""
        attributes = " ".join(f'data-{name}="{html.escape(value)}"' for name, value in data.items())
        style = path.replace(".html", ".css")
        self.styles[style] = css
        self.pages[path] = f"""<!doctype html>
<html lang="{html.escape(html_lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harbour Hair</title>
<link rel="stylesheet" href="{style}">
<script src="{server}/widget.js" defer></script>
</head>
<body>
<header><h1>Harbour Hair</h1></header>
<main>
<p>Book your next visit online.</p>
{before}
<div id="widget" data-latepoint-widget data-key="{html.escape(key)}" {attributes}></div>
</main>
</body>
</html>"""
        return self.origin + path


def _csp(server: str) -> str:
    return (
        f"default-src 'none'; script-src {server}; connect-src {server}; style-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'"
    )


@pytest.fixture(scope="module")
def host_sites(live_server: LiveServer) -> Iterator[Callable[[], HostSite]]:
    """Start host sites on free loopback ports (each another origin); all stop at the end."""
    running: list[tuple[Any, threading.Thread]] = []

    def start() -> HostSite:
        site = HostSite(csp=_csp(live_server.url))
        server = make_server("127.0.0.1", 0, site, threaded=True)
        site.origin = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="host-site", daemon=True)
        thread.start()
        running.append((server, thread))
        return site

    try:
        yield start
    finally:
        for server, thread in running:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()


@dataclass(frozen=True)
class Shop:
    site: HostSite
    key: str  # publishable, for the site's origin
    secret: str  # the business's own key, to look at what the widget made


@pytest.fixture(scope="module")
def shop_site(host_sites: Callable[[], HostSite]) -> HostSite:
    return host_sites()


@pytest.fixture
def shop(live_server: LiveServer, shop_site: HostSite) -> Shop:
    """The shop's keys, new for each test: each visit spends a publishable key's budget per
    client address (RATE_LIMIT_PUBLISHABLE), and every test's browser is 127.0.0.1."""
    site = shop_site
    with live_server.app.app_context(), unit_of_work():
        _, key = create_api_key("shop widget", [], allowed_origins=[site.origin], publishable=True)
        _, secret = create_api_key(
            "back office", ["customers:read", "customers:create", "catalog:read"]
        )
    return Shop(site, key, secret)


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    """This module's own tab (conftest's is on a mail server): a fresh context on the host
    pages, recording their events; console errors and CSP violations fail (assert_clean)."""
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(RECORDER)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: page.console_errors.append(m.text) if m.type == "error" else None,  # type: ignore[attr-defined]
    )
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def assert_clean(page: Any) -> None:
    """No CSP violation, no script error; a 4xx the test provoked is logged, and allowed."""
    assert page.evaluate("window.__violations") == []
    answered = "Failed to load resource: the server responded with a status of 4"
    assert [m for m in page.console_errors if not m.startswith(answered)] == []


def events(page: Any) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = page.evaluate("window.__latepoint")
    return result


def api_get(live_server: LiveServer, shop: Shop, path: str) -> Any:
    """``data`` of a GET with the business's secret key (from a server: no Origin)."""
    answer = requests.get(
        f"{live_server.url}/api/v1{path}", headers={"X-API-Key": shop.secret}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def read_customer(live_server: LiveServer, shop: Shop, customer_id: int) -> dict[str, Any]:
    data: dict[str, Any] = api_get(live_server, shop, f"/customers/{customer_id}")
    return data


def widget_text(page: Any) -> str:
    text: str = page.evaluate("document.querySelector('#widget').shadowRoot.textContent")
    return text


def done_code(page: Any) -> str:
    """The code the finished widget shows (or a failure saying what it shows instead)."""
    code = page.locator(".lp-code")
    try:
        code.wait_for()
    except Exception:
        raise AssertionError(f"not done; the widget says: {widget_text(page)}") from None
    text: str = code.inner_text()
    return text


def times_on(page: Any, day: str) -> Any:
    """The time buttons of the widget once it shows ``day``'s free times."""
    return page.locator(f".lp-slots[data-day='{day}'] .lp-time")


def visiting_day() -> date:
    """A day well inside the booking horizon; the e2e locations are open 08:00-20:00."""
    return date.today() + timedelta(days=3)


def test_register_flow_on_another_origin(tab: Any, live_server: LiveServer, shop: Shop) -> None:
    url = shop.site.page("/register.html", shop.key, live_server.url, flow="register")
    tab.goto(url)

    tab.get_by_label("First name").fill("Grace")
    tab.get_by_label("Last name").fill("Hopper")
    tab.get_by_label("Email").fill("grace.widget@example.com")
    tab.get_by_label("Phone").fill("07911 123456")
    tab.get_by_role("button", name="Register").click()

    code = done_code(tab)
    assert tab.get_by_role("status").inner_text().startswith("You are registered")
    received = events(tab)
    assert [e["type"] for e in received] == ["latepoint:registered"]
    detail = received[0]["detail"]
    assert detail["customer_code"] == code
    assert received[0]["target"] == "widget"
    assert received[0]["bubbles"]
    assert received[0]["composed"]
    stored = read_customer(live_server, shop, detail["id"])
    assert stored["customer_code"] == detail["customer_code"]
    assert stored["email"] == "grace.widget@example.com"
    assert stored["phone"] == "+447911123456"
    assert_clean(tab)


def test_booking_flow_on_another_origin(tab: Any, live_server: LiveServer, shop: Shop) -> None:
    url = shop.site.page("/book.html", shop.key, live_server.url, flow="booking")
    tab.goto(url)

    tab.get_by_label("Haircut").check()
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Harbour Street").check()
    tab.get_by_label("Amy Pond").check()
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Day").fill(visiting_day().isoformat())
    times_on(tab, visiting_day().isoformat()).first.click()
    tab.get_by_label("First name").fill("Ada")
    tab.get_by_label("Last name").fill("Lovelace")
    tab.get_by_label("Email").fill("ada.widget@example.com")
    tab.get_by_role("button", name="Book").click()

    code = done_code(tab)
    assert "Europe/London" in tab.locator(".lp-when").inner_text()
    received = events(tab)
    assert [e["type"] for e in received] == ["latepoint:booked"]
    detail = received[0]["detail"]
    assert detail["booking_code"] == code
    assert detail["start"].startswith(visiting_day().isoformat())
    assert detail["timezone"] == "Europe/London"
    # A public page is never told whose booking it is (SPEC section 9): no customer code.
    assert "customer_code" not in detail
    # Through the API with the business's key: the customer the widget made...
    [stored] = api_get(live_server, shop, "/customers?search=ada.widget@example.com")
    assert stored["first_name"] == "Ada"
    assert stored["source"] == "api"
    # ...and Amy is no longer free at that time...
    catalog = api_get(live_server, shop, "/catalog")
    amy = next(a["id"] for a in catalog["agents"] if a["key"] == "amy")
    haircut = next(s["id"] for s in catalog["services"] if s["key"] == "haircut")
    harbour = next(loc["id"] for loc in catalog["locations"] if loc["key"] == "harbour")
    local_start = detail["start"][:16]  # the wall-clock time at the location
    free = api_get(
        live_server,
        shop,
        f"/availability?service_id={haircut}&location_id={harbour}&agent_id={amy}"
        f"&date={visiting_day().isoformat()}",
    )
    assert free["slots"]  # the day is open...
    assert local_start not in [slot["start"] for slot in free["slots"]]  # ...but not then
    # ...and the booking is stored for that customer, with her.
    with live_server.app.app_context():
        booking = db.session.scalars(
            db.select(Booking).where(Booking.booking_code == detail["booking_code"])
        ).one()
        assert booking.customer_id == stored["id"]
        assert booking.agent_id == amy
    assert_clean(tab)


def test_a_page_of_another_origin_cannot_use_the_key(
    tab: Any, live_server: LiveServer, shop: Shop, host_sites: Callable[[], HostSite]
) -> None:
    elsewhere = host_sites()
    # That origin is a customer of ours too (its own key lists it), so the browser's
    # preflight passes and the request with the shop's key reaches the API, which refuses.
    with live_server.app.app_context(), unit_of_work():
        create_api_key("other site", [], allowed_origins=[elsewhere.origin], publishable=True)
    # What the API answered, as the browser's network layer saw it (the page cannot read it:
    # no Access-Control-Allow-Origin for a refused origin).
    sent: dict[str, str] = {}
    answers: list[tuple[str, int]] = []
    network = tab.context.new_cdp_session(tab)
    network.send("Network.enable")

    def note_request(event: dict[str, Any]) -> None:
        request = event["request"]
        sent.setdefault(event["requestId"], f"{request['method']} {request['url']}")

    network.on("Network.requestWillBeSent", note_request)
    network.on(
        "Network.responseReceivedExtraInfo",
        lambda e: answers.append((sent.get(e["requestId"], "?"), e["statusCode"])),
    )
    tab.goto(elsewhere.page("/stolen.html", shop.key, live_server.url, flow="register"))

    alert = tab.get_by_role("alert")
    alert.wait_for()
    assert "not available on this page" in alert.inner_text()
    assert tab.get_by_role("button", name="Try again").is_visible()
    assert tab.locator("input").count() == 0  # no form to fill
    assert (f"GET {live_server.url}/api/v1/form", 403) in answers, answers
    direct = requests.get(
        f"{live_server.url}/api/v1/form",
        headers={"X-API-Key": shop.key, "Origin": elsewhere.origin},
        timeout=10,
    )
    assert direct.status_code == 403
    assert direct.json()["error"]["code"] == "origin_not_allowed"
    # The browser kept the refusal from the page: only the CORS error is logged.
    assert tab.evaluate("window.__violations") == []


def test_the_host_pages_css_does_not_reach_the_widget(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    url = shop.site.page(
        "/hostile.html", shop.key, live_server.url, css=HOSTILE_CSS, flow="register"
    )
    tab.goto(url)
    first_name = tab.get_by_label("First name")
    first_name.wait_for()

    def computed(locator: Any, *names: str) -> dict[str, str]:
        styles: dict[str, str] = locator.evaluate(
            "(el, names) => Object.fromEntries(names.map("
            "n => [n, getComputedStyle(el).getPropertyValue(n)]))",
            list(names),
        )
        return styles

    # The host's rules do apply to its own page...
    assert computed(tab.locator("main > p"), "font-size")["font-size"] == "40px"
    # ...but not to the widget's inputs, labels and buttons.
    inside = computed(first_name, "display", "color", "font-size", "background-color")
    assert inside["display"] == "block"
    assert inside["color"] != "rgb(255, 0, 0)"
    assert inside["background-color"] != "rgb(255, 255, 0)"
    assert inside["font-size"] == "16px"
    label = computed(tab.locator("label").first, "visibility", "font-size", "letter-spacing")
    assert label == {"visibility": "visible", "font-size": "16px", "letter-spacing": "normal"}
    button = tab.get_by_role("button", name="Register")
    assert computed(button, "display")["display"] != "none"
    assert first_name.is_visible()
    assert button.is_visible()
    assert_clean(tab)


def test_a_server_side_error_appears_beside_its_field(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    taken = requests.post(
        f"{live_server.url}/api/v1/customers",
        json={"first_name": "Alan", "last_name": "Turing", "email": "alan.widget@example.com"},
        headers={"X-API-Key": shop.secret},
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    tab.goto(shop.site.page("/errors.html", shop.key, live_server.url, flow="register"))
    tab.get_by_label("First name").fill("Alan")
    tab.get_by_label("Last name").fill("Turing")
    tab.get_by_label("Email").fill("alan.widget@example.com")
    # A UK number that no pattern of the browser's could judge: the server's rule refuses it.
    tab.get_by_label("Phone").fill("07700 900123")
    tab.get_by_role("button", name="Register").click()

    phone = tab.get_by_label("Phone")
    phone_error = tab.locator("[id$='-phone-error']")
    phone_error.wait_for()
    assert "valid phone number" in phone_error.inner_text()
    assert phone.get_attribute("aria-invalid") == "true"
    assert phone_error.get_attribute("id") in (phone.get_attribute("aria-describedby") or "")
    assert phone.evaluate("el => el === el.getRootNode().activeElement")  # focus went there

    phone.fill("07400 654321")
    tab.get_by_role("button", name="Register").click()
    email_error = tab.locator("[id$='-email-error']")
    try:
        email_error.wait_for()
    except Exception:
        raise AssertionError(f"no email error; the widget says: {widget_text(tab)}") from None
    assert email_error.inner_text() == "This email address is already registered"
    assert tab.get_by_label("Email").get_attribute("aria-invalid") == "true"
    assert tab.locator("[id$='-phone-error']").is_hidden()  # the phone is fine now
    assert events(tab) == []
    assert_clean(tab)


def test_the_browser_checks_the_published_constraints_first(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    tab.goto(shop.site.page("/checks.html", shop.key, live_server.url, flow="register"))
    requests_seen: list[str] = []
    tab.on("request", lambda r: requests_seen.append(r.method + " " + r.url))
    tab.get_by_label("First name").fill("A")  # under the minimum length GET /form gave
    tab.get_by_role("button", name="Register").click()

    first_error = tab.locator("[id$='-first_name-error']")
    first_error.wait_for()
    assert first_error.inner_text()  # the browser's own message
    settings = live_server.app.extensions[RULES_EXTENSION_KEY]
    assert tab.get_by_label("First name").get_attribute("minlength") == str(
        settings.name_min_length
    )
    assert not [r for r in requests_seen if r.startswith("POST")]  # nothing was sent
    assert_clean(tab)


def test_popup_mode_opens_with_a_button_and_works_by_keyboard(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    languages: list[str | None] = []
    tab.on(
        "request",
        lambda r: (
            languages.append(r.headers.get("accept-language")) if "/api/v1/" in r.url else None
        ),
    )
    tab.goto(
        shop.site.page(
            "/popup.html", shop.key, live_server.url, flow="register", mode="popup", lang="en-GB"
        )
    )
    opener = tab.get_by_role("button", name="Register")
    opener.wait_for()
    assert tab.locator("dialog").is_hidden()
    # Wait until the form behind the button has loaded, then go by keyboard only.
    tab.wait_for_function(
        "() => document.querySelector('#widget').shadowRoot.querySelector('dialog input')"
    )
    tab.keyboard.press("Tab")
    assert (
        tab.evaluate("() => document.activeElement.shadowRoot.activeElement.textContent")
        == "Register"
    )
    tab.keyboard.press("Enter")
    dialog = tab.get_by_role("dialog")
    dialog.wait_for()
    assert tab.locator(".lp-root").get_attribute("lang") == "en-GB"
    focused = "() => document.activeElement.shadowRoot.activeElement.getAttribute('name')"
    assert tab.evaluate(focused) == "first_name"
    tab.keyboard.type("Katherine")
    tab.keyboard.press("Tab")
    assert tab.evaluate(focused) == "last_name"
    tab.keyboard.type("Johnson")
    tab.keyboard.press("Tab")
    tab.keyboard.type("katherine.widget@example.com")
    tab.keyboard.press("Enter")  # submits the form

    code = done_code(tab)
    assert [e["detail"]["customer_code"] for e in events(tab)] == [code]
    assert languages
    assert set(languages) == {"en-GB"}  # data-lang, sent to the API
    tab.keyboard.press("Escape")
    assert tab.locator("dialog").is_hidden()
    assert_clean(tab)


def test_screenshots_of_the_widget_on_a_host_page(
    tab: Any, live_server: LiveServer, shop: Shop, snap: Any
) -> None:
    tab.goto(shop.site.page("/shot.html", shop.key, live_server.url, flow="booking", lang="en-GB"))
    tab.get_by_label("Haircut").check()
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Harbour Street").check()
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Day").fill(visiting_day().isoformat())
    times_on(tab, visiting_day().isoformat()).first.wait_for()
    paths = snap(tab, "widget")
    assert [p.name for p in paths] == ["widget-desktop.png", "widget-phone.png"]
    assert_clean(tab)


def test_a_taken_time_sends_the_visitor_back_to_the_times(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    day = (visiting_day() + timedelta(days=1)).isoformat()
    # Preselected on the page: the widget starts at the place and person, Harbour chosen.
    url = shop.site.page(
        "/haircut.html",
        shop.key,
        live_server.url,
        flow="booking",
        service="haircut",
        location="harbour",
    )
    tab.goto(url)
    assert tab.get_by_label("Harbour Street").is_checked()
    assert tab.get_by_label("Haircut").count() == 0  # the service step was skipped
    tab.get_by_label("Amy Pond").check()
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Day").fill(day)
    times = times_on(tab, day)
    times.first.wait_for()
    visitor = {"Origin": shop.site.origin, "X-API-Key": shop.key}
    catalog = requests.get(f"{live_server.url}/api/v1/catalog", headers=visitor, timeout=10)
    ids = {
        kind: {i["key"]: i["id"] for i in items}
        for kind, items in catalog.json()["data"].items()
        if kind != "offers"
    }
    query = (
        f"service_id={ids['services']['haircut']}&location_id={ids['locations']['harbour']}"
        f"&agent_id={ids['agents']['amy']}&date={day}"
    )
    free = requests.get(
        f"{live_server.url}/api/v1/availability?{query}", headers=visitor, timeout=10
    )
    first_start = free.json()["data"]["slots"][0]["start"]
    first_label = times.first.inner_text()
    times.first.click()

    tab.get_by_label("First name").fill("Mary")
    tab.get_by_label("Last name").fill("Somerville")
    tab.get_by_label("Email").fill("mary.widget@example.com")
    tab.get_by_label("Phone").fill("07700 900123")  # read in the location's country: refused
    tab.get_by_role("button", name="Book").click()
    phone_error = tab.locator("[id$='-phone-error']")
    phone_error.wait_for()
    assert "valid phone number" in phone_error.inner_text()

    # Meanwhile another visitor of the shop takes that very time.
    taken = requests.post(
        f"{live_server.url}/api/v1/bookings",
        json={
            "service_id": ids["services"]["haircut"],
            "location_id": ids["locations"]["harbour"],
            "agent_id": ids["agents"]["amy"],
            "start": first_start,
            "customer": {"first_name": "Eve", "last_name": "Quick", "email": "eve@example.com"},
        },
        headers=visitor,
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    tab.get_by_label("Phone").fill("07400 123456")
    tab.get_by_role("button", name="Book").click()

    alert = tab.get_by_role("alert")
    tab.get_by_role("heading", name="Day and time").wait_for()
    assert "just been taken" in alert.inner_text()
    times.first.wait_for()
    assert times.first.inner_text() != first_label  # that time is gone from the list
    times.first.click()
    assert tab.get_by_label("Email").input_value() == ""  # a new details form...
    tab.get_by_label("First name").fill("Mary")
    tab.get_by_label("Last name").fill("Somerville")
    tab.get_by_label("Email").fill("mary.widget@example.com")
    tab.get_by_role("button", name="Book").click()
    done_code(tab)
    booked = events(tab)
    assert len(booked) == 1
    assert booked[0]["detail"]["start"][:16] != first_start
    assert_clean(tab)


def test_a_lost_answer_is_said_and_the_retry_is_the_same_request(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    tab.goto(shop.site.page("/offline.html", shop.key, live_server.url, flow="register"))
    tab.get_by_label("First name").fill("Hedy")
    tab.get_by_label("Last name").fill("Lamarr")
    tab.get_by_label("Email").fill("hedy.widget@example.com")
    keys: list[str | None] = []
    tab.on(
        "request",
        lambda r: (
            keys.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith("/api/v1/customers")
            else None
        ),
    )
    # The connection drops on the way: the browser gets no answer at all.
    tab.route("**/api/v1/customers", lambda route: route.abort("internetdisconnected"))
    tab.get_by_role("button", name="Register").click()
    alert = tab.get_by_role("alert")
    alert.wait_for()
    assert "could not reach the booking service" in alert.inner_text()
    assert events(tab) == []

    tab.unroute("**/api/v1/customers")
    tab.get_by_role("button", name="Register").click()
    done_code(tab)
    assert len(events(tab)) == 1
    assert len(keys) == 2
    assert keys[0] is not None
    assert keys[0] == keys[1]  # the same body, the same Idempotency-Key: never twice
    assert tab.evaluate("window.__violations") == []


def test_a_cross_origin_isolated_host_page_can_load_it(
    tab: Any, live_server: LiveServer, host_sites: Callable[[], HostSite]
) -> None:
    """Our files say Cross-Origin-Resource-Policy: cross-origin, so a page that requires it
    of everything it embeds (COEP require-corp) still runs the widget."""
    isolated = host_sites()
    isolated.headers["Cross-Origin-Embedder-Policy"] = "require-corp"
    isolated.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    with live_server.app.app_context(), unit_of_work():
        _, key = create_api_key(
            "isolated shop", [], allowed_origins=[isolated.origin], publishable=True
        )
    tab.goto(isolated.page("/isolated.html", key, live_server.url, flow="register"))

    tab.get_by_label("First name").wait_for()
    assert tab.evaluate("window.crossOriginIsolated") is True
    assert_clean(tab)


def api_languages(page: Any) -> list[str | None]:
    """The Accept-Language of every API request the page sends from now on."""
    seen: list[str | None] = []
    page.on(
        "request",
        lambda r: seen.append(r.headers.get("accept-language")) if "/api/v1/" in r.url else None,
    )
    return seen


def test_a_wordpress_style_language_tag_is_read_as_its_bcp47_form(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    languages = api_languages(tab)
    url = shop.site.page("/de.html", shop.key, live_server.url, flow="booking", lang="de_DE")
    tab.goto(url)
    tab.get_by_label("Haircut").check()
    tab.get_by_role("button", name="Weiter").click()  # the widget's words are German's
    tab.get_by_label("Harbour Street").check()
    tab.get_by_role("button", name="Weiter").click()
    day = visiting_day().isoformat()
    tab.get_by_label("Tag", exact=True).fill(day)
    times_on(tab, day).first.wait_for()

    assert tab.locator(".lp-root").get_attribute("lang") == "de-DE"
    # The day is written as German writes it (Intl.DateTimeFormat("de-DE")).
    expected = tab.evaluate(
        "d => new Intl.DateTimeFormat('de-DE', {dateStyle: 'full', timeZone: 'UTC'})"
        ".format(new Date(d + 'T00:00:00Z'))",
        day,
    )
    assert expected in tab.locator(".lp-slots legend").inner_text()
    assert languages
    assert set(languages) == {"de-DE"}  # a value the browser sends without a preflight
    assert_clean(tab)


def test_an_invalid_language_tag_is_ignored_for_the_pages_own(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    languages = api_languages(tab)
    url = shop.site.page(
        "/bad-lang.html",
        shop.key,
        live_server.url,
        flow="register",
        lang="not a tag!",
        html_lang="en_GB",
    )
    tab.goto(url)
    tab.get_by_label("First name").wait_for()

    assert tab.locator(".lp-root").get_attribute("lang") == "en-GB"  # <html lang>, read too
    assert languages
    assert set(languages) == {"en-GB"}
    assert_clean(tab)


def test_without_data_lang_the_language_around_the_element_is_used(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    languages = api_languages(tab)
    around = '<section lang="en-IE"><p>Our Dublin salon.</p></section>'
    # The widget's own element sits outside that section: <html lang> is the one around it.
    url = shop.site.page(
        "/page-lang.html",
        shop.key,
        live_server.url,
        flow="register",
        html_lang="en-AU",
        before=around,
    )
    tab.goto(url)
    tab.get_by_label("First name").wait_for()

    assert tab.locator(".lp-root").get_attribute("lang") == "en-AU"
    assert set(languages) == {"en-AU"}
    assert_clean(tab)


def test_an_address_the_browser_doubts_is_left_to_the_servers_rule(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    tab.goto(shop.site.page("/utf8.html", shop.key, live_server.url, flow="register"))
    tab.get_by_label("First name").fill("Jörg")
    tab.get_by_label("Last name").fill("Müller")
    email = tab.get_by_label("Email")
    email.fill("not-an-address")
    tab.get_by_role("button", name="Register").click()

    # The browser's type check would have refused it here; the server's rule did.
    error = tab.locator("[id$='-email-error']")
    error.wait_for()
    assert error.inner_text()
    assert email.get_attribute("aria-invalid") == "true"
    assert events(tab) == []

    email.fill("jörg.widget@example.com")  # SMTPUTF8: the rules allow it, the browser not
    assert email.evaluate("el => el.validity.typeMismatch")
    tab.get_by_role("button", name="Register").click()
    done_code(tab)
    [registered] = events(tab)
    assert read_customer(live_server, shop, registered["detail"]["id"])["email"] == (
        "jörg.widget@example.com"
    )
    assert_clean(tab)


def test_the_browser_still_checks_required_on_an_email_input(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    tab.goto(shop.site.page("/no-email.html", shop.key, live_server.url, flow="register"))
    posts: list[str] = []
    tab.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    tab.get_by_label("First name").fill("Jörg")
    tab.get_by_label("Last name").fill("Müller")
    tab.get_by_role("button", name="Register").click()

    error = tab.locator("[id$='-email-error']")
    error.wait_for()
    assert error.inner_text() == tab.get_by_label("Email").evaluate("el => el.validationMessage")
    assert posts == []
    assert_clean(tab)


def post_keys(page: Any, path: str) -> list[str | None]:
    keys: list[str | None] = []
    page.on(
        "request",
        lambda r: (
            keys.append(r.headers.get("idempotency-key"))
            if r.method == "POST" and r.url.endswith(path)
            else None
        ),
    )
    return keys


def test_after_a_final_answer_the_next_submit_is_a_new_request(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    taken = requests.post(
        f"{live_server.url}/api/v1/customers",
        json={"first_name": "Emmy", "last_name": "Noether", "email": "emmy.widget@example.com"},
        headers={"X-API-Key": shop.secret},
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    tab.goto(shop.site.page("/again.html", shop.key, live_server.url, flow="register"))
    keys = post_keys(tab, "/api/v1/customers")
    tab.get_by_label("First name").fill("Emmy")
    tab.get_by_label("Last name").fill("Noether")
    tab.get_by_label("Email").fill("emmy.widget@example.com")
    tab.get_by_role("button", name="Register").click()
    email_error = tab.locator("[id$='-email-error']")
    email_error.wait_for()
    assert email_error.inner_text() == "This email address is already registered"

    # The business corrects the other record's address; the visitor tries again unchanged.
    with live_server.app.app_context(), unit_of_work():
        other = db.session.scalars(
            db.select(Customer).where(Customer.email == "emmy.widget@example.com")
        ).one()
        other.email = "emmy.noether@example.org"
    tab.get_by_role("button", name="Register").click()

    done_code(tab)  # not the stored 409 replayed
    assert len(keys) == 2
    assert None not in keys
    assert keys[0] != keys[1]
    assert_clean(tab)


def test_a_request_still_in_flight_is_retried_after_a_moment(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    """Another request with the widget's key is still running on the server (a real claim in
    its idempotency records): 409 idempotency_conflict, said kindly, then retried."""
    tab.goto(shop.site.page("/inflight.html", shop.key, live_server.url, flow="register"))
    tab.get_by_label("First name").fill("Lise")
    tab.get_by_label("Last name").fill("Meitner")
    tab.get_by_label("Email").fill("lise.widget@example.com")
    tab.evaluate(
        """() => {
          window.__statuses = [];
          const status = document.querySelector('#widget').shadowRoot.querySelector('.lp-status');
          new MutationObserver(() => window.__statuses.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
        }"""
    )
    keys: list[str] = []
    with live_server.app.app_context():
        api_key_id = db.session.scalars(
            db.select(ApiKey.id).where(ApiKey.key_hash == hash_key(shop.key))
        ).one()

    def hold_the_key(route: Any) -> None:
        request = route.request
        key = request.headers["idempotency-key"]
        keys.append(key)
        with live_server.app.app_context(), unit_of_work():
            if len(keys) == 1:  # as if an earlier send of this body were still running
                now = utcnow()
                db.session.add(
                    IdempotencyRecord(
                        api_key_id=api_key_id,
                        key=key,
                        fingerprint=fingerprint("POST", "/customers", request.post_data_buffer),
                        response_status=None,
                        created_at=now,
                        expires_at=now + timedelta(hours=1),
                    )
                )
            elif len(keys) == 2:  # it ended without an answer to keep: the claim is released
                db.session.execute(db.delete(IdempotencyRecord).where(IdempotencyRecord.key == key))
        route.continue_()

    tab.route("**/api/v1/customers", hold_the_key)
    tab.get_by_role("button", name="Register").click()

    done_code(tab)
    assert len(keys) == 2
    assert keys[0] == keys[1]  # the same request again, never a second customer
    assert "Still working on your request…" in tab.evaluate("window.__statuses")
    assert len(events(tab)) == 1
    assert_clean(tab)


def test_the_day_buttons_wait_for_a_day(tab: Any, live_server: LiveServer, shop: Shop) -> None:
    held: list[Any] = []
    tab.route("**/api/v1/availability*", lambda route: held.append(route))
    url = shop.site.page(
        "/days.html",
        shop.key,
        live_server.url,
        flow="booking",
        service="haircut",
        location="harbour",
    )
    tab.goto(url)
    tab.get_by_role("button", name="Continue").click()
    previous = tab.get_by_role("button", name="Previous day")
    following = tab.get_by_role("button", name="Next day")
    following.wait_for()
    assert previous.is_disabled()  # no answer yet
    assert following.is_disabled()
    assert len(held) == 1
    held.pop().abort("internetdisconnected")
    tab.get_by_role("alert").wait_for()
    assert previous.is_disabled()  # the load failed: no day
    assert following.is_disabled()

    tab.unroute("**/api/v1/availability*")
    tab.get_by_role("button", name="Try again").click()
    tab.locator(".lp-slots").wait_for()
    assert following.is_enabled()
    assert previous.is_disabled()  # today, at Harbour Street
    following.click()
    tomorrow = tab.locator(".lp-slots").get_attribute("data-day")
    assert previous.is_enabled()
    assert tab.get_by_label("Day").input_value() == tomorrow
    # The aborted request is logged (by the browser, and the widget's hint), nothing else.
    unexpected = [
        m
        for m in tab.console_errors
        if not m.startswith("Failed to load resource") and "no answer from" not in m
    ]
    assert unexpected == []
    assert tab.evaluate("window.__violations") == []


def test_an_element_that_cannot_hold_the_widget_does_not_stop_the_others(
    tab: Any, live_server: LiveServer, shop: Shop
) -> None:
    unfit = (
        f'<ul><li data-latepoint-widget data-key="{html.escape(shop.key)}" '
        'data-flow="register">Book</li></ul>'
    )
    tab.goto(shop.site.page("/list.html", shop.key, live_server.url, flow="register", before=unfit))

    tab.get_by_label("First name").wait_for()  # the widget after it started
    assert tab.locator("li").inner_text() == "Book"
    failures = [m for m in tab.console_errors if "could not start" in m]
    assert len(failures) == 1
    assert [m for m in tab.console_errors if m not in failures] == []
    assert tab.evaluate("window.__violations") == []


@pytest.fixture
def far_apart_places(live_server: LiveServer) -> Iterator[None]:
    """A service at two places a day apart: Pago Pago (UTC-11) and Kiritimati (UTC+14)."""
    hours = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    with live_server.app.app_context(), unit_of_work():
        swim = Service(
            key="swim", name="Lagoon swim", duration_minutes=30, slot_interval_minutes=30
        )
        west = Location(
            key="pago", name="Pago Pago Bay", timezone="Pacific/Pago_Pago", opening_hours=hours
        )
        east = Location(
            key="kiritimati",
            name="Kiritimati Lagoon",
            timezone="Pacific/Kiritimati",
            opening_hours=hours,
        )
        guide = Agent(key="moana", name="Moana Tala")
        db.session.add_all([swim, west, east, guide])
        db.session.flush()
        ids = (swim.id, west.id, east.id, guide.id)
        for place in (west, east):
            db.session.add(AgentOffer(agent_id=guide.id, service_id=swim.id, location_id=place.id))
    try:
        yield
    finally:
        with live_server.app.app_context(), unit_of_work():
            db.session.execute(db.delete(AgentOffer).where(AgentOffer.service_id == ids[0]))
            db.session.execute(db.delete(Agent).where(Agent.id == ids[3]))
            db.session.execute(db.delete(Location).where(Location.id.in_(ids[1:3])))
            db.session.execute(db.delete(Service).where(Service.id == ids[0]))


def test_today_is_the_chosen_places_own(
    tab: Any, live_server: LiveServer, shop: Shop, far_apart_places: None
) -> None:
    catalog = api_get(live_server, shop, "/catalog")
    swim = next(s["id"] for s in catalog["services"] if s["key"] == "swim")
    places = {loc["key"]: loc["id"] for loc in catalog["locations"]}

    def today_at(place: str) -> str:
        # The server's own answer: asked without a day, it shows today where the place is.
        found = api_get(
            live_server, shop, f"/availability?service_id={swim}&location_id={places[place]}"
        )
        day: str = found["date"]
        return day

    west, east = today_at("pago"), today_at("kiritimati")
    assert west < east  # 25 hours apart: always another date
    tab.goto(
        shop.site.page("/swim.html", shop.key, live_server.url, flow="booking", service="swim")
    )
    tab.get_by_label("Pago Pago Bay").check()
    tab.get_by_role("button", name="Continue").click()
    tab.locator(f".lp-slots[data-day='{west}']").wait_for()
    day = tab.get_by_label("Day")
    assert day.get_attribute("min") == west
    assert tab.get_by_role("button", name="Previous day").is_disabled()

    tab.get_by_role("button", name="Back").click()
    tab.get_by_label("Kiritimati Lagoon").check()
    tab.get_by_role("button", name="Continue").click()
    # Pago Pago's today is already yesterday there: not carried over, not the minimum.
    tab.locator(f".lp-slots[data-day='{east}']").wait_for()
    assert day.get_attribute("min") == east
    assert day.input_value() == east
    assert tab.get_by_role("button", name="Previous day").is_disabled()
    assert_clean(tab)


def words_in(language: str) -> dict[str, Any]:
    if language == SOURCE_LANGUAGE:
        return texts_for(NullTranslations(), language)
    return texts_for(Translations.load(str(TRANSLATIONS), [language]), language)


def english_words_left(page: Any, language: str) -> list[str]:
    """English of the widget's own words, or of the catalogs' longer messages (the API's
    labels and errors), that the widget shows although its language writes it otherwise."""
    english, mine = words_in(SOURCE_LANGUAGE), words_in(language)
    fragments = set(english_sentences(language))
    for key, template in english.items():
        if isinstance(template, str) and template != mine[key]:
            for fragment in PLACEHOLDER_TEXT.split(template):
                if len(fragment.split()) >= 2:
                    fragments.add(" ".join(fragment.split()).strip(" ,.()"))
    text = " ".join(widget_text(page).split())
    return sorted(fragment for fragment in fragments if fragment and fragment in text)


# Languages whose run is at phone width (the others at desktop width): both widths audited.
PHONE_WIDTH_LANGUAGES = ("ja", "pl")


@pytest.mark.parametrize("language", sorted(CATALOGS))
def test_the_widget_books_and_registers_in_the_page_s_language(
    tab: Any, live_server: LiveServer, shop: Shop, language: str
) -> None:
    """Every state of both flows: in the language, no English left, and axe-core finds no
    serious or critical violation on the host page with the widget (its shadow root)."""
    words = words_in(language)
    left: dict[str, list[str]] = {}
    if language in PHONE_WIDTH_LANGUAGES:
        tab.set_viewport_size(PHONE)

    def check(state: str) -> None:
        assert tab.locator(".lp-root").get_attribute("lang") == language, state
        found = english_words_left(tab, language)
        if found:
            left[state] = found
        assert_no_serious_violations(tab, f"the widget in {language}: {state}")

    # The page says its language in <html lang> (no data-lang): the widget follows it.
    url = shop.site.page(
        f"/book-{language}.html", shop.key, live_server.url, flow="booking", html_lang=language
    )
    tab.goto(url)
    tab.get_by_label("Haircut").wait_for()
    assert tab.get_by_role("heading", name=words["bookingTitle"]).is_visible()
    check("service")
    tab.get_by_label("Haircut").check()
    tab.get_by_role("button", name=words["next"]).click()
    tab.get_by_label("Harbour Street").check()
    tab.get_by_label("Amy Pond").check()
    check("place and person")
    tab.get_by_role("button", name=words["next"]).click()
    day = visiting_day().isoformat()
    tab.get_by_label(words["day"], exact=True).fill(day)
    times = times_on(tab, day)
    times.first.wait_for()
    check("times")
    # The count of free times is said in the language's plural form for it.
    count = times.count()
    category = Locale.parse(language).plural_form(count)
    forms = words["timesShown"]
    said = (forms.get(category) or forms["other"]).replace("%(num)d", str(count))
    assert tab.locator(".lp-status").inner_text() == said
    times.first.click()
    check("details")
    tab.locator("[name=first_name]").fill("Zoë")
    tab.locator("[name=last_name]").fill("Okafor")
    tab.locator("[name=email]").fill(f"zoe.widget.{language}@example.com")
    tab.get_by_role("button", name=words["book"], exact=True).click()
    code = done_code(tab)
    assert tab.get_by_role("heading", name=words["booked"]).is_visible()
    done = words["bookedCode"].replace("%(code)s", code)
    assert done in " ".join(widget_text(tab).split())
    check("booked")

    url = shop.site.page(
        f"/register-{language}.html", shop.key, live_server.url, flow="register", lang=language
    )
    tab.goto(url)
    tab.locator("[name=first_name]").wait_for()
    check("register")
    tab.locator("[name=first_name]").fill("Zoë")
    tab.locator("[name=last_name]").fill("Okafor")
    tab.locator("[name=email]").fill(f"zoe.widget.{language}@example.com")  # on file now
    tab.get_by_role("button", name=words["register"], exact=True).click()
    # A server-side refusal (the address is registered), in the language, beside its field.
    error = tab.locator(".lp-error:visible")
    error.first.wait_for()
    assert error.first.inner_text() != "This email address is already registered"
    check("register refused")
    tab.locator("[name=email]").fill(f"zoe.widget.{language}.2@example.com")
    tab.get_by_role("button", name=words["register"], exact=True).click()
    code = done_code(tab)
    assert words["customerCode"].replace("%(code)s", code) in " ".join(widget_text(tab).split())
    check("registered")

    assert left == {}, left
    assert_clean(tab)
