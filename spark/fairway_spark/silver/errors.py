"""The Silver job's one error type: a failure with a clean message for the user."""

from __future__ import annotations


class JobError(Exception):
    """A failure with a clean message for the user (no stack trace); ``code`` is reported through pipes."""

    def __init__(self, message: str, code: str, exit_code: int = 1, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.exit_code = exit_code
        self.details = details or {}
