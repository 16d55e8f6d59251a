"""Writing files so that a reader never sees half of one: the single helper every writer of the package uses."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import shutil
import tempfile
from typing import Callable, List, Optional

from vidpred_tf.errors import InputError, is_no_space, no_space_error


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


def remove_stale_stages(output_dir, prefix: str) -> List[str]:
    """Remove the staging folders ``<prefix><pid>-*`` of ``output_dir`` whose process no longer runs (a run killed
    mid-write), and those of the older unnumbered form; returns what was removed."""
    removed = []
    output_dir = pathlib.Path(os.fspath(output_dir))
    if not output_dir.is_dir():
        return removed
    for path in output_dir.iterdir():
        if not path.name.startswith(prefix) or not path.is_dir():
            continue
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and "-" in path.name[len(prefix):] and process_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


@contextlib.contextmanager
def staged_output_dir(output_dir, prefix: str):
    """Yields ``(output_dir, stage)``: the output folder (created if missing; ``InputError`` if it is a file or
    cannot be made) and a hidden staging folder inside it, named ``<prefix>*``, for files that the caller
    moves into place once all of them exist. The stage is always removed; on an error, so is an output
    folder this call created, so a failed run leaves what was there before."""
    output_dir = pathlib.Path(os.fspath(output_dir))
    if output_dir.exists() and not output_dir.is_dir():
        raise InputError(f"--output_dir {output_dir} is a file, not a directory")
    created = not output_dir.exists()
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--output_dir {output_dir}: cannot create it ({err.strerror or err})") from err
    remove_stale_stages(output_dir, prefix)
    try:
        # The stage's name carries this process's id, so that a later run can tell a stage left by a killed run
        # (its process is gone) from one that another running process is filling.
        stage = pathlib.Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=output_dir))
    except OSError as err:
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)
        if is_no_space(err):
            raise no_space_error(output_dir, err) from err
        raise InputError(f"--output_dir {output_dir}: cannot write into it ({err.strerror or err})") from err
    try:
        yield output_dir, stage
    except BaseException as err:
        if created:
            shutil.rmtree(output_dir, ignore_errors=True)
        if isinstance(err, Exception) and is_no_space(err):
            raise no_space_error(output_dir, err) from err  # 'no space left on device writing DIR'
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
