"""The customer record (SPEC section 2)."""

from __future__ import annotations

import re
import uuid as uuid_module
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..customers.rules import (
    ADDRESS_MAX_LENGTH,
    CITY_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    STATE_MAX_LENGTH,
    STATUSES,
    ZIPCODE_MAX_LENGTH,
)
from ..folding import fold
from .base import Model
from .types import BigIntPK, UTCDateTime, one_of, utcnow

CUSTOMER_SOURCES = ("api", "web_form", "quick_booking", "import")


def _new_uuid() -> str:
    return str(uuid_module.uuid4())


# Between the searchable fields of ``search_text``: a control character, which a search
# term may not contain, so a term never matches across two fields.
SEARCH_FIELD_SEPARATOR = "\x1f"


# Latin letters that are not a base letter plus a mark, so NFKD leaves them whole, mapped to
# what people type on a keyboard without them ("soren" finds "Søren", "lukasz" "Łukasz").
# Lower case only: the text is case-folded first (ß is folded to "ss" by casefold itself).
# Changing this table changes stored search_text: add a migration that recomputes it (0004).
SEARCH_TRANSLITERATION = str.maketrans(
    {
        "ø": "o",
        "ł": "l",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ı": "i",
        "ħ": "h",
        "ŧ": "t",
    }
)


def fold_for_search(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (``Zoë`` -> ``zoe``, ``Straße`` ->
    ``strasse``, ``Søren Łukasz`` -> ``soren lukasz``), computed in Python so both databases
    compare the same strings."""
    return fold(text).translate(SEARCH_TRANSLITERATION).casefold()


# A term made only of digits and the separators people write phone numbers with, "+" first.
_PHONE_TERM_RE = re.compile(r"\+?[0-9 ().-]*[0-9][0-9 ().-]*")
_PHONE_SEPARATORS = str.maketrans("", "", " ().-")


def search_terms(text: str) -> list[str]:
    """The folded forms of a search term that ``search_text`` is matched against (any one).

    Phones are stored in E.164 only (``+442079460958``), so a term that looks like a phone
    number also matches without its separators (``+44 20 7946`` -> ``+44207946``). Heuristic
    for national forms: a leading ``00`` is the international prefix (``0044 20`` -> ``+4420``);
    a single leading ``0`` is the trunk prefix most countries use, which E.164 drops
    (``020 7946 0958`` -> ``2079460958``). The term as typed is always tried too, so a customer
    code or email with digits and dashes is still found.
    """
    folded = fold_for_search(text)
    terms = [folded]
    if _PHONE_TERM_RE.fullmatch(folded):
        digits = folded.translate(_PHONE_SEPARATORS)
        terms.append(digits)
        if digits.startswith("00") and len(digits) > 2:
            terms.append("+" + digits[2:])
        elif digits.startswith("0") and len(digits) > 1:
            terms.append(digits[1:])
    return list(dict.fromkeys(terms))


class Customer(Model):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("source", CUSTOMER_SOURCES), name="source"),
        CheckConstraint("wordpress_user_id > 0", name="wordpress_user_id_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=_new_uuid)
    customer_code: Mapped[str] = mapped_column(String(16), unique=True)
    # Lengths are the rules' limits (customers/rules.py): a value the rules accept always fits.
    first_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    last_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    # The normalised, lower-cased form computed in Python (SQLite's lower() folds ASCII only);
    # the unique index on it is what makes a duplicate impossible, not a pre-check.
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    phone: Mapped[str | None] = mapped_column(String(PHONE_MAX_LENGTH))
    status: Mapped[str] = mapped_column(String(16), default="active")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX_LENGTH))
    city: Mapped[str | None] = mapped_column(String(CITY_MAX_LENGTH))
    state: Mapped[str | None] = mapped_column(String(STATE_MAX_LENGTH))
    zipcode: Mapped[str | None] = mapped_column(String(ZIPCODE_MAX_LENGTH))
    country: Mapped[str | None] = mapped_column(String(2))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    wordpress_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by the importer and by an API bulk request with an Idempotency-Key (customers/bulk.py):
    # a SHA-256 that identifies the source row, so running the same file or request again
    # cannot create a second copy, even of a row without an email. NULL otherwise.
    import_fingerprint: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Name, email, phone and code folded by ``fold_for_search``, kept up to date on every
    # write (below). The list's ``search`` matches against it: SQLite's lower() folds ASCII
    # only and PostgreSQL's depends on the database locale, so neither can fold "Zoë".
    search_text: Mapped[str] = mapped_column(Text, default="")

    @property
    def full_name(self) -> str:
        return full_name_of(self.first_name, self.last_name)

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.customer_code}>"


def full_name_of(first_name: str, last_name: str) -> str:
    """``Customer.full_name`` of these names (the API's representation of a stored row too)."""
    return f"{first_name} {last_name}"


def search_text_of(
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    phone: str | None,
    customer_code: str | None,
) -> str:
    """What ``search_text`` holds for these values."""
    full_name = f"{first_name or ''} {last_name or ''}".strip()
    fields = (full_name, email, phone, customer_code)
    return SEARCH_FIELD_SEPARATOR.join(fold_for_search(value) for value in fields if value)


def customer_search_text(customer: Customer) -> str:
    return search_text_of(
        customer.first_name,
        customer.last_name,
        customer.email,
        customer.phone,
        customer.customer_code,
    )


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _refresh_search_text(mapper: object, connection: object, customer: Customer) -> None:
    customer.search_text = customer_search_text(customer)
