"""Domain errors of customer registration."""

from __future__ import annotations

from ..errors import AppError


class ValidationFailed(AppError):
    """One or more fields broke a rule; ``details`` has one message per failing field."""

    status, code, message = 422, "validation_failed", "The provided data is not valid"

    def __init__(self, details: dict[str, str], message: str | None = None) -> None:
        super().__init__(message, details)


class EmailExists(AppError):
    status, code = 409, "email_exists"
    message = "A customer with this email address already exists"

    def __init__(self, email: str) -> None:
        super().__init__(details={"email": "This email address is already registered"})
        self.email = email


class CustomerNotFound(AppError):
    status, code, message = 404, "not_found", "Customer not found"
