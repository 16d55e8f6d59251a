"""I3D Kinetics-400 (TF-Hub module / kinetics-i3d checkpoint) -> the port's ``InceptionI3d`` of FVD.

Sources, all read as TF name-based checkpoints with the names ``RGB/inception_i3d/<scope>/conv_3d/w``,
``.../conv_3d/b`` (logits only), ``.../batch_norm/{beta,moving_mean,moving_variance}``:

* the TF-Hub module ``https://tfhub.dev/deepmind/i3d-kinetics-400/1`` that the FVD reference uses, downloaded
  by the user (``?tf-hub-format=compressed`` gives a ``.tar.gz``; pass it as is or its extracted directory,
  whose ``variables/variables.index`` is the checkpoint);
* a deepmind/kinetics-i3d checkpoint (``data/checkpoints/rgb_scratch/model.ckpt``; the ``rgb_imagenet`` one
  has the same names, ``rgb_scratch_kin600`` needs ``num_classes=600``).

Every name maps 1:1 (230 tensors); a missing, extra or mis-shaped name is refused, naming the first one.
The scope prefix is found from the ``Conv3d_1a_7x7/conv_3d/w`` name unless given. Batch-norm tensors stored
as ``[1, 1, 1, 1, C]`` (Sonnet's broadcast shape) are accepted and flattened to ``[C]``.

Command line::

    python -m vidpred_tf.convert.i3d --checkpoint i3d-kinetics-400_1.tar.gz --output i3d_k400.weights.h5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tarfile
import tempfile
from typing import Iterator, Optional, Sequence

import numpy as np

from vidpred_tf.convert.tf1 import DEFAULT_SKIP, CheckpointMismatchError, LoadReport, load_tf1_checkpoint, tf1_names
from vidpred_tf.fileio import save_keras_weights
from vidpred_tf.metrics.i3d import InceptionI3d, build_i3d, load_i3d_weights

HUB_MODULE_URL = "https://tfhub.dev/deepmind/i3d-kinetics-400/1"
DEFAULT_SCOPE = "RGB/inception_i3d"
_ANCHOR = "Conv3d_1a_7x7/conv_3d/w"


def _hub_variables_prefix(directory: str) -> Optional[str]:
    """``DIR/variables/variables`` when ``DIR`` is a SavedModel / TF-Hub module directory."""
    prefix = os.path.join(directory, "variables", "variables")
    return prefix if os.path.exists(prefix + ".index") else None


@contextlib.contextmanager
def original_checkpoint_prefix(path: str) -> Iterator[str]:
    """The TF checkpoint prefix inside ``path``: a hub module directory or ``.tar.gz``, a checkpoint directory,
    a prefix or its ``.index``. An archive is extracted to a temporary directory for the duration."""
    path = os.fspath(path)
    if not os.path.exists(path) and not os.path.exists(path + ".index"):
        raise FileNotFoundError(f"I3D checkpoint {path} not found")
    if os.path.isfile(path) and (path.endswith(".tar.gz") or path.endswith(".tgz") or path.endswith(".tar")):
        with tempfile.TemporaryDirectory(prefix="i3d-hub-") as staging:
            try:
                with tarfile.open(path) as archive:
                    archive.extractall(staging, filter="data")
            except tarfile.TarError as error:
                raise ValueError(f"I3D checkpoint archive {path} cannot be read: {error}") from error
            prefix = _hub_variables_prefix(staging)
            if prefix is None:
                raise FileNotFoundError(f"I3D checkpoint archive {path} holds no variables/variables.index")
            yield prefix
        return
    if os.path.isdir(path):
        prefix = _hub_variables_prefix(path)
        if prefix is not None:
            yield prefix
            return
    yield path  # load_tf1_checkpoint resolves directories with a `checkpoint` file, prefixes and .index files


def find_scope(prefix: str, skip: Sequence[str] = DEFAULT_SKIP) -> str:
    """The scope that holds the network (``RGB/inception_i3d`` in every published file)."""
    anchors = [name[: -len(_ANCHOR)].rstrip("/") for name in tf1_names(prefix, skip) if name.endswith(_ANCHOR)]
    if len(anchors) != 1:
        found = ", ".join(anchors) if anchors else "none"
        raise CheckpointMismatchError(
            f"checkpoint {prefix}: expected exactly one I3D network (a '.../{_ANCHOR}' tensor), found {found}; "
            f"pass scope= (--scope) to choose")
    return anchors[0]


def _flatten_to_channels(value: np.ndarray) -> np.ndarray:
    """Sonnet keeps batch-norm tensors as [1, 1, 1, 1, C]; the port's are [C]."""
    if value.ndim > 1 and all(dim == 1 for dim in value.shape[:-1]):
        return value.reshape(value.shape[-1])
    return value


