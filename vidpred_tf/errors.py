"""The package's one input-error type and the one way every entry point reports it.

Readers, loaders and checks raise :class:`InputError` (a ``ValueError``) with the culprit first: the file, flag or
value, then what is wrong with it. Every command line of the package (the ``vidpred`` commands and the absl
scripts, through :func:`vidpred_tf.cli.run`) ends such an error, and the user-side failures listed in
:func:`user_error_message`, with one line ``PROG: error: MESSAGE`` on stderr and exit status 2, no traceback.

This module imports nothing heavy: the scripts use it before TensorFlow is imported.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Optional

USAGE_ERROR = 2


class InputError(ValueError):
    """Bad input from the user (a file, a flag value): the command line reports it in one line, exit code 2."""


class MissingInputError(InputError, FileNotFoundError):
    """A file or folder the user named does not exist (a ``FileNotFoundError`` too)."""


def no_space_error(path, err: Optional[BaseException] = None) -> InputError:
    """The error of a write that failed because the disk is full, naming what was being written."""
    error = InputError(f"no space left on device writing {os.fspath(path)}")
    error.__cause__ = err
    return error


def is_no_space(err: BaseException) -> bool:
    """Whether ``err`` is (or was caused by) an ``OSError`` ENOSPC / EDQUOT."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
            return True
        err = err.__cause__ or err.__context__
    return False


def _one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines) if lines else "(no message)"


def user_error_message(err: BaseException) -> Optional[str]:
    """The one-line message of an error that is the user's to fix, or ``None`` for anything else (a bug, which
    keeps its traceback).

    The user's: :class:`InputError`; a ``FileNotFoundError`` (a path the user gave does not exist: the readers
    name it in their message); a full disk (``OSError`` ENOSPC anywhere in the chain of causes).
    """
    if isinstance(err, InputError):
        return _one_line(str(err))
    if is_no_space(err):
        where = getattr(err, "filename", None)
        return f"no space left on device writing {where}" if where else _one_line(str(err))
    if isinstance(err, FileNotFoundError):
        if err.filename is not None and err.strerror:
            return f"{err.filename}: {err.strerror}"
        return _one_line(str(err))
    return None


def report(prog: str, message: str, code: int = USAGE_ERROR) -> int:
    """Print ``prog: error: message`` to stderr and return ``code`` (the exit status)."""
    sys.stdout.flush()
    print(f"{prog}: error: {_one_line(message)}", file=sys.stderr, flush=True)
    return code


def call_reporting_errors(prog: str, function, *args, **kwargs):
    """``function(*args, **kwargs)``; a user error (:func:`user_error_message`) is reported as ``prog: error: ...``
    and its status (2) returned instead. Every other exception propagates."""
    try:
        return function(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 -- filtered just below, the rest re-raised
        message = user_error_message(err)
        if message is None:
            raise
        return report(prog, message)
