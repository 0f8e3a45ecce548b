"""The catalog: services, locations, agents and custom field definitions (SPEC section 4)."""
