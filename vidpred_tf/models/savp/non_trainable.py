"""SAVP's non-trainable "models": ``ground_truth`` (the true future, an upper bound) and ``repeat`` (copy the last
context frame, the "Copy last frame" baseline of the paper's plots).

They have no variables; the generator functions follow the model convention (time-major inside):
``inputs`` ``{'images': [T, B, H, W, C], optional 'pix_distribs': [T, B, H, W, K]}`` ->
``{'gen_images': [T-1, B, H, W, C] (, 'gen_pix_distribs')}``, output ``t`` being the prediction of frame ``t+1``.

Fix of quirk Q9: the original ``RepeatVideoPredictionModel`` concatenated the context reconstructions and the
repeated frame on the *channel* axis and took only ``images[1:context_frames-1]``, so its output had the wrong
number of channels (and one context frame too few). Here they are concatenated on the *time* axis and every
context reconstruction ``images[1:context_frames]`` is kept, so ``gen_images`` has T-1 frames like every model:
``images[1:context_frames]`` followed by ``images[context_frames-1]`` repeated ``T - context_frames`` times.

``NonTrainableModel`` wraps them with the interface of the trainable models (``hparams``, ``mode``,
``trainable_model``, ``deterministic``, batch-major ``generate``).
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Union

import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.models.savp.defaults import BASE

try:  # HParams move to vidpred_tf/hparams.py (level 0) in #10; before that they live beside the models
    from vidpred_tf.hparams import HParams, parse_hparams
except ImportError:  # pragma: no cover - depends on the merge order
    from vidpred_tf.models.savp.hparams import HParams, parse_hparams

GROUND_TRUTH_DEFAULTS = BASE
REPEAT_DEFAULTS = BASE

NON_TRAINABLE_MODELS = ("ground_truth", "repeat")


def ground_truth_generator(inputs: Mapping[str, tf.Tensor], hparams: Optional[HParams] = None) -> Dict[str, tf.Tensor]:
    """``gen_images`` = ``images[1:]`` (and ``gen_pix_distribs`` = ``pix_distribs[1:]`` when given)."""
    outputs = {"gen_images": tf.convert_to_tensor(inputs["images"])[1:]}
    if "pix_distribs" in inputs:
        outputs["gen_pix_distribs"] = tf.convert_to_tensor(inputs["pix_distribs"])[1:]
    return outputs


def _repeat_last_context(values: tf.Tensor, context_frames: int, sequence_length: int) -> tf.Tensor:
    last = values[context_frames - 1:context_frames]
    repeated = tf.tile(last, [sequence_length - context_frames] + [1] * (values.shape.rank - 1))
    return tf.concat([values[1:context_frames], repeated], axis=0)


def repeat_generator(inputs: Mapping[str, tf.Tensor], hparams: HParams) -> Dict[str, tf.Tensor]:
    """The context reconstructions ``images[1:context_frames]``, then the last context frame repeated until
    ``sequence_length - 1`` frames (Q9 fixed: time axis, all context reconstructions kept)."""
    images = tf.convert_to_tensor(inputs["images"])
    context_frames, sequence_length = _check_lengths(hparams, images)
    outputs = {"gen_images": _repeat_last_context(images, context_frames, sequence_length)}
    if "pix_distribs" in inputs:
        outputs["gen_pix_distribs"] = _repeat_last_context(tf.convert_to_tensor(inputs["pix_distribs"]),
                                                           context_frames, sequence_length)
    return outputs


def _check_lengths(hparams: HParams, images: tf.Tensor):
    context_frames, sequence_length = int(hparams.context_frames), int(hparams.sequence_length)
    if context_frames < 1 or sequence_length <= context_frames:
        raise InputError(f"repeat model: needs 1 <= context_frames < sequence_length; got context_frames="
                         f"{context_frames}, sequence_length={sequence_length}")
    length = images.shape[0]
    if length is not None and length != sequence_length:
        raise InputError(f"repeat model: images have {length} frames but sequence_length={sequence_length}")
    return context_frames, sequence_length


_GENERATORS = {"ground_truth": ground_truth_generator, "repeat": repeat_generator}
_DEFAULTS = {"ground_truth": GROUND_TRUTH_DEFAULTS, "repeat": REPEAT_DEFAULTS}


def _to_time_major(values: tf.Tensor) -> tf.Tensor:
    values = tf.convert_to_tensor(values)
    return tf.transpose(values, [1, 0] + list(range(2, values.shape.rank)))


class NonTrainableModel:
    """``ground_truth`` or ``repeat`` with the trainable models' interface. ``deterministic`` is True: the
    evaluation keeps the single sample for min/avg/max, as the original's base model did."""

    trainable_model = False
    deterministic = True

    def __init__(self, model_name: str, hparams: HParams, mode: str = "test"):
        if model_name not in _GENERATORS:
            raise InputError(f"--model {model_name!r}: not a non-trainable model (known: {list(_GENERATORS)})")
        if mode not in ("train", "test"):
            raise InputError(f"model mode must be 'train' or 'test'; got {mode!r}")
        self.model_name = model_name
        self.hparams = hparams
        self.mode = mode

    def generator(self, inputs: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """Time-major inputs -> time-major outputs."""
        return _GENERATORS[self.model_name](inputs, self.hparams)

    def generate(self, inputs: Mapping[str, tf.Tensor], step: int = 0, seed=None) -> Dict[str, tf.Tensor]:
        """Batch-major inputs (``images [B, T, H, W, C]``) -> batch-major outputs (``gen_images [B, T-1, ...]``);
        ``step`` and ``seed`` are accepted for the common interface and unused (nothing is random)."""
        time_major = {key: _to_time_major(value) for key, value in inputs.items()
                      if key in ("images", "pix_distribs")}
        return {key: _to_time_major(value) for key, value in self.generator(time_major).items()}


def build_non_trainable(model_name: str, hparams_dict: Optional[Mapping] = None,
                        hparams: Union[None, str, Sequence[str]] = None, mode: str = "test") -> NonTrainableModel:
    """The original's ``get_model_class(name)(mode, hparams_dict, hparams)`` for the two non-trainable models."""
    if model_name not in _DEFAULTS:
        raise InputError(f"--model {model_name!r}: not a non-trainable model (known: {list(_DEFAULTS)})")
    parsed = parse_hparams(_DEFAULTS[model_name], hparams_dict, hparams,
                           dict_source=f"{model_name} hparams dict", string_source="--model_hparams")
    return NonTrainableModel(model_name, parsed, mode)
