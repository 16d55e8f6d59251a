"""Checking a TensorFlow checkpoint against a model before restoring it.

A checkpoint that is truncated, is not a checkpoint at all, or holds another architecture is refused with one
:class:`vidpred_tf.errors.InputError` naming the file and, for a misfit, the variables that are missing or
misshapen; nothing is restored before the check has passed, so TensorFlow never gets to print its
"Value in checkpoint could not be found in the restored object" warnings.
"""

from __future__ import annotations

import re
from typing import Dict, List, Tuple

import tensorflow as tf

from vidpred_tf.errors import InputError

# The key of variable ``index`` of ``model.weights`` in a trainer checkpoint (vidpred_tf.training.checkpoint:
# ``tf.train.Checkpoint(model_weights={"00000": v0, ...})``).
MODEL_WEIGHT_KEY = "model_weights/{index:05d}/.ATTRIBUTES/VARIABLE_VALUE"
_MODEL_WEIGHT = re.compile(r"model_weights/\d+/\.ATTRIBUTES/VARIABLE_VALUE")  # not the optimiser slots under it
_SHOWN = 4  # misfits named in the message; the rest are counted


def _first_line(err: BaseException) -> str:
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def checkpoint_reader(prefix: str, what: str = "checkpoint"):
    """``(reader, {name: shape})`` of the checkpoint ``prefix``; ``InputError`` ``"WHAT PREFIX: not a readable
    TensorFlow checkpoint (...)"`` when its index is missing, truncated or not a checkpoint index."""

    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as err:
        raise InputError(f"{what} {prefix}: not a readable TensorFlow checkpoint ({_first_line(err)})") from err
    return reader, {name: tuple(int(d) for d in shape) for name, shape in shapes.items()}


def read_tensor(reader, name: str, prefix: str, what: str = "checkpoint"):
    """``reader.get_tensor(name)``; ``InputError`` naming the checkpoint when its data file is truncated or
    corrupt (TensorFlow raises ``IndexError: Read less bytes than requested`` or a ``DataLossError``)."""

    try:
        return reader.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as err:
        raise InputError(f"{what} {prefix}: cannot read variable {name} (data file truncated or corrupt: "
                         f"{_first_line(err)})") from err


def _listed(items: List[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def model_checkpoint_misfits(model, shapes: Dict[str, Tuple[int, ...]]) -> Tuple[List[str], List[str], int]:
    """``(missing, misshapen, extra)``: the model variables absent from a trainer checkpoint's ``shapes``,
    those of another shape (each described with its position, path and both shapes), and the number of
    model-weight entries of the checkpoint that the model does not have."""
    missing, misshapen = [], []
    for index, variable in enumerate(model.weights):
        key = MODEL_WEIGHT_KEY.format(index=index)
        name = getattr(variable, "path", None) or variable.name
        wanted = tuple(int(d) for d in variable.shape)
        if key not in shapes:
            missing.append(f"#{index} {name} {list(wanted)}")
        elif shapes[key] != wanted:
            misshapen.append(f"#{index} {name} (checkpoint {list(shapes[key])}, model {list(wanted)})")
    held = sum(1 for key in shapes if _MODEL_WEIGHT.fullmatch(key))
    extra = max(0, held - (len(model.weights) - len(missing)))
    return missing, misshapen, extra


def check_model_checkpoint(model, prefix: str, what: str = "checkpoint", read_values: bool = True) -> None:
    """``InputError`` in one line unless the trainer checkpoint ``prefix`` holds exactly the weights of ``model``
    (a built Keras model): which variables are missing, which misshapen, how many are left over. With
    ``read_values`` every weight is read once, so that a truncated data file is found here too."""
    reader, shapes = checkpoint_reader(prefix, what)
    missing, misshapen, extra = model_checkpoint_misfits(model, shapes)
    if missing or misshapen or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} variable(s) missing: {_listed(missing)}")
        if misshapen:
            parts.append(f"{len(misshapen)} misshapen: {_listed(misshapen)}")
        if extra:
            parts.append(f"{extra} checkpoint variable(s) the model does not have")
        raise InputError(f"{what} {prefix} does not fit model {model.name!r} ({len(model.weights)} variables): "
                         + "; ".join(parts))
    if read_values:
        for index in range(len(model.weights)):
            read_tensor(reader, MODEL_WEIGHT_KEY.format(index=index), prefix, what)
