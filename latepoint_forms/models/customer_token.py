"""One-time links sent to a customer's address (SPEC section 9): confirming an email, resetting
a password, signing in, confirming typed changes, confirming a new email address.

The link carries a random token; only its SHA-256 is stored (as with sessions), so a copy of
this table opens nothing. ``used_at`` is set by one conditional UPDATE when the link is used,
so the database lets each link work once, however many requests race for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import BigIntPK, UTCDateTime, one_of

# What a link does; accounts/tokens.py holds how long each is valid.
TOKEN_PURPOSES = ("confirm_email", "password_reset", "sign_in", "confirm_changes", "change_email")


class CustomerToken(Model):
    __tablename__ = "customer_tokens"
    __table_args__ = (CheckConstraint(one_of("purpose", TOKEN_PURPOSES), name="purpose"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(20))
    # What the link applies when used: the typed changes (confirm_changes), the new address
    # (change_email); None for the others.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<CustomerToken {self.id} {self.purpose} customer={self.customer_id}>"
