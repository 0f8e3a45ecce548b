"""Messages to customers: composing mail and .ics from templates (SPEC section 8)."""
