"""The outbox: messages written with the change they report, delivered by a worker (SPEC 8)."""
