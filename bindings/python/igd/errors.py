"""Exceptions: one class per ``igd_status`` error code, all subclasses of :class:`Error`."""

from __future__ import annotations

from typing import Dict, Optional, Type

__all__ = [
    "Error",
    "InvalidArgumentError",
    "OutOfMemoryError",
    "InputOutputError",
    "CorruptError",
    "UnsupportedError",
    "LimitError",
    "AbortedError",
    "StateError",
    "BackendError",
    "VersionError",
    "NotFoundError",
    "InternalError",
    "NumericError",
    "error_for_status",
]


class Error(Exception):
    """A failed libigd call.

    Attributes:
        status: the ``igd_status`` code (a negative number).
        message: the library's message for the failure (``igd_last_error()`` or the object's
            own error), or the status's description when the library gave none.
    """

    #: The igd_status code this class stands for (set on each subclass).
    code: int = 0

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        self.status = self.code if status is None else status
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, message={self.message!r})"


class InvalidArgumentError(Error, ValueError):
    """IGD_ERR_INVALID_ARGUMENT: a NULL, out-of-range or inconsistent argument."""

    code = -1


class OutOfMemoryError(Error, MemoryError):
    """IGD_ERR_OUT_OF_MEMORY: an allocation failed."""

    code = -2


class InputOutputError(Error, OSError):
    """IGD_ERR_IO: a file could not be read, written or renamed."""

    code = -3


class CorruptError(Error):
    """IGD_ERR_CORRUPT: malformed data (a damaged model file, image or data set)."""

    code = -4


class UnsupportedError(Error):
    """IGD_ERR_UNSUPPORTED: well-formed but unsupported (a future file version, a format)."""

    code = -5


class LimitError(Error):
    """IGD_ERR_LIMIT: larger than a configured limit (image size, ...)."""

    code = -6


class AbortedError(Error):
    """IGD_ERR_ABORTED: stopped by the abort callback."""

    code = -7


class StateError(Error):
    """IGD_ERR_STATE: not valid now, e.g. detecting before any E-step."""

    code = -8


class BackendError(Error):
    """IGD_ERR_BACKEND: the compute backend (oneDNN) failed."""

    code = -9


class VersionError(Error):
    """IGD_ERR_VERSION: header (bindings) and library versions disagree."""

    code = -10


class NotFoundError(Error, LookupError):
    """IGD_ERR_NOT_FOUND: a file, folder or name that does not exist."""

    code = -11


class InternalError(Error):
    """IGD_ERR_INTERNAL: a bug in libigd."""

    code = -12


class NumericError(Error, ArithmeticError):
    """IGD_ERR_NUMERIC: a result is not a finite number (training diverged, a damaged model)."""

    code = -13


_BY_STATUS: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        OutOfMemoryError,
        InputOutputError,
        CorruptError,
        UnsupportedError,
        LimitError,
        AbortedError,
        StateError,
        BackendError,
        VersionError,
        NotFoundError,
        InternalError,
        NumericError,
    )
}


def error_for_status(status: int, message: str) -> Error:
    """The exception for a status code (a plain :class:`Error` for an unknown code)."""
    cls = _BY_STATUS.get(status, Error)
    return cls(message, status)
