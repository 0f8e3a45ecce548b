"""The customer record (SPEC section 2)."""

from __future__ import annotations

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
)
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigIntPK, UTCDateTime, utcnow

CUSTOMER_SOURCES = ("api", "web_form", "quick_booking", "import")


def _new_uuid() -> str:
    return str(uuid_module.uuid4())


class Customer(db.Model):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'inactive', 'pending')", name="status"),
        CheckConstraint("source IN ('api', 'web_form', 'quick_booking', 'import')", name="source"),
        CheckConstraint("wordpress_user_id > 0", name="wordpress_user_id_positive"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=_new_uuid)
    customer_code: Mapped[str] = mapped_column(String(16), unique=True)
    first_name: Mapped[str] = mapped_column(String(50))
    last_name: Mapped[str] = mapped_column(String(50))
    # The normalised, lower-cased form computed in Python (SQLite's lower() folds ASCII only);
    # the unique index on it is what makes a duplicate impossible, not a pre-check.
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="active")
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    zipcode: Mapped[str | None] = mapped_column(String(20))
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

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:
        return f"<Customer {self.id} {self.customer_code}>"
