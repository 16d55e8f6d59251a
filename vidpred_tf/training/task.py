"""What a paper supplies to the one trainer.

A ``Task`` says how to build the model, which optimisers update which variables in which order, and how to
compute the losses of one replica's batch. The trainer (``vidpred_tf.training.trainer``) owns everything
else: the strategy, the ``tf.function`` step, gradient clipping, checkpoints, summaries, the NaN guard and
progress. Nothing in a Task touches the strategy, writes files or prints.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Callable, Iterator, Mapping, Optional, Sequence

import keras
import tensorflow as tf

from vidpred_tf.data.batch import validate_batch

CLIP_MODES = ("global_norm", "per_tensor")


@dataclasses.dataclass
class OptimizerSpec:
    """One optimiser, the variables it owns and the loss it minimises.

    Attributes:
      name: short name used in summaries and checkpoints (``generator``, ``discriminator``...).
      optimizer: a Keras 3 optimiser; the trainer builds it inside ``strategy.scope()``.
      variables: called once after the model is built; returns the variables this optimiser updates.
      loss: key in the dict returned by ``Task.train_losses`` that this optimiser minimises.
      clip_norm: clip the gradients of this optimiser (``None``: no clipping), after the cross-replica sum.
      clip_mode: ``"global_norm"`` (default): rescale all gradients together so that their joint norm is at most
        ``clip_norm``; ``"per_tensor"``: clip each gradient tensor to norm ``clip_norm`` on its own (TF1 slim's
        ``create_train_op(clip_gradient_norm=...)``).
      active_on: optional predicate of the global step before the update (a Python ``int``); on steps where it
        is False this optimiser does not run at all: its variables, slots and ``iterations`` stay untouched (a
        zero gradient would still move Adam's moments). The trainer decides on the host and traces one step
        function per set of active optimisers, so every replica runs the same collectives.

    Without ``active_on``, an optimiser that should skip some steps gets a loss that the task multiplies by 0
    on those steps (plain SGD only: adaptive optimisers still move on a zero gradient).
    """

    name: str
    optimizer: keras.optimizers.Optimizer
    variables: Callable[[], Sequence[tf.Variable]]
    loss: str
    clip_norm: Optional[float] = None
    clip_mode: str = "global_norm"
    active_on: Optional[Callable[[int], bool]] = None

    def __post_init__(self):
        if self.clip_mode not in CLIP_MODES:
            raise ValueError(f"optimizer {self.name!r}: clip_mode {self.clip_mode!r} is not one of {CLIP_MODES}")

    def is_active(self, step: int) -> bool:
        """Whether this optimiser updates on the step whose global step before the update is ``step``."""
        return self.active_on is None or bool(self.active_on(int(step)))


class Task(abc.ABC):
    """Base class of a paper's training task.

    Subclasses override ``build_model``, ``build_optimizers`` and ``train_losses``; the rest have defaults.

    ``loss_reduction`` says how the per-replica losses of one global batch combine into the gradient:
      * ``"mean"`` (the usual): ``train_losses`` returns means over the replica's examples; the trainer
        divides by the number of replicas before differentiating, so the summed (all-reduced) gradient is
        the gradient of the global-batch mean, whatever the number of replicas;
      * ``"sum"``: the loss is differentiated as returned, and the all-reduce sums the replicas' gradients,
        as the original multi-tower codebases that add tower gradients did (e3d).

    ``sequential_updates``: when False (default) one forward pass feeds every optimiser, and the updates
    are applied in the order of ``build_optimizers`` (TF1 codebases with control dependencies between the
    D and G train ops behave like this). When True, each optimiser recomputes the losses after the previous
    one has updated its variables.

    ``staged_updates``: when True, the trainer runs ``staged_losses`` under one gradient tape and applies each
    optimiser's update as soon as its losses are yielded, so that the next stage sees the updated variables
    while sharing the earlier stages' forward pass. This is the TF1 GAN step "D update, then G update on a G loss
    re-read through the updated D" (SAVP) without recomputing the generator.
    """

    name: str = "task"
    loss_reduction: str = "mean"
    sequential_updates: bool = False
    staged_updates: bool = False

    @abc.abstractmethod
    def build_model(self) -> keras.Model:
        """The paper's Keras model (built or buildable; the trainer builds it inside the strategy scope)."""

    @abc.abstractmethod
    def build_optimizers(self, model: keras.Model) -> Sequence[OptimizerSpec]:
        """The optimisers in update order (GANs: discriminator first, then generator)."""

    @abc.abstractmethod
    def train_losses(self, model: keras.Model, batch: Mapping[str, tf.Tensor], step: tf.Tensor,
                     seed: tf.Tensor) -> Mapping[str, tf.Tensor]:
        """Scalar losses of one replica's batch, in training mode.

        ``step`` is the int64 global step before this update, ``seed`` an int32 ``[2]`` stateless seed that
        differs per step and per replica (use it for every random draw so that a resumed run repeats).
        Every ``OptimizerSpec.loss`` must be a key; other keys are logged as scalars.
        """

    def staged_losses(self, model: keras.Model, batch: Mapping[str, tf.Tensor], step: tf.Tensor,
                      seed: tf.Tensor) -> Iterator[Mapping[str, tf.Tensor]]:
        """With ``staged_updates``: one dict of scalar losses per optimiser, yielded in the order of
        ``build_optimizers``; the dict yielded for optimiser ``i`` holds its ``OptimizerSpec.loss``, and the
        trainer applies that optimiser's update before resuming the generator, so code after the ``i``-th
        ``yield`` reads the updated variables. Tensors computed before a ``yield`` may be reused after it (one tape
        records the whole step). Every yielded key is logged; a later stage's value of a key wins.
        Default: ``train_losses`` once, for every stage (the same as one shared forward pass)."""
        losses = self.train_losses(model, batch, step, seed)
        while True:
            yield losses

    @abc.abstractmethod
    def predict(self, model: keras.Model, batch: Mapping[str, tf.Tensor], seed: tf.Tensor) -> tf.Tensor:
        """Predicted future frames ``[B, T_future, H, W, C]`` in [0, 1] for evaluation."""

    def build_inputs(self, input_context: tf.distribute.InputContext, epoch: Optional[int] = None) -> tf.data.Dataset:
        """The training data of one input pipeline: per-replica batches (``input_context.get_per_replica_batch_size``
        of the global batch) following the batch contract of :mod:`vidpred_tf.data.batch`.

        ``Trainer.fit`` calls it with ``epoch=None`` and repeats nothing (return a repeated dataset);
        ``Trainer.fit_epochs`` once per epoch with the epoch's number (return one whole pass, ordered as a function
        of the epoch). A script hands the trainer the task, which knows its data; ``fit``/``fit_epochs`` also take
        a ``dataset_fn`` that replaces this. Default: the task has no data of its own.
        """
        raise NotImplementedError(f"{type(self).__name__} builds no inputs: give Trainer.fit a dataset_fn")

    def validate_inputs(self, element_spec: Mapping[str, tf.TensorSpec], source: str) -> None:
        """Check the training data's element spec before training (``ValueError`` naming ``source``). Default: the
        video batch contract of :mod:`vidpred_tf.data.batch`; a task whose batches are no videos (poses only)
        checks its own keys instead."""
        validate_batch(element_spec, source=source)

    def post_update_losses(self, model: keras.Model, batch: Mapping[str, tf.Tensor], step: tf.Tensor,
                           seed: tf.Tensor) -> Mapping[str, tf.Tensor]:
        """Scalars of one replica's batch computed inside the step AFTER every active optimiser has updated, with the
        same ``batch``, ``step`` and ``seed`` as the step's losses: the original's losses re-evaluated after its train
        ops (a GAN whose next update depends on them, read by ``on_step_end``). The trainer reduces them across
        replicas like the losses and returns them among the step's losses under the names given, which must
        differ from the loss names (they are logged too, and seen by the NaN guard). Default: none.
        """
        return {}

    def on_step_end(self, step: int, losses: Mapping[str, float]) -> None:
        """Host callback after every training step (``fit`` and ``fit_epochs``), before the step's checkpoint and hooks.

        ``step`` is the global step after the update (the number of steps done); ``losses`` the step's losses as
        floats, ``post_update_losses`` included. For host-side state that decides the next steps (e.g. the flags an
        ``OptimizerSpec.active_on`` reads): keep it in a variable of ``checkpoint_objects`` so that a resumed run
        continues it. Default: nothing.
        """

    def step_inputs(self, step: int, global_batch_size: int) -> Mapping[str, "object"]:
        """Host-side per-step inputs (NumPy, leading axis = global batch), merged into the batch.

        For draws the original made with NumPy outside the graph once per iteration (e3d's scheduled
        sampling mask). The trainer splits them across replicas. Default: none.
        """
        return {}

    def eval_outputs(self, model: keras.Model, batch: Mapping[str, tf.Tensor],
                     seed: tf.Tensor) -> Mapping[str, tf.Tensor]:
        """Evaluation-mode tensors of one batch, computed without gradients by ``Trainer.evaluate``.

        Tasks that validate with losses (an epoch-structured ``Trainer.fit_epochs``) return them here, with
        whatever outputs the caller wants to draw. Default: the prediction only.
        """
        return {"prediction": self.predict(model, batch, seed)}

    def checkpoint_objects(self) -> Mapping[str, "tf.Variable"]:
        """Extra trackables (``tf.Variable`` s...) saved and restored with the trainer's checkpoints.

        For host-side training state that is not part of the model or the optimisers, e.g. a scheduler's
        state kept as a JSON string variable. Called once, after ``build_optimizers``. Default: none.
        """
        return {}

    def summary_videos(self, model: keras.Model, batch: Mapping[str, tf.Tensor],
                       seed: tf.Tensor) -> Mapping[str, tf.Tensor]:
        """Videos ``[B, T, H, W, C]`` in [0, 1] written as GIF summaries at the image interval."""
        context = batch["images"]
        predicted = self.predict(model, batch, seed)
        return {"ground_truth": context, "prediction": predicted}
