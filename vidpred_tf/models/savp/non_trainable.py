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

``GroundTruthGenerator`` and ``RepeatGenerator`` are them as generator layers of the one model class
(:class:`vidpred_tf.models.savp.model.VideoPredictionModel`), built by ``build_model("ground_truth", ...)``.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence

import keras
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.hparams import HParams


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


class _NonTrainableGenerator(keras.layers.Layer):
    """A generator layer without variables, with the call of the trainable generators (``step``, ``seed``,
    ``draws`` accepted and unused: nothing is random)."""

    generator_fn = staticmethod(ground_truth_generator)

    def __init__(self, hparams: HParams, image_shape: Sequence[int] = (), action_dim: int = 0, state_dim: int = 0,
                 mode: str = "test", name: str = "generator", **kwargs):
        super().__init__(name=name, **kwargs)
        self.hparams, self.mode = hparams, mode

    def call(self, inputs: Mapping[str, tf.Tensor], step=0, seed=None, draws=None, mode=None) -> Dict[str, tf.Tensor]:
        del step, seed, draws, mode
        return self.generator_fn(inputs, self.hparams)

    def original_variables(self) -> Dict[str, "keras.Variable"]:
        return {}


class GroundTruthGenerator(_NonTrainableGenerator):
    """``ground_truth``: the true frames ``images[1:]``."""


class RepeatGenerator(_NonTrainableGenerator):
    """``repeat``: the last context frame repeated (Q9 fixed)."""

    generator_fn = staticmethod(repeat_generator)
