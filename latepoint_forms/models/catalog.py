"""The catalog the business validations refer to (SPEC section 4).

Services, locations and agents carry a stable ``key`` (a slug from the catalog file) so that
``flask catalog load`` can update them in place; their numeric ids are what the API and the
forms use. Nothing here is ever deleted by the loader: retiring an item means ``active = false``,
so old bookings keep pointing at real rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Model
from .types import BigIntPK, one_of

# Bookings claim time in 5-minute granules (see models/booking.py), so every duration, slot
# interval and opening time is a multiple of this.
GRANULE_MINUTES = 5
CUSTOM_FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "date",
    "select",
    "checkbox",
    "email",
    "phone",
    "url",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
KEY_MAX_LENGTH = 64
LOCATION_ADDRESS_MAX_LENGTH = 200  # one line: "12 Greek Street, London W1D 4DT"
LOCATION_PHONE_MAX_LENGTH = 20  # E.164 is at most 16 characters


def _whole_granules(column: str) -> str:
    """The SQL of a CHECK that ``column`` is a positive number of whole granules."""
    return f"{column} > 0 AND {column} % {GRANULE_MINUTES} = 0"


class Service(Model):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(_whole_granules("duration_minutes"), name="duration"),
        CheckConstraint(_whole_granules("slot_interval_minutes"), name="slot_interval"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    # Starts are offered on this grid, counted from local midnight (09:00, 09:15, …).
    slot_interval_minutes: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Service {self.id} {self.key}>"


LANGUAGE_MAX_LENGTH = 8


class Location(Model):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # An IANA zone name ("Europe/London"): opening hours and slot times are local wall-clock
    # times there, so daylight-saving changes move them in UTC as a person would expect.
    timezone: Mapped[str] = mapped_column(String(64))
    # Weekly schedule: {"mon": [["09:00", "17:00"]], "tue": [["09:00", "12:30"], ...], ...}.
    # A missing or empty day is closed; "24:00" closes at the end of the day.
    opening_hours: Mapped[dict[str, list[list[str]]]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Shown in messages, the .ics LOCATION and the confirmation page; checked by the loader
    # with the customers' rules (ISO alpha-2 country, a phone valid for that country, E.164).
    address: Mapped[str | None] = mapped_column(String(LOCATION_ADDRESS_MAX_LENGTH))
    country: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(LOCATION_PHONE_MAX_LENGTH))
    # The language its pages fall back to (SPEC section 11: after the visitor's own choice
    # and browser): a code of i18n.LANGUAGES, checked by the catalog loader; None: the app's
    # DEFAULT_LANGUAGE.
    language: Mapped[str | None] = mapped_column(String(LANGUAGE_MAX_LENGTH))

    def __repr__(self) -> str:
        return f"<Location {self.id} {self.key}>"


class Agent(Model):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    offers: Mapped[list[AgentOffer]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Agent {self.id} {self.key}>"


class AgentOffer(Model):
    """An agent performs a service at a location."""

    __tablename__ = "agent_offers"
    __table_args__ = (UniqueConstraint("agent_id", "service_id", "location_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id", ondelete="CASCADE"))

    agent: Mapped[Agent] = relationship(back_populates="offers")
    service: Mapped[Service] = relationship()
    location: Mapped[Location] = relationship()


class CustomFieldDefinition(Model):
    """A custom field customers may (or must) fill in; validated by customers/custom_fields.py."""

    __tablename__ = "custom_field_definitions"
    __table_args__ = (CheckConstraint(one_of("type", CUSTOM_FIELD_TYPES), name="type"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_MAX_LENGTH), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    # select: [{"value": "gold", "label": "Gold"}, ...]
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # text, textarea, url
    max_length: Mapped[int | None] = mapped_column(Integer)
    # number
    min_number: Mapped[float | None] = mapped_column(Float)
    max_number: Mapped[float | None] = mapped_column(Float)
    # date
    min_date: Mapped[date | None] = mapped_column(Date)
    max_date: Mapped[date | None] = mapped_column(Date)
    help_text: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<CustomFieldDefinition {self.key} {self.type}>"
