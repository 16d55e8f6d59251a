"""Writing files so that a reader never sees half of one: the single helper every writer of the package uses."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Callable


def write_atomically(path, write: Callable[[str], None]) -> None:
    """Call ``write(temp_path)`` for a temporary file beside ``path`` (same extension), then move it into place.

    The temporary file is removed if ``write`` fails, so an interrupted write leaves the old file (or none).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: directory {directory} does not exist")
    base, extension = os.path.splitext(os.path.basename(path))
    handle, temp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{extension}", dir=directory)
    os.close(handle)
    try:
        write(temp_path)
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def write_json(path, payload, indent: int = 2) -> None:
    """``payload`` as JSON at ``path``, atomically."""
    def write(temp_path: str) -> None:
        with open(temp_path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=indent)

    write_atomically(path, write)
