"""Writing files so that a reader never sees half of one: the single helper every writer of the package uses."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Callable, Optional


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (``False`` for a dead one; ``True`` when unsure)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def write_atomically(path, write: Callable[[str], None], suffix: Optional[str] = None) -> None:
    """Call ``write(temp_path)`` for a temporary file beside ``path``, then move it into place.

    The temporary name ends like ``path`` (its extension, or ``suffix`` for writers that insist on a longer
    one, such as Keras' ``.weights.h5``). The temporary file is removed if ``write`` fails, so an interrupted
    write leaves the old file (or none).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path}: directory {directory} does not exist")
    base, extension = os.path.splitext(os.path.basename(path))
    if suffix is None:
        suffix = extension
    handle, temp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{suffix}", dir=directory)
    os.close(handle)
    try:
        write(temp_path)
        # mkstemp makes the file private (0600); a written file gets the mode open() would give it (0666
        # less the umask), so that others sharing the folder can read it.
        os.chmod(temp_path, 0o666 & ~current_umask())
        os.replace(temp_path, path)
    except BaseException:
        if os.path.exists(temp_path):
            os.remove(temp_path)
        raise


def save_keras_weights(model, path) -> str:
    """``model.save_weights`` to a ``.weights.h5`` file, atomically (creating its directory)."""
    path = os.fspath(path)
    if not path.endswith(".weights.h5"):
        raise ValueError(f"Keras weights must be written to a .weights.h5 file; got {path}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_atomically(path, lambda temp_path: model.save_weights(temp_path, overwrite=True), suffix=".weights.h5")
    return path


def write_json(path, payload, indent: int = 2) -> None:
    """``payload`` as JSON at ``path``, atomically."""
    def write(temp_path: str) -> None:
        with open(temp_path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=indent)

    write_atomically(path, write)
