"""Signed-in web sessions, kept on the server so that they can be ended (SPEC section 9).

The browser's (signed) cookie carries a random session id; only its SHA-256 is stored, so a
copy of this table signs nobody in. Signing out, or a password change, sets ``revoked_at``:
the cookie then stops working wherever it was copied to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import BigIntPK, UTCDateTime


class CustomerSession(Model):
    __tablename__ = "customer_sessions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Written at most once a minute (accounts/sessions.py), not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<CustomerSession {self.id} customer={self.customer_id}>"
