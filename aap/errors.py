"""Domain errors. Each carries the HTTP status and the error code of SPEC 7.1; the API
turns them into ``{"error": {...}}`` bodies, the web UI into French flash messages."""

from __future__ import annotations

from workflows.engine import (
    GuardFailed,
    NotVisible,
    RoleNotAllowed,
    StateNotAllowed,
    UnknownTrigger,
    WorkflowError,
)

DomainError = WorkflowError


class ValidationFailed(DomainError):
    status, code = 422, "invalid_data"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Hidden(NotFound):
    """An object that exists but that the caller may not see: answered exactly as a
    missing one (its existence is not disclosed), logged as an access denial."""


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class Conflict(DomainError):
    status, code = 409, "invalid_state"


__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "GuardFailed",
    "Hidden",
    "NotFound",
    "NotVisible",
    "RoleNotAllowed",
    "StateNotAllowed",
    "UnknownTrigger",
    "ValidationFailed",
]
