"""The settings the doors hand to the services, built once when the app is made."""

from __future__ import annotations

from flask import current_app

from .customers.input import RuleSettings

RULES_EXTENSION_KEY = "latepoint_forms.rules"


def rule_settings() -> RuleSettings:
    """The rules' settings of the running app (``create_app`` builds them from its config)."""
    settings: RuleSettings = current_app.extensions[RULES_EXTENSION_KEY]
    return settings
