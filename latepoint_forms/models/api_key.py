"""API keys: only a hash is stored; the key itself is shown once, when created."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model
from .types import BigIntPK, UTCDateTime, one_of, utcnow

# Here rather than in api/keys.py, which imports the models: the CHECK below is built from it.
API_KEY_MODES = ("live", "test")


class ApiKey(Model):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(one_of("mode", API_KEY_MODES), name="mode"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(4))
    # The first characters of the key ("lp_live_Ab12"), safe to show in listings.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ApiKey {self.id} {self.prefix}… {self.name!r}>"
