"""The E3D-LSTM study as a ``Task`` of the shared trainer (what ``run.py``'s ``Model`` + ``train_wrapper`` did).

* The loss is the original's per-tower sum (``loss_reduction = "sum"``): the original added the towers' gradients
  instead of averaging them, so a step of N towers moves the weights N times as far as one tower's mean would.
  The logged scalars ``loss_train``, ``l1_loss_train``, ``l2_loss_train`` are the sums divided by the per-tower
  batch size and averaged over replicas, as the original printed them.
* The scheduled-sampling mask is drawn on the host once per iteration, as ``run.schedule_sampling`` did with
  NumPy, for ``batch_size`` (per tower) sequences, and the same mask goes to every replica (the original fed
  one placeholder to all towers). Draws come from ``RandomState`` seeded with (seed, iteration), so a resumed run
  repeats them; eta follows the original's decrement per iteration.
* The training data (``build_inputs``): the original's batches of ``batch_size x towers`` sequences, each split
  over the towers in order, as the original split its feed.
* Frames are cut into patches in the graph (``reshape_patch_tensor``, the order of ``reshape_patch``).

The per-tower batch size is ``sampling.batch_size``: the masks, the split of the data and the logged losses use it.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.models.e3d.config import E3DConfig
from vidpred_tf.models.e3d.losses import e3d_losses, logged_losses
from vidpred_tf.models.e3d.model import build_model, output_frames
from vidpred_tf.models.e3d.preprocess import reshape_patch_back_tensor, reshape_patch_tensor
from vidpred_tf.models.e3d.sampling import SamplingConfig, schedule_sampling
from vidpred_tf.training.optimizers import AdamEpsInsideSqrt
from vidpred_tf.training.task import OptimizerSpec, Task

MASK = "real_input_flag"


class E3DTask(Task):
    name = "e3d"
    loss_reduction = "sum"

    def __init__(self, config: E3DConfig, sampling: SamplingConfig, learning_rate: float, seed: int = 0,
                 load_pretrained=None, keep_ema: bool = False,
                 original_batches: Optional[Callable[[], tf.data.Dataset]] = None):
        """``load_pretrained(model)`` restores ``--pretrained_model`` into a freshly built model (the
        converter of original TF1 checkpoints); ``None`` leaves the initial weights. ``keep_ema`` keeps the
        original's ExponentialMovingAverage(0.9995) of the weights in the optimiser (saved, not used).

        ``original_batches()``: a new dataset of the original's training batches, ``{"images": [batch_size x
        towers, T, H, W, C]}``, one per step and as many as the run needs, the same sequence at every call (what
        ``build_inputs`` splits over the towers); ``None``: the task has no data of its own (give
        ``Trainer.fit`` a dataset function).
        """
        if sampling.e3d_config != config:
            raise ValueError("E3DTask: the sampling config was made for another E3DConfig than the model's")
        self.config = config
        self.sampling = sampling
        self.original_batches = original_batches
        self.learning_rate = learning_rate
        self.seed = seed
        self.load_pretrained = load_pretrained
        self.keep_ema = keep_ema
        self._eta_itr = 0
        self._eta = float(sampling.sampling_start_value)

    @property
    def batch_size(self) -> int:
        """Sequences per tower (replica) and step, run.py's ``--batch_size``."""
        return self.sampling.batch_size

    def build_inputs(self, input_context: tf.distribute.InputContext, epoch: Optional[int] = None) -> tf.data.Dataset:
        """Per-tower batches of ``original_batches()``: every original batch is cut, in order, into one batch of
        ``batch_size`` per tower (the first ``batch_size`` sequences go to tower 0, as the original split its
        feed). The run is counted in steps, not epochs: ``epoch`` is not used."""
        del epoch
        if self.original_batches is None:
            return super().build_inputs(input_context)
        dataset = self.original_batches().unbatch().batch(self.batch_size, drop_remainder=True)
        if input_context.num_input_pipelines > 1:
            dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
        return dataset.prefetch(2)

    def build_model(self):
        model = build_model(self.config)
        if self.load_pretrained is not None:
            self.load_pretrained(model)
        return model

    def build_optimizers(self, model):
        ema = {"use_ema": True, "ema_momentum": 0.9995} if self.keep_ema else {}
        return [OptimizerSpec("generator", AdamEpsInsideSqrt(self.learning_rate, **ema),
                              lambda: model.trainable_variables, "loss")]

    def sampling_mask(self, itr: int) -> np.ndarray:
        """The mask of iteration ``itr`` (from 1), ``[batch_size, T-Tin-1, w, w, C0]`` float32."""
        if itr != self._eta_itr + 1:  # a resumed run (or a jump): replay eta from the start
            self._eta_itr, self._eta = 0, float(self.sampling.sampling_start_value)
            for past in range(1, itr):
                self._eta, _ = schedule_sampling(self._eta, past, self.sampling, _NoDraws())
                self._eta_itr = past
        rng = np.random.RandomState(np.random.SeedSequence([self.seed, itr]).generate_state(1)[0])
        self._eta, mask = schedule_sampling(self._eta, itr, self.sampling, rng)
        self._eta_itr = itr
        return mask

    @property
    def eta(self) -> float:
        return self._eta

    def step_inputs(self, step: int, global_batch_size: int):
        mask = self.sampling_mask(step + 1)
        towers = global_batch_size // mask.shape[0]
        if towers * mask.shape[0] != global_batch_size:
            raise ValueError(f"global batch {global_batch_size} is not a multiple of --batch_size {mask.shape[0]}")
        return {MASK: np.concatenate([mask] * towers, axis=0)}

    def train_losses(self, model, batch, step, seed):
        images = reshape_patch_tensor(batch["images"], self.config.patch_size)
        gen_all = model(images, batch[MASK], training=True)
        loss, l1, l2 = e3d_losses(gen_all, images, self.config)
        batch_size = batch["images"].shape[0]  # static: the pipelines drop partial batches
        return {"loss": loss, **logged_losses(loss, l1, l2, batch_size)}

    def predict(self, model, batch, seed):
        images = reshape_patch_tensor(batch["images"], self.config.patch_size)
        gen_all = model(images, None, training=False)
        return reshape_patch_back_tensor(output_frames(gen_all, self.config), self.config.patch_size)


class _NoDraws:
    """Stands in for the RNG while eta is replayed: the draws of past iterations are not needed."""

    @staticmethod
    def random_sample(shape):
        return np.ones(shape)