def load(model: InceptionI3d, path: str, *, scope: Optional[str] = None, ignore: Sequence[str] = ()) -> LoadReport:
    """Assign a built ``InceptionI3d`` from a hub module / kinetics-i3d checkpoint at ``path``.

    ``ignore``: extra regexes of checkpoint names that are not weights (added to the default skips).
    Raises ``CheckpointMismatchError`` naming the first misfit; nothing is assigned unless all fit.
    """
    skip = tuple(DEFAULT_SKIP) + tuple(ignore)
    for pattern in ignore:
        re.compile(pattern)  # a bad regex fails here, before any reading
    with original_checkpoint_prefix(path) as prefix:
        scope = scope if scope is not None else find_scope(prefix, skip)
        mapping = model.original_variables(scope)
        transforms = {name: _flatten_to_channels for name in mapping if "/batch_norm/" in name}
        return load_tf1_checkpoint(prefix, mapping, skip=skip, transforms=transforms)


def save_port_weights(model: InceptionI3d, output: str) -> str:
    """Keras ``.weights.h5``, written to a temporary file in the same directory and renamed."""
    output = os.fspath(output)
    if not output.endswith(".weights.h5"):
        raise ValueError(f"--output {output}: the port's weights are saved as a Keras '.weights.h5' file")
    return save_keras_weights(model, output)


def load_i3d(path: str, num_classes: int = 400, scope: Optional[str] = None) -> InceptionI3d:
    """A built ``InceptionI3d`` with weights from ``path``: a port ``.weights.h5`` or any original source."""
    path = os.fspath(path)
    if path.endswith(".weights.h5"):
        return load_i3d_weights(path, num_classes=num_classes)
    model = build_i3d(num_classes=num_classes)
    load(model, path, scope=scope)
    return model


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vidpred_tf.convert.i3d",
        description=f"Convert the I3D Kinetics-400 network ({HUB_MODULE_URL} or a deepmind/kinetics-i3d "
                    "checkpoint) to the port's Keras weights.")
    parser.add_argument("--checkpoint", required=True,
                        help="hub module directory or .tar.gz, or a TF checkpoint prefix / directory")
    parser.add_argument("--output", required=True, help="port weights, *.weights.h5")
    parser.add_argument("--num_classes", type=int, default=400, help="400 (Kinetics-400) or 600")
    parser.add_argument("--scope", default=None, help=f"variable scope of the network (found if omitted; "
                                                      f"{DEFAULT_SCOPE} in the published files)")
    parser.add_argument("--ignore", action="append", default=[],
                        help="regex of checkpoint names to leave out (repeatable)")
    args = parser.parse_args(argv)
    if not args.output.endswith(".weights.h5"):
        parser.error(f"--output {args.output}: must end with .weights.h5")
    model = build_i3d(num_classes=args.num_classes)
    try:
        report = load(model, args.checkpoint, scope=args.scope, ignore=args.ignore)
    except (CheckpointMismatchError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    save_port_weights(model, args.output)
    print(f"loaded {len(report.loaded)} tensors from {args.checkpoint} (skipped {len(report.skipped)}); "
          f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
