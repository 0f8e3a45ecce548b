"""Typed SQLAlchemy models; constraints live in the schema."""

from .api_key import ApiKey
from .customer import CUSTOMER_SOURCES, Customer
from .idempotency import IdempotencyRecord

__all__ = ["CUSTOMER_SOURCES", "ApiKey", "Customer", "IdempotencyRecord"]
