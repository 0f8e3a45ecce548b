"""Custom fields on the customer forms, rendered from their definitions (SPEC section 4).

The registration form shows every active definition; the quick-booking details form shows the
required ones (a guest record cannot be created without them). Each definition becomes an input
of the fitting type (``number``, ``date``, ``select``, …; ``_unbound_field`` is the one mapping
from field type to input) with its limits as HTML attributes. The values are judged by the
service's business rules, whose errors (keyed ``custom_fields.<key>``) land back on these inputs
through ``CustomerForm.apply_errors``: the rules are not repeated here. The inputs are class
attributes of a subclass made per set of definitions (``CustomFieldSet.form_class``), WTForms'
documented way to compose a form at run time, so WTForms binds and fills them itself.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField, URLField

# types-WTForms describes 3.2; SelectChoice is WTForms 3.3's (installed).
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.fields.core import Field, UnboundField
from wtforms.widgets import DateInput, NumberInput, TelInput

from ..customers import rules
from ..customers.custom_fields import (
    FieldDefinition,
    active_custom_field_definitions,
    form_values_to_json,
)
from ..i18n import lazy_gettext

PREFIX = "cf_"
# A select's first, empty option. Lazy: the form classes are cached across requests (and
# languages).
NO_CHOICE = SelectChoice("", lazy_gettext("Choose…"))
FormT = TypeVar("FormT", bound=FlaskForm)


def input_attributes(definition: FieldDefinition) -> dict[str, Any]:
    """The HTML attributes of a custom field's input (also published by ``GET /form``)."""
    attrs: dict[str, Any] = {}
    if definition.required:
        attrs["required"] = True
    if definition.effective_max_length:
        attrs["maxlength"] = definition.effective_max_length
    if definition.type == "number":
        attrs["step"] = "any"
    if definition.type in ("number", "date"):
        for name in ("min", "max"):
            bound = getattr(definition, name)
            if bound is not None:
                attrs[name] = bound.isoformat() if isinstance(bound, date) else str(bound)
    if definition.type == "email":
        attrs["maxlength"] = rules.EMAIL_MAX_LENGTH
    if definition.type == "phone":
        attrs["maxlength"] = rules.PHONE_MAX_LENGTH
    return attrs


# The HTML input of each custom field type, as ``_unbound_field`` renders it (``GET /form``
# publishes it for the widget).
HTML_INPUTS = {
    "text": "text",
    "textarea": "textarea",
    "number": "number",
    "date": "date",
    "select": "select",
    "checkbox": "checkbox",
    "email": "email",
    "phone": "tel",
    "url": "url",
}


def _unbound_field(definition: FieldDefinition) -> UnboundField:
    label = definition.label
    description = getattr(definition, "help_text", None) or ""
    kw: dict[str, Any] = {"description": description, "render_kw": input_attributes(definition)}
    kind = definition.type
    if kind == "textarea":
        return UnboundField(TextAreaField, label, **kw)
    if kind == "number":
        return UnboundField(StringField, label, widget=NumberInput(), **kw)
    if kind == "date":
        return UnboundField(StringField, label, widget=DateInput(), **kw)
    if kind == "select":
        options = [SelectChoice(option.value, option.label) for option in definition.options]
        choices = [NO_CHOICE, *options]
        return UnboundField(SelectField, label, choices=choices, validate_choice=False, **kw)
    if kind == "checkbox":
        return UnboundField(BooleanField, label, **kw)
    if kind == "email":
        return UnboundField(EmailField, label, **kw)
    if kind == "phone":
        return UnboundField(StringField, label, widget=TelInput(), **kw)
    if kind == "url":
        return UnboundField(URLField, label, **kw)
    return UnboundField(StringField, label, **kw)


@dataclass(frozen=True)
class CustomFieldSet:
    """The active definitions, and the bridge between form inputs and ``custom_fields``."""

    definitions: Sequence[FieldDefinition]

    @classmethod
    def empty(cls) -> CustomFieldSet:
        return cls(())

    def required_only(self) -> CustomFieldSet:
        return CustomFieldSet(tuple(d for d in self.definitions if d.required))

    def form_name(self, error_key: str) -> str | None:
        key = error_key.removeprefix("custom_fields.")
        known = any(d.key == key for d in self.definitions)
        return PREFIX + key if known else None

    def form_class(self, base: type[FormT]) -> type[FormT]:
        """``base`` with an input per definition (WTForms' documented dynamic composition:
        a subclass with the fields as class attributes), made once per set of definitions."""
        form_base: type = base
        # type() makes a subclass of base, which the type checker cannot see through.
        return cast("type[FormT]", _with_inputs(form_base, tuple(self.definitions)))

    def fields(self, form: Any) -> list[Field]:
        return [form[PREFIX + d.key] for d in self.definitions]

    def values(self, form: Any) -> dict[str, Any]:
        """The inputs as the JSON ``custom_fields`` object the API would receive."""
        raw = {d.key: _as_text(form[PREFIX + d.key].data) for d in self.definitions}
        values = form_values_to_json(raw, self.definitions)
        # An unticked optional checkbox is "not given", as a blank text input is.
        return {k: v for k, v in values.items() if v is not False}


@functools.lru_cache(maxsize=64)
def _with_inputs(base: type, definitions: tuple[FieldDefinition, ...]) -> type:
    anchor = getattr(base, "notes", None)
    inputs: dict[str, UnboundField] = {}
    for definition in definitions:
        unbound = _unbound_field(definition)
        if isinstance(anchor, UnboundField):
            # WTForms orders a form's fields by (creation counter, name): sharing the notes'
            # counter puts the custom inputs ("cf_…") just before notes, as the page shows
            # them, so the error summary follows the page.
            unbound.creation_counter = anchor.creation_counter
        inputs[PREFIX + definition.key] = unbound
    return type(base.__name__, (base,), inputs)


def _as_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "on" if value else None
    return value


def load_custom_fields() -> CustomFieldSet:
    """The active definitions, in their display order."""
    return CustomFieldSet(tuple(active_custom_field_definitions()))
