"""Domain errors of customer registration."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import AppError
from ..problems import N_, Problem, as_problem


class ValidationFailed(AppError):
    """One or more fields broke a rule: ``problems`` has one ``Problem`` per failing field
    (its code and parameters, for the API's ``errors`` and for translation at the edge),
    ``details`` the same in English sentences. A plain sentence given for a field is a
    problem of code ``invalid``."""

    status, code, message = 422, "validation_failed", N_("The provided data is not valid")

    def __init__(
        self, details: Mapping[str, str | Problem], message: str | Problem | None = None
    ) -> None:
        self.problems: dict[str, Problem] = {key: as_problem(v) for key, v in details.items()}
        super().__init__(message, {key: p.english() for key, p in self.problems.items()})


class EmailExists(AppError):
    status, code = 409, "email_exists"
    message = N_("A customer with this email address already exists")

    def __init__(self, email: str) -> None:
        super().__init__(details={"email": N_("This email address is already registered")})
        self.email = email


class CustomerNotFound(AppError):
    status, code, message = 404, "not_found", N_("Customer not found")
