"""Errors that services raise and every caller (console, command line, script) can show."""

from __future__ import annotations

from datetime import datetime


class DispatchError(Exception):
    """Base: the message is already translated and fit to show a duty officer."""


class ValidationError(DispatchError):
    """Input was refused; ``field`` names what was wrong where it is known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DispatchError):
    pass


class PermissionDenied(DispatchError):
    pass


class AuthenticationFailed(DispatchError):
    pass


class IllegalTransition(DispatchError):
    pass


class SchemaMismatch(DispatchError):
    pass


class ConcurrentChange(DispatchError):
    """Optimistic locking: somebody else changed the record first. Reload and try again."""

    def __init__(self, message: str, by: str | None = None, at: datetime | None = None) -> None:
        super().__init__(message)
        self.by = by
        self.at = at
