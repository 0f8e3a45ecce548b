"""``GET /form``: the customer form's inputs and their constraints, as the server checks them.

The embedded widget (SPEC section 10) lets the browser check what the server will: it reads
every limit from here rather than carrying copies that would drift. Everything is derived:
the customer's own fields from their declaration (``customers/fields.py``) through the web
forms' markup (``web/fields.py``: length limits, HTML pattern, choices, date-of-birth bounds
from the settings), the custom fields from their active definitions
(``web/custom_fields.input_attributes``). Each input's ``name`` is the key of the 422
``details`` that names it (``custom_fields.<key>`` for a custom field) and its place in the
create-customer body. ``flows`` says which of the widget's forms asks for it: ``register``
asks what ``/register`` does, ``booking`` what ``/book`` does (name, email, phone and the
required custom fields). Publishable keys may read it; a secret key needs
``customers:create``.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from wtforms.fields.core import UnboundField

from ..customers.custom_fields import FieldDefinition, active_custom_field_definitions
from ..customers.fields import FIELDS_BY_KEY, CustomerField
from ..customers.input import RuleSettings
from ..i18n import _
from ..settings import rule_settings
from ..web import fields as markup
from ..web.custom_fields import HTML_INPUTS, NO_CHOICE
from ..web.custom_fields import input_attributes as custom_attributes
from ..web.forms import OPTIONAL_DETAILS, WEB_FIELDS, GuestDetailsForm
from . import bp
from .auth import require_key
from .envelope import success

REGISTER, BOOKING = "register", "booking"
# The fields /book asks for: the quick-booking form's own inputs.
BOOKING_FIELDS = tuple(
    key for key in WEB_FIELDS if isinstance(getattr(GuestDetailsForm, key, None), UnboundField)
)
# Attributes published under their own names; the rest go in ``attributes``.
CONSTRAINTS = ("required", "minlength", "maxlength", "pattern", "min", "max", "step")
JSON_TYPES = {"number": "number", "checkbox": "boolean"}


def _options(choices: list[Any]) -> list[dict[str, str]]:
    return [{"value": choice.value, "label": str(choice.label)} for choice in choices]


def _input(
    name: str,
    label: str,
    html_input: str,
    attrs: dict[str, Any],
    *,
    api_required: bool,
    flows: list[str],
    more: bool,
    **extra: Any,
) -> dict[str, Any]:
    """One input, every key present (null when it does not apply)."""
    return {
        "name": name,
        "label": label,
        "input": html_input,
        "json_type": extra.pop("json_type", "string"),
        # required: the API refuses the body without it; required_on_web: every web form
        # (and so the widget) asks for it too, as SPEC section 5 does for the email.
        "required": api_required,
        "required_on_web": bool(attrs.get("required")),
        **{name: attrs.get(name) for name in CONSTRAINTS if name != "required"},
        "autocomplete": attrs.get("autocomplete"),
        "options": extra.pop("options", None),
        "value": extra.pop("value", None),  # what the input starts with
        "placeholder": extra.pop("placeholder", None),
        "help_text": extra.pop("help_text", None),
        "attributes": {
            key: value
            for key, value in attrs.items()
            if key not in (*CONSTRAINTS, "autocomplete", "placeholder")
        },
        "flows": flows,
        # On /register behind "more about you": the widget folds these away too.
        "more": more,
    }


def customer_input(field: CustomerField, settings: RuleSettings) -> dict[str, Any]:
    attrs = markup.input_attributes(field, settings)
    assert field.html_input is not None
    extra: dict[str, Any] = {}
    if field.key == "country":
        # As on /register: the phone's country said up front, the configured one.
        extra["options"] = _options(markup.country_choices())
        extra["value"] = settings.default_country
    elif field.key == "gender":
        extra["options"] = _options(markup.GENDER_CHOICES)
    elif field.key == "date_of_birth":
        attrs["min"], attrs["max"] = markup.date_of_birth_bounds(
            settings.current_date(), settings.min_customer_age
        )
    elif field.key == "phone":
        extra["placeholder"] = markup.phone_example(settings.phone_region(None))
    flows = [REGISTER, BOOKING] if field.key in BOOKING_FIELDS else [REGISTER]
    return _input(
        field.key,
        _(field.label),  # a message id: in the request's language (Accept-Language)
        field.html_input,
        attrs,
        api_required=field.required,
        flows=flows,
        more=field.key in OPTIONAL_DETAILS,
        **extra,
    )


def custom_input(definition: FieldDefinition) -> dict[str, Any]:
    attrs = custom_attributes(definition)
    options = None
    if definition.type == "select":
        options = _options([NO_CHOICE]) + [
            {"value": option.value, "label": option.label} for option in definition.options
        ]
    return _input(
        f"custom_fields.{definition.key}",
        definition.label,
        HTML_INPUTS.get(definition.type, "text"),
        attrs,
        api_required=definition.required,
        # /book asks for the required ones only (a guest record cannot be made without them).
        flows=[REGISTER, BOOKING] if definition.required else [REGISTER],
        more=not definition.required,
        json_type=JSON_TYPES.get(definition.type, "string"),
        options=options,
        help_text=definition.help_text,
    )


def form_inputs(settings: RuleSettings, definitions: list[FieldDefinition]) -> list[dict[str, Any]]:
    """Every input of the customer forms, in the order /register shows them: the record's
    own fields with the custom fields just before the notes."""
    own = [customer_input(FIELDS_BY_KEY[key], settings) for key in WEB_FIELDS]
    custom = [custom_input(definition) for definition in definitions]
    notes = next(i for i, item in enumerate(own) if item["name"] == "notes")
    return [*own[:notes], *custom, *own[notes:]]


@bp.get("/form")
@require_key("customers:create", publishable=True)
def customer_form() -> ResponseReturnValue:
    inputs = form_inputs(rule_settings(), active_custom_field_definitions())
    return success("The customer form's inputs and their constraints", {"inputs": inputs})
