"""Checking a catalog file's contents before anything is written (see loader.py).

Every problem is collected, with its place in the file (``services[1].duration: …``), and
raised at once as ``CatalogFileError``. What comes out is, per section, the column values of
each item by its key, ready to write.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, TypeGuard

import phonenumbers

from ..countries import country_in_sentence
from ..customers import rules
from ..i18n import LANGUAGES
from ..models import CUSTOM_FIELD_TYPES, GRANULE_MINUTES, WEEKDAYS
from ..models.catalog import LOCATION_ADDRESS_MAX_LENGTH
from . import hours

SECTIONS = ("services", "locations", "agents", "custom_fields")
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_FIELD_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a JSON key in custom_fields
_INTERVAL_RE = re.compile(r"([0-9]{2}:[0-9]{2})-([0-9]{2}:[0-9]{2})")
_MAX_MINUTES = 24 * 60
_ALLOWED = {
    "services": {"key", "name", "duration", "slot_interval", "active"},
    "locations": {
        "key",
        "name",
        "timezone",
        "hours",
        "address",
        "country",
        "phone",
        "language",
        "active",
    },
    "agents": {"key", "name", "offers", "active"},
    "custom_fields": {"key", "label", "type", "required", "help_text", "active"}
    | {"options", "max_length", "min", "max"},
}
# The type-specific settings each custom field type accepts.
_TYPE_LIMITS = {
    "text": {"max_length"},
    "textarea": {"max_length"},
    "url": {"max_length"},
    "number": {"min", "max"},
    "date": {"min", "max"},
    "select": {"options"},
}


class CatalogFileError(ValueError):
    """The file cannot be loaded; ``problems`` says every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Checker:
    """Collects problems as ``services[2].duration: must be …``."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(
        self,
        item: dict[str, Any],
        name: str,
        where: str,
        *,
        max_length: int = 100,
        required: bool = True,
    ) -> str | None:
        value = item.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > max_length:
            self.fail(f"{where}.{name}", f"must be text of 1 to {max_length} characters")
            return None
        return value.strip()

    def flag(self, item: dict[str, Any], name: str, where: str, default: bool) -> bool:
        value = item.get(name, default)
        if not isinstance(value, bool):
            self.fail(f"{where}.{name}", "must be true or false")
            return default
        return value

    def minutes(self, item: dict[str, Any], name: str, where: str) -> int | None:
        value = item.get(name)
        if not _whole(value, GRANULE_MINUTES, _MAX_MINUTES) or value % GRANULE_MINUTES:
            self.fail(
                f"{where}.{name}",
                f"must be a whole number of minutes, a multiple of {GRANULE_MINUTES}, "
                f"from {GRANULE_MINUTES} to {_MAX_MINUTES}",
            )
            return None
        return value


def _items(data: dict[str, Any], section: str, check: _Checker) -> list[tuple[str, dict[str, Any]]]:
    raw = data.get(section, [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        check.fail(section, f"must be a list of tables ([[{section}]])")
        return []
    items, seen = [], set()
    pattern = _FIELD_KEY_RE if section == "custom_fields" else _SLUG_RE
    for index, item in enumerate(raw):
        where = f"{section}[{index}]"
        for unknown in sorted(set(item) - _ALLOWED[section]):
            check.fail(f"{where}.{unknown}", "unknown setting")
        key = item.get("key")
        if not isinstance(key, str) or not pattern.fullmatch(key):
            shape = "lower-case letters, digits, - and _"
            if section == "custom_fields":
                shape = "a lower-case letter, then lower-case letters, digits and _"
            check.fail(f"{where}.key", f"must be 1 to 64 characters: {shape}")
            continue
        if key in seen:
            check.fail(f"{where}.key", f"{key!r} is listed twice")
            continue
        seen.add(key)
        items.append((where, item))
    return items


def _service(where: str, item: dict[str, Any], check: _Checker) -> dict[str, Any]:
    return {
        "name": check.text(item, "name", where),
        "duration_minutes": check.minutes(item, "duration", where),
        "slot_interval_minutes": check.minutes(item, "slot_interval", where),
        "active": check.flag(item, "active", where, True),
    }


def _opening_hours(where: str, raw: Any, check: _Checker) -> dict[str, list[list[str]]]:
    result: dict[str, list[list[str]]] = {day: [] for day in WEEKDAYS}
    if not isinstance(raw, dict):
        check.fail(where, 'must be a table such as { mon = ["09:00-17:00"], sun = [] }')
        return result
    for day, intervals in raw.items():
        if day not in WEEKDAYS:
            check.fail(f"{where}.{day}", f"must be one of {', '.join(WEEKDAYS)}")
            continue
        if not isinstance(intervals, list):
            check.fail(f"{where}.{day}", 'must be a list such as ["09:00-12:30", "13:30-18:00"]')
            continue
        previous_close = -1
        for text in intervals:
            match = _INTERVAL_RE.fullmatch(text) if isinstance(text, str) else None
            try:
                if match is None:
                    raise hours.LocalTimeError("use the form HH:MM-HH:MM")
                opens, closes = hours.parse_hhmm(match[1]), hours.parse_hhmm(match[2])
            except hours.LocalTimeError as exc:
                check.fail(f"{where}.{day}", f"{text!r}: {exc}")
                continue
            if opens % GRANULE_MINUTES or closes % GRANULE_MINUTES:
                check.fail(f"{where}.{day}", f"{text!r}: times must be on a 5-minute boundary")
            elif opens >= closes:
                check.fail(f"{where}.{day}", f"{text!r}: must open before it closes")
            elif opens < previous_close:
                check.fail(
                    f"{where}.{day}", f"{text!r}: intervals must be in order and not overlap"
                )
            else:
                result[day].append([match[1], match[2]])
                previous_close = closes
    return result


def _location(where: str, item: dict[str, Any], check: _Checker) -> dict[str, Any]:
    timezone = check.text(item, "timezone", where, max_length=64)
    if timezone is not None:
        try:
            hours.zone(timezone)
        except hours.LocalTimeError:
            check.fail(f"{where}.timezone", f"{timezone!r} is not an IANA time zone name")
    return {
        "name": check.text(item, "name", where),
        "timezone": timezone,
        "opening_hours": _opening_hours(f"{where}.hours", item.get("hours", {}), check),
        "active": check.flag(item, "active", where, True),
        "language": _language(where, item, check),
        **_contact(where, item, check),
    }


def _language(where: str, item: dict[str, Any], check: _Checker) -> str | None:
    """The location's language: one the product is written in (i18n.LANGUAGES), or none."""
    language = check.text(item, "language", where, max_length=8, required=False)
    if language is not None and language not in LANGUAGES:
        check.fail(f"{where}.language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
        return None
    return language


def _contact(where: str, item: dict[str, Any], check: _Checker) -> dict[str, str | None]:
    """A location's address, country and phone, each optional, checked by the customers' rules
    (the same messages): an ISO alpha-2 country, and a phone valid *for that country*, stored
    in E.164 like a customer's."""
    found: dict[str, str | None] = dict.fromkeys(("address", "country", "phone"))
    for name in found:
        if name in item and not isinstance(item[name], str):
            check.fail(f"{where}.{name}", "must be text")
    address, country, phone = (item.get(n) for n in found)
    try:
        if isinstance(address, str):
            found["address"] = (
                rules.clean_text(address, label="Address", max_length=LOCATION_ADDRESS_MAX_LENGTH)
                or None
            )
    except rules.RuleError as exc:
        check.fail(f"{where}.address", str(exc))
    try:
        if isinstance(country, str):
            found["country"] = rules.normalise_country(country)
    except rules.RuleError as exc:
        check.fail(f"{where}.country", str(exc))
    if isinstance(phone, str):
        if found["country"] is None:
            check.fail(f"{where}.phone", "a location's phone needs the location's country")
        else:
            found["phone"] = _location_phone(f"{where}.phone", phone, found["country"], check)
    return found


def _location_phone(where: str, phone: str, country: str, check: _Checker) -> str | None:
    try:
        e164 = rules.normalise_phone(phone, region=country)
    except rules.RuleError as exc:
        check.fail(where, str(exc))
        return None
    # "+1 212 …" is a valid number, but not a London shop's: the customers' rule takes any
    # valid number with a country code; a location's must belong to its own country.
    if not phonenumbers.is_valid_number_for_region(phonenumbers.parse(e164), country):
        check.fail(where, f"Enter a valid phone number for {country_in_sentence(country)}")
        return None
    return e164


def _agent(
    where: str, item: dict[str, Any], check: _Checker, known: dict[str, set[str]]
) -> dict[str, Any]:
    offers: set[tuple[str, str]] = set()
    raw = item.get("offers", [])
    if not isinstance(raw, list):
        raw = None
    for index, offer in enumerate(raw or []):
        at = f"{where}.offers[{index}]"
        if (
            not isinstance(offer, dict)
            or set(offer) != {"service", "locations"}
            or not isinstance(offer["service"], str)
            or not isinstance(offer["locations"], list)
        ):
            check.fail(at, 'must be { service = "key", locations = ["key", ...] }')
            continue
        service, locations = offer["service"], offer["locations"]
        if service not in known["services"]:
            check.fail(f"{at}.service", f"no service has the key {service!r}")
        for location in locations:
            if location not in known["locations"]:
                check.fail(f"{at}.locations", f"no location has the key {location!r}")
            offers.add((service, location))
    if raw is None:
        check.fail(f"{where}.offers", "must be a list of offers")
    return {
        "name": check.text(item, "name", where),
        "active": check.flag(item, "active", where, True),
        "offers": offers,
    }


def _bound(value: Any, kind: str, at: str, check: _Checker) -> Any:
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            check.fail(at, "must be a number")
            return None
        return float(value)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    try:
        return datetime.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        pass
    check.fail(at, "must be a date (YYYY-MM-DD)")
    return None


def _custom_field(where: str, item: dict[str, Any], check: _Checker) -> dict[str, Any]:
    kind = item.get("type")
    if kind not in CUSTOM_FIELD_TYPES:
        check.fail(f"{where}.type", f"must be one of: {', '.join(CUSTOM_FIELD_TYPES)}")
        kind = None
    for name in sorted({"options", "max_length", "min", "max"} & set(item)):
        if kind is not None and name not in _TYPE_LIMITS.get(kind, set()):
            check.fail(f"{where}.{name}", f"does not apply to a {kind} field")
    fields: dict[str, Any] = {
        "label": check.text(item, "label", where),
        "type": kind,
        "required": check.flag(item, "required", where, False),
        "help_text": check.text(item, "help_text", where, max_length=200, required=False),
        "active": check.flag(item, "active", where, True),
        **dict.fromkeys(("options", "max_length", "min_number", "max_number")),
        **dict.fromkeys(("min_date", "max_date")),
    }
    if kind == "select":
        fields["options"] = _options(f"{where}.options", item.get("options"), check)
    max_length = item.get("max_length")
    if max_length is not None and not _whole(max_length, 1, 10000):
        check.fail(f"{where}.max_length", "must be a whole number from 1 to 10000")
    elif kind in ("text", "textarea", "url"):
        fields["max_length"] = max_length
    if kind in ("number", "date"):
        low = _bound(item.get("min"), kind, f"{where}.min", check)
        high = _bound(item.get("max"), kind, f"{where}.max", check)
        if low is not None and high is not None and low > high:
            check.fail(f"{where}.min", "must not be above max")
        fields[f"min_{kind}"], fields[f"max_{kind}"] = low, high
    return fields


def _options(where: str, raw: Any, check: _Checker) -> list[dict[str, str]] | None:
    if not isinstance(raw, list) or not raw:
        check.fail(where, 'a select field needs options = ["basic", "gold"] (or tables)')
        return None
    options = []
    for option in raw:
        if isinstance(option, dict) and set(option) == {"value", "label"}:
            value, label = option["value"], option["label"]
        else:
            value = label = option
        if not (_short_text(value) and _short_text(label)):
            check.fail(where, f"{option!r}: each option is text, or {{ value, label }}")
            continue
        options.append({"value": value.strip(), "label": label.strip()})
    if len({o["value"] for o in options}) != len(options):
        check.fail(where, "option values must be different")
    return options


def _whole(value: Any, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value.strip()) <= 100


def check_catalog(
    data: dict[str, Any], *, stored_services: set[str], stored_locations: set[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Check a parsed catalog file; ``stored_*`` are the keys already in the database (an
    agent's offers may name them). Returns {section: {key: column values}}."""
    check = _Checker()
    for unknown in sorted(set(data) - set(SECTIONS)):
        check.fail(unknown, f"unknown section (expected {', '.join(SECTIONS)})")
    sections = {section: _items(data, section, check) for section in SECTIONS}
    services = {item["key"]: _service(w, item, check) for w, item in sections["services"]}
    locations = {item["key"]: _location(w, item, check) for w, item in sections["locations"]}
    known = {
        "services": set(services) | stored_services,
        "locations": set(locations) | stored_locations,
    }
    agents = {item["key"]: _agent(w, item, check, known) for w, item in sections["agents"]}
    fields = {item["key"]: _custom_field(w, item, check) for w, item in sections["custom_fields"]}
    if check.problems:
        raise CatalogFileError(check.problems)
    return {
        "services": services,
        "locations": locations,
        "agents": agents,
        "custom_fields": fields,
    }
