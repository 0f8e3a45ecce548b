"""Webhooks (SPEC section 10): endpoints, events queued with the change they report, signed
deliveries by the worker, the delivery log and replays."""
