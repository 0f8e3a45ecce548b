"""Typed SQLAlchemy models; constraints live in the schema."""

from .api_key import API_KEY_MODES, ApiKey
from .booking import BOOKING_STATUSES, Booking, BookingSlotClaim, CustomerSlotClaim
from .catalog import (
    CUSTOM_FIELD_TYPES,
    GRANULE_MINUTES,
    WEEKDAYS,
    Agent,
    AgentOffer,
    CustomFieldDefinition,
    Location,
    Service,
)
from .customer import CUSTOMER_SOURCES, Customer
from .customer_session import CustomerSession
from .customer_token import TOKEN_PURPOSES, CustomerToken
from .idempotency import IdempotencyRecord
from .outbox import OUTBOX_STATES, OutboxMessage
from .webhook import WEBHOOK_DELIVERY_STATES, WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint

__all__ = [
    "API_KEY_MODES",
    "BOOKING_STATUSES",
    "CUSTOMER_SOURCES",
    "CUSTOM_FIELD_TYPES",
    "GRANULE_MINUTES",
    "OUTBOX_STATES",
    "TOKEN_PURPOSES",
    "WEBHOOK_DELIVERY_STATES",
    "WEBHOOK_EVENTS",
    "WEEKDAYS",
    "Agent",
    "AgentOffer",
    "ApiKey",
    "Booking",
    "BookingSlotClaim",
    "CustomFieldDefinition",
    "Customer",
    "CustomerSession",
    "CustomerSlotClaim",
    "CustomerToken",
    "IdempotencyRecord",
    "Location",
    "OutboxMessage",
    "Service",
    "WebhookDelivery",
    "WebhookEndpoint",
]
