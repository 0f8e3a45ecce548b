"""Domain errors of the catalog."""

from __future__ import annotations

from ..errors import AppError


class CatalogItemNotFound(AppError):
    status, code, message = 404, "not_found", "The requested catalog item was not found"
