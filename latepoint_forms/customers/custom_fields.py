"""Custom fields: values checked against the configured definitions (SPEC section 4).

One validator per type; each takes the raw JSON value and returns the normalised value, or
raises ``RuleError``. ``validate_custom_fields`` runs them over a whole ``custom_fields``
object and reports every failing key at once, as ``custom_fields.<key>``.

JSON types are strict, as for the customer's own fields: a number is a JSON number (not a
string, not ``true``), a checkbox a JSON boolean. A web form, whose values are all strings,
converts them first with ``form_values_to_json``.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Row, Select, select

from ..booleans import parse_bool
from ..extensions import db
from ..models import CustomFieldDefinition
from ..problems import N_, Problem
from . import rules
from .rules import RuleError

NOT_A_STRING = Problem("not_a_string", N_("Must be a string"))

TEXT_MAX_LENGTH = 255
TEXTAREA_MAX_LENGTH = 2000
URL_MAX_LENGTH = 2000
# Beyond 2**53 a JSON number is no longer exact in JavaScript (and in a float column).
NUMBER_LIMIT = 2**53
ERROR_KEY_MAX_LENGTH = 120


@dataclass(frozen=True)
class FieldOption:
    value: str
    label: str


@dataclass(frozen=True)
class FieldDefinition:
    """What a form needs to render a custom field, and what validation needs to check it."""

    key: str
    label: str
    type: str
    required: bool = False
    options: tuple[FieldOption, ...] = ()
    max_length: int | None = None  # text, textarea, url: None means the type's default
    min: float | datetime.date | None = None  # number or date
    max: float | datetime.date | None = None
    help_text: str | None = None

    @property
    def effective_max_length(self) -> int | None:
        defaults = {"text": TEXT_MAX_LENGTH, "textarea": TEXTAREA_MAX_LENGTH, "url": URL_MAX_LENGTH}
        if self.type not in defaults:
            return None
        return self.max_length or defaults[self.type]

    @classmethod
    def from_model(cls, model: CustomFieldDefinition | Row[Any]) -> FieldDefinition:
        """From a model or a row of its columns (``DEFINITION_COLUMNS``)."""
        is_date = model.type == "date"
        return cls(
            key=model.key,
            label=model.label,
            type=model.type,
            required=model.required,
            options=tuple(FieldOption(o["value"], o["label"]) for o in model.options or ()),
            max_length=model.max_length,
            min=model.min_date if is_date else _plain_number(model.min_number),
            max=model.max_date if is_date else _plain_number(model.max_number),
            help_text=model.help_text,
        )


@dataclass
class _Context:
    region: str | None = None
    check_deliverability: bool = False
    errors: dict[str, str | Problem] = field(default_factory=dict)


DEFINITION_COLUMNS = (
    CustomFieldDefinition.key,
    CustomFieldDefinition.label,
    CustomFieldDefinition.type,
    CustomFieldDefinition.required,
    CustomFieldDefinition.options,
    CustomFieldDefinition.max_length,
    CustomFieldDefinition.min_number,
    CustomFieldDefinition.max_number,
    CustomFieldDefinition.min_date,
    CustomFieldDefinition.max_date,
    CustomFieldDefinition.help_text,
)


# Every create reads these: a Core statement of the table's columns, built once (nothing is
# written back, and building a select per call costs more than running it).
_DEFINITIONS = CustomFieldDefinition.__table__
_ACTIVE_DEFINITIONS_QUERY = (
    select(*(_DEFINITIONS.c[column.key] for column in DEFINITION_COLUMNS))
    .where(_DEFINITIONS.c.active.is_(True))
    .order_by(_DEFINITIONS.c.position, _DEFINITIONS.c.key)
)


def with_active_definitions(query: Select[Any]) -> Select[Any]:
    """``query`` (a statement of one row, none of whose columns is named like a definition's)
    joined to every active definition, in display order: one row per definition, or one row
    with the definition's columns NULL when there is none. ``definitions_in`` reads them back.
    For a caller that needs its row and the definitions, in one round trip instead of two."""
    columns = [_DEFINITIONS.c[column.key] for column in DEFINITION_COLUMNS]
    joined = query.add_columns(*columns)
    froms = query.get_final_froms()
    assert len(froms) == 1, "one table to join the definitions to"
    return joined.select_from(
        froms[0].outerjoin(_DEFINITIONS, _DEFINITIONS.c.active.is_(True))
    ).order_by(_DEFINITIONS.c.position, _DEFINITIONS.c.key)


def definitions_in(rows: Iterable[Row[Any]]) -> list[FieldDefinition]:
    """The definitions of the rows of a ``with_active_definitions`` statement."""
    return [FieldDefinition.from_model(row) for row in rows if row.key is not None]


def active_custom_field_definitions() -> list[FieldDefinition]:
    """The active definitions in display order (as the catalog file lists them)."""
    return [
        FieldDefinition.from_model(row) for row in db.session.execute(_ACTIVE_DEFINITIONS_QUERY)
    ]


def _plain_number(value: float | None) -> float | int | None:
    if value is not None and float(value).is_integer():
        return int(value)
    return value


# --- one validator per type ---------------------------------------------------------------------


def _text(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    limit = definition.effective_max_length or TEXT_MAX_LENGTH
    return rules.clean_text(
        value, label=definition.label, max_length=limit, multiline=definition.type == "textarea"
    )


def _number(value: Any, definition: FieldDefinition, ctx: _Context) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError("not_a_number", N_("Must be a number"))
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError("not_a_number", N_("Must be a number"))
    if abs(value) > NUMBER_LIMIT:
        raise RuleError("out_of_range", N_("This number is too large"))
    normalised = _plain_number(float(value)) if isinstance(value, float) else value
    assert normalised is not None
    minimum, maximum = definition.min, definition.max
    if isinstance(minimum, int | float) and normalised < minimum:
        raise RuleError("too_small", N_("Must be at least %(min)s"), min=minimum)
    if isinstance(maximum, int | float) and normalised > maximum:
        raise RuleError("too_large", N_("Must be at most %(max)s"), max=maximum)
    return normalised


def _date(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    day = rules.parse_iso_date(value)
    if isinstance(definition.min, datetime.date) and day < definition.min:
        raise RuleError(
            "too_early", N_("Must be on or after %(min)s"), min=definition.min.isoformat()
        )
    if isinstance(definition.max, datetime.date) and day > definition.max:
        raise RuleError(
            "too_late", N_("Must be on or before %(max)s"), max=definition.max.isoformat()
        )
    return day.isoformat()


def _select(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    allowed = [option.value for option in definition.options]
    # Exact match (after trimming): option values are identifiers, not free text to guess at.
    if value.strip() not in allowed:
        raise RuleError(
            "not_a_choice", N_("Must be one of: %(choices)s"), choices=", ".join(allowed)
        )
    return value.strip()


def _checkbox(value: Any, definition: FieldDefinition, ctx: _Context) -> bool:
    if not isinstance(value, bool):
        raise RuleError("not_a_boolean", N_("Must be true or false"))
    if definition.required and not value:
        raise RuleError("must_be_ticked", N_("%(label)s must be ticked"), label=definition.label)
    return value


def _email(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    return rules.normalise_email(value, check_deliverability=ctx.check_deliverability)


def _phone(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    return rules.normalise_phone(value, region=ctx.region)


def _url(value: Any, definition: FieldDefinition, ctx: _Context) -> str:
    """An absolute http(s) URL with a host; scheme and host lower-cased."""
    if not isinstance(value, str):
        raise RuleError(NOT_A_STRING)
    limit = definition.effective_max_length or URL_MAX_LENGTH
    value = rules.clean_text(value, label=definition.label, max_length=limit)
    if any(char.isspace() for char in value):
        raise RuleError("invalid_url", N_("A web address cannot contain spaces"))
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        raise RuleError(
            "invalid_url", N_("Enter a valid web address, such as https://example.com")
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise RuleError("invalid_url", N_("Enter a web address starting with http:// or https://"))
    if not parts.hostname or parts.hostname.startswith(".") or ".." in parts.hostname:
        raise RuleError("invalid_url", N_("Enter a valid web address, such as https://example.com"))
    if parts.username is not None or parts.password is not None:
        raise RuleError("invalid_url", N_("A web address must not contain a user name or password"))
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


VALIDATORS: dict[str, Callable[[Any, FieldDefinition, _Context], Any]] = {
    "text": _text,
    "textarea": _text,
    "number": _number,
    "date": _date,
    "select": _select,
    "checkbox": _checkbox,
    "email": _email,
    "phone": _phone,
    "url": _url,
}


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def validate_custom_fields(
    raw: Mapping[str, Any],
    definitions: Iterable[FieldDefinition],
    *,
    region: str | None = None,
    check_deliverability: bool = False,
) -> tuple[dict[str, Any], dict[str, str | Problem]]:
    """Check ``raw`` against ``definitions``: (normalised values, errors by custom_fields.<key>).

    Unknown keys and missing required fields are errors. A blank optional value (None or "")
    is not stored. ``region`` reads national phone numbers (the customer's country).
    """
    by_key = {definition.key: definition for definition in definitions}
    ctx = _Context(region=region, check_deliverability=check_deliverability)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        error_key = f"custom_fields.{key}"[:ERROR_KEY_MAX_LENGTH]
        definition = by_key.get(key)
        if definition is None:
            ctx.errors[error_key] = Problem("unknown_field", N_("Unknown custom field"))
            continue
        if _is_blank(value):
            continue
        try:
            values[key] = VALIDATORS[definition.type](value, definition, ctx)
        except RuleError as exc:
            ctx.errors[error_key] = exc.problem
    for key, definition in by_key.items():
        error_key = f"custom_fields.{key}"
        if definition.required and key not in values and error_key not in ctx.errors:
            ctx.errors[error_key] = Problem(
                "required", N_("%(label)s is required"), {"label": definition.label}
            )
    ordered = {key: values[key] for key in by_key if key in values}
    return ordered, ctx.errors


def form_values_to_json(
    form: Mapping[str, str | None], definitions: Iterable[FieldDefinition]
) -> dict[str, Any]:
    """Turn a web form's strings into the JSON types ``validate_custom_fields`` expects.

    Numbers and checkbox words (``booleans.parse_bool``) that do not parse are passed on as
    strings, so validation reports them; an unticked checkbox (absent or blank) is ``False``.
    """
    result: dict[str, Any] = {}
    for definition in definitions:
        raw = form.get(definition.key)
        if raw is None or raw.strip() == "":
            if definition.type == "checkbox":
                result[definition.key] = False
            continue
        if definition.type == "checkbox":
            ticked = parse_bool(raw)
            result[definition.key] = raw if ticked is None else ticked
            continue
        if definition.type == "number":
            result[definition.key] = _parse_number(raw.strip())
        else:
            result[definition.key] = raw
    return result


def _parse_number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text
