"""Exceptions raised by kvpress_cpp.

Every error the engine reports carries the message the ``kvpress`` CLI prints after
``kvpress <command>: error:`` and is raised as the class matching the CLI's exit code:

* :class:`UsageError` (exit 1): a malformed parameter or budget (``InvalidArgument``);
* :class:`BadInputError` (exit 2) and its subclasses: a missing file, press or parameter
  (:class:`NotFoundError`), a corrupt file (:class:`DataLossError`), an unsupported feature
  (:class:`UnimplementedError`), inconsistent input (:class:`FailedPreconditionError`);
* :class:`InternalError` (exit 3).

Ctrl-C during a call raises :class:`KeyboardInterrupt` once the engine has stopped.
"""

from __future__ import annotations

__all__ = [
    "KvpressError",
    "UsageError",
    "BadInputError",
    "NotFoundError",
    "DataLossError",
    "UnimplementedError",
    "FailedPreconditionError",
    "InternalError",
    "from_status",
]


class KvpressError(Exception):
    """Base class of every kvpress_cpp error.

    Attributes:
        code: the engine's status code name (``"NotFound"``, ``"InvalidArgument"``, ...).
        exit_code: the exit code ``kvpress`` would have returned (1, 2 or 3).
    """

    exit_code = 3

    def __init__(self, message: str, code: str = "Internal") -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        """The engine's message, as the CLI prints it."""
        return str(self.args[0]) if self.args else ""


class UsageError(KvpressError, ValueError):
    """A malformed parameter (the CLI's exit code 1)."""

    exit_code = 1


class BadInputError(KvpressError, ValueError):
    """Input the engine cannot use (the CLI's exit code 2)."""

    exit_code = 2


class NotFoundError(BadInputError):
    """A file, tensor, press or parameter that does not exist."""


class DataLossError(BadInputError):
    """A truncated or corrupt file."""


class UnimplementedError(BadInputError):
    """A valid but unsupported feature (architecture, dtype, tokenizer kind)."""


class FailedPreconditionError(BadInputError):
    """Well-formed but inconsistent input (a bad press parameter value, a prompt too long)."""


class InternalError(KvpressError, RuntimeError):
    """Something that should not happen (the CLI's exit code 3)."""

    exit_code = 3


_BY_CODE = {
    "InvalidArgument": UsageError,
    "NotFound": NotFoundError,
    "DataLoss": DataLossError,
    "Unimplemented": UnimplementedError,
    "FailedPrecondition": FailedPreconditionError,
    "Internal": InternalError,
}


def from_status(code: str, message: str) -> KvpressError:
    """The exception for an engine status ``code`` with ``message`` (used by the compiled module)."""
    return _BY_CODE.get(code, InternalError)(message, code)
