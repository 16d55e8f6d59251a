"""The one training loop of the package: a ``Task`` supplies the model and its losses, this does the rest.

Per step: one batch per replica from ``strategy.distribute_datasets_from_function``, the losses of
``Task.train_losses`` under a gradient tape (optionally XLA-compiled), the gradients of every optimiser's loss,
optional clipping, by global norm or per tensor (after the cross-replica sum, so the result does not depend on
the number of replicas), and the updates of the optimisers active on the step, in the order the task gives;
then the task's ``post_update_losses`` (read after the updates) and its host callback ``on_step_end``. Around it:
checkpoints with automatic resume (model, optimiser slots, step, seed), a NaN guard, SIGTERM handling, TensorBoard
summaries and a progress line.

Epoch-structured training (``fit_epochs``): whole passes over a finite dataset, with hooks before each epoch
(validation first, learning rate and loss weights for the epoch) and after it (schedulers, named checkpoints),
an epoch counter in the checkpoint, and a callback for emergency checkpoints. Named checkpoints
(``save_named``/``restore_from``) sit beside the numbered ones of ``fit``.

Determinism: every random draw of a task comes from the stateless ``seed`` argument, derived from the run's
seed, the step and the replica, and the input pipeline skips the batches already consumed on resume, so a run
killed and resumed reproduces the uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import signal
import time
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.fileio import write_json
from vidpred_tf.training.checkpoint import (
    CheckpointKeeper,
    describe_non_finite,
    model_checkpoint,
    non_finite_variables,
    restore_model_weights,
    task_object_attribute,
    write_named_checkpoint,
)
from vidpred_tf.training.progress import Progress
from vidpred_tf.training.strategy import is_chief, make_strategy
from vidpred_tf.training.summaries import SummaryWriter
from vidpred_tf.training.task import OptimizerSpec, Task

Hook = Callable[["Trainer", int, Mapping[str, float]], None]
EpochHook = Callable[["Trainer", int], None]
EpochEndHook = Callable[["Trainer", int, Mapping[str, float]], None]
InterruptHook = Callable[["Trainer", int, Optional[BaseException]], None]


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped without saving over the last good checkpoint."""


class NonFiniteWeightsError(NonFiniteLossError):
    """An update made weights (or optimiser slots) NaN or infinite; that state was not saved."""


# The file of ``model_dir`` recording what a run was configured with (learning rates) and which evaluations
# finished, so that a resumed run can tell a changed flag from a restored value and redo an interrupted test.
RUN_RECORD = "vidpred_run.json"


@dataclasses.dataclass
class Evaluation:
    """A pass run every ``every`` steps by ``fit`` (after the checkpoint of that step), whose completion is recorded
    in ``model_dir``: a run killed during it redoes it on resume. ``run(trainer, step)``."""

    name: str
    every: int
    run: Callable[["Trainer", int], None]


@dataclasses.dataclass
class TrainerConfig:
    """How to train; the paper scripts fill it from their absl flags.

    ``global_batch_size`` is the batch of one step summed over replicas. ``checkpoint_every``,
    ``log_every`` (progress line), ``summary_every`` (TensorBoard scalars; 0: with the progress line) and
    ``video_every`` are in steps (0 disables); ``checkpoint_every_s`` also checkpoints whenever that many seconds
    passed since the last checkpoint (or the start), so a kill loses at most about that much training whatever
    the speed. ``time_budget_s`` stops the run (with a checkpoint) after that
    many seconds of training. ``summary_dir`` defaults to ``model_dir``. ``scalar_prefix`` is put before the
    loss names in TensorBoard (the e3d port uses "" to keep the original tags ``loss_train``...);
    ``loss_summaries=False`` leaves the loss scalars to the task's hooks (scripts that keep an original's tags).
    ``learning_rate_flag`` names the script's flag in the message of a learning rate changed on resume.
    ``jit_compile`` compiles the losses and gradients of the joint and sequential update modes; a task with
    ``staged_updates`` runs its step uncompiled (its updates sit between the stages of one tape).
    ``autograph=False`` traces the task's Python code as written instead of converting it with AutoGraph: tracing
    is faster for models unrolled in Python over static structure (MSPred), but a Python ``if``/``while`` on a
    tensor then fails at trace time instead of becoming ``tf.cond``/``tf.while_loop``.
    """

    model_dir: str
    num_steps: int
    global_batch_size: int
    seed: int = 0
    checkpoint_every: int = 1000
    checkpoint_every_s: Optional[float] = None
    keep_checkpoints: int = 5
    checkpoint_name: str = "ckpt"
    log_every: int = 100
    summary_every: int = 0
    scalar_prefix: str = "loss/"
    video_every: int = 0
    time_budget_s: Optional[float] = None
    jit_compile: bool = False
    mixed_precision: bool = False
    nan_guard: bool = True
    handle_sigterm: bool = True
    summary_dir: Optional[str] = None
    loss_summaries: bool = True
    autograph: bool = True
    learning_rate_flag: Optional[str] = None

    def __post_init__(self):
        if self.num_steps < 0:
            raise ValueError(f"num_steps must be >= 0; got {self.num_steps}")
        if self.global_batch_size <= 0:
            raise ValueError(f"global_batch_size must be positive; got {self.global_batch_size}")
        if self.checkpoint_every_s is not None and not self.checkpoint_every_s > 0:
            raise ValueError(f"checkpoint_every_s must be positive (or None); got {self.checkpoint_every_s}")


@dataclasses.dataclass
class TrainResult:
    step: int
    status: str  # "completed", "time_budget", "preempted", "data_exhausted"
    losses: Dict[str, float]
    elapsed_s: float
    checkpoint: Optional[str]


def _fold_seed(seed: tf.Tensor, value) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(value, tf.int64))


def _same_float(a, b) -> bool:
    a, b = float(a), float(b)
    return a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6)


class Trainer:
    """Builds the task's model and optimisers under ``strategy`` and trains them.

    Args:
      task: the paper's ``Task``.
      config: ``TrainerConfig``.
      strategy: a ``tf.distribute.Strategy`` (default: ``make_strategy("auto")``).
      clock: seconds as a float (default ``time.monotonic``): what the time budget, ``checkpoint_every_s`` and
        the progress line measure; tests pass a fake one.
    """

    def __init__(self, task: Task, config: TrainerConfig, strategy: Optional[tf.distribute.Strategy] = None,
                 clock: Optional[Callable[[], float]] = None):
        self.task = task
        self.config = config
        self.clock = clock or time.monotonic
        self.strategy = strategy or make_strategy("auto")
        self.chief = is_chief(self.strategy)
        if task.loss_reduction not in ("mean", "sum"):
            raise ValueError(f"{type(task).__name__}.loss_reduction must be 'mean' or 'sum'; "
                             f"got {task.loss_reduction!r}")
        num_replicas = self.strategy.num_replicas_in_sync
        if config.global_batch_size % num_replicas:
            raise ValueError(f"global batch size {config.global_batch_size} is not divisible by the "
                             f"{num_replicas} replicas of {type(self.strategy).__name__}")
        self.per_replica_batch_size = config.global_batch_size // num_replicas
        if config.mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        keras.utils.set_random_seed(config.seed)

        with self.strategy.scope():
            self.model = task.build_model()
            if not self.model.weights:
                raise ValueError(f"{type(task).__name__}.build_model() must return a built model "
                                 "(its variables are needed to build the optimisers)")
            self.optimizer_specs: List[OptimizerSpec] = list(task.build_optimizers(self.model))
            self._variables: Dict[str, List[tf.Variable]] = {}
            for spec in self.optimizer_specs:
                if spec.name in self._variables:
                    raise ValueError(f"two optimizers are named {spec.name!r}")
                if config.mixed_precision and not isinstance(spec.optimizer, keras.optimizers.LossScaleOptimizer):
                    spec.optimizer = keras.optimizers.LossScaleOptimizer(spec.optimizer)
                variables = list(spec.variables())
                if not variables:
                    raise ValueError(f"optimizer {spec.name!r} has no variables to train")
                self._variables[spec.name] = variables
                # Keras 3 optimisers must create their slots inside the strategy scope before the first
                # tf.function step, or the first step fails to create variables under a distribution.
                spec.optimizer.build(variables)
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self.base_seed = tf.Variable([config.seed, 0x5EED], dtype=tf.int64, trainable=False,
                                         name="base_seed")
            # Completed epochs of ``fit_epochs`` (0 for step-based runs).
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")

        tracked = {f"optimizer_{spec.name}": spec.optimizer for spec in self.optimizer_specs}
        tracked.update({task_object_attribute(name): value for name, value in task.checkpoint_objects().items()})
        self.checkpoint = model_checkpoint(self.model, step=self.step, base_seed=self.base_seed, epoch=self.epoch,
                                           **tracked)
        self.checkpoints = CheckpointKeeper(self.checkpoint, config.model_dir, chief=self.chief,
                                            max_to_keep=config.keep_checkpoints,
                                            checkpoint_name=config.checkpoint_name)
        self.summaries = SummaryWriter(config.summary_dir or config.model_dir, enabled=self.chief)
        self._stop_signal: Optional[int] = None
        self.current_epoch: Optional[int] = None
        self.step_in_epoch = 0
        self.retrace()

    def retrace(self) -> None:
        """Trace the step, prediction and evaluation functions afresh on their next call.

        For tasks whose traced code reads a Python value that changes between epochs (e.g. a teacher-forcing
        switch): ``tf.function`` would keep using the value seen when it first traced.
        """
        autograph = self.config.autograph
        self._compute = tf.function(self._losses_and_gradients, jit_compile=self.config.jit_compile,
                                    autograph=autograph)
        self._post_update = tf.function(self._post_update_losses, jit_compile=self.config.jit_compile,
                                        autograph=autograph)
        self._train_step = tf.function(self._distributed_step, autograph=autograph)
        self._predict = tf.function(self._predict_fn, autograph=autograph)
        self._eval = tf.function(self._eval_fn, autograph=autograph)

    def set_learning_rate(self, value: float, optimizer: Optional[str] = None) -> None:
        """Set the learning rate of one optimiser (by ``OptimizerSpec.name``) or of all of them.

        For per-epoch schedulers computed on the host. The optimiser must have been built with a constant
        learning rate (a variable); a ``LearningRateSchedule`` is an error.
        """
        specs = [spec for spec in self.optimizer_specs if optimizer is None or spec.name == optimizer]
        if not specs:
            raise ValueError(f"no optimizer named {optimizer!r}; have {[s.name for s in self.optimizer_specs]}")
        for spec in specs:
            inner = getattr(spec.optimizer, "inner_optimizer", spec.optimizer)
            if isinstance(inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                raise ValueError(f"optimizer {spec.name!r} follows a LearningRateSchedule; its learning rate "
                                 "cannot be set per epoch")
            inner.learning_rate.assign(float(value))

    def learning_rate(self, optimizer: Optional[str] = None) -> float:
        """The current learning rate of the named (default: first) optimiser."""
        spec = next((s for s in self.optimizer_specs if optimizer is None or s.name == optimizer), None)
        if spec is None:
            raise ValueError(f"no optimizer named {optimizer!r}")
        inner = getattr(spec.optimizer, "inner_optimizer", spec.optimizer)
        return float(keras.ops.convert_to_numpy(inner.learning_rate))

    # ------------------------------------------------------------------------------------------ step
    def _replica_seed(self, step) -> tf.Tensor:
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.cast(_fold_seed(_fold_seed(self.base_seed, step), replica), tf.int32)

    def _loss_scale(self) -> float:
        return 1.0 / self.strategy.num_replicas_in_sync if self.task.loss_reduction == "mean" else 1.0

    def _losses_and_gradients(self, batch, step, seed, spec_indices: tuple):
        specs = [self.optimizer_specs[i] for i in spec_indices]
        with tf.GradientTape(persistent=len(specs) > 1) as tape:
            losses = dict(self.task.train_losses(self.model, batch, step, seed))
            missing = [spec.loss for spec in specs if spec.loss not in losses]
            if missing:
                raise KeyError(f"{type(self.task).__name__}.train_losses() returned {sorted(losses)} "
                               f"but the optimizers minimise {missing}")
            objectives = [self._objective(spec, losses) for spec in specs]
        gradients = [tape.gradient(objective, self._variables[spec.name])
                     for spec, objective in zip(specs, objectives)]
        del tape
        return losses, gradients

    def _apply(self, spec: OptimizerSpec, gradients):
        variables = self._variables[spec.name]
        pairs = [(g, v) for g, v in zip(gradients, variables) if g is not None]
        if not pairs:
            raise ValueError(f"no variable of optimizer {spec.name!r} receives a gradient from "
                             f"loss {spec.loss!r}")
        if spec.clip_norm:
            # Keras all-reduces inside apply_gradients, after its own clipping: clip the summed gradient here
            # instead, then hand Keras 1/N of it so that its sum gives back the clipped total.
            context = tf.distribute.get_replica_context()
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, [g for g, _ in pairs])
            clip_norm = spec.clip_norm
            if isinstance(spec.optimizer, keras.optimizers.LossScaleOptimizer):
                # These gradients still carry the loss scale, which the optimiser divides out afterwards.
                clip_norm = clip_norm * tf.cast(spec.optimizer.dynamic_scale, tf.float32)
            if spec.clip_mode == "per_tensor":
                grads = [tf.clip_by_norm(g, clip_norm) for g in grads]
            else:
                grads, _ = tf.clip_by_global_norm(grads, clip_norm)
            grads = [g / self.strategy.num_replicas_in_sync for g in grads]
            pairs = list(zip(grads, [v for _, v in pairs]))
        spec.optimizer.apply_gradients(pairs)

    def _objective(self, spec: OptimizerSpec, losses: Mapping[str, tf.Tensor]) -> tf.Tensor:
        objective = tf.cast(losses[spec.loss], tf.float32) * self._loss_scale()
        if self.config.mixed_precision:
            objective = spec.optimizer.scale_loss(objective)
        return objective

    def _staged_step(self, batch, step, seed, active: tuple) -> Dict[str, tf.Tensor]:
        """``Task.staged_losses`` under one tape: each optimiser's update lands before the next stage runs."""
        losses: Dict[str, tf.Tensor] = {}
        with tf.GradientTape(persistent=True) as tape:
            stages = iter(self.task.staged_losses(self.model, batch, step, seed))
            for index, spec in enumerate(self.optimizer_specs):
                stage_losses = dict(next(stages))
                if spec.loss not in stage_losses:
                    raise KeyError(f"{type(self.task).__name__}.staged_losses() yielded {sorted(stage_losses)} for "
                                   f"optimizer {spec.name!r}, which minimises {spec.loss!r}")
                if index in active:
                    objective = self._objective(spec, stage_losses)
                    # The gradient and the update are not part of what later stages differentiate.
                    with tape.stop_recording():
                        self._apply(spec, tape.gradient(objective, self._variables[spec.name]))
                losses.update(stage_losses)
        del tape
        return losses

    def _replica_step(self, batch, active: tuple):
        step = self.step.read_value()
        seed = self._replica_seed(step)
        if self.task.staged_updates:
            losses = self._staged_step(batch, step, seed, active)
        elif self.task.sequential_updates:
            losses = {}
            for index in active:
                spec_losses, (gradients,) = self._compute(batch, step, seed, (index,))
                self._apply(self.optimizer_specs[index], gradients)
                losses.update(spec_losses)
        else:
            losses, all_gradients = self._compute(batch, step, seed, active)
            for index, gradients in zip(active, all_gradients):
                self._apply(self.optimizer_specs[index], gradients)
        if self._has_post_update_losses():
            # Reads the variables the updates above assigned: tf.function orders the stateful ops as written.
            post = dict(self._post_update(batch, step, seed))
            clashing = sorted(set(post) & set(losses))
            if clashing:
                raise KeyError(f"{type(self.task).__name__}.post_update_losses() returned {clashing}, which are "
                               "also names of the step's losses: give them names of their own")
            losses.update(post)
        return {name: tf.cast(value, tf.float32) for name, value in losses.items()}

    def _has_post_update_losses(self) -> bool:
        return type(self.task).post_update_losses is not Task.post_update_losses

    def _post_update_losses(self, batch, step, seed):
        return dict(self.task.post_update_losses(self.model, batch, step, seed))

    def active_optimizers(self, step: int) -> tuple:
        """Indices (into ``optimizer_specs``) of the optimisers that update on global step ``step``."""
        active = tuple(index for index, spec in enumerate(self.optimizer_specs) if spec.is_active(step))
        if not active:
            raise ValueError(f"no optimizer is active at step {step}: check the OptimizerSpec.active_on predicates")
        return active

    def _distributed_step(self, batch, active: Optional[tuple] = None):
        # ``active`` is a Python tuple: tf.function traces one step per distinct set of active optimisers.
        if active is None:
            active = tuple(range(len(self.optimizer_specs)))
        per_replica = self.strategy.run(self._replica_step, args=(batch, active))
        losses = {name: self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None)
                  for name, value in per_replica.items()}
        self.step.assign_add(1)
        return losses

    # ------------------------------------------------------------------------------------- prediction
    def _predict_fn(self, batch, seed):
        return self.task.predict(self.model, batch, seed)

    def predict(self, batch: Mapping[str, np.ndarray], seed: int = 0) -> np.ndarray:
        """The task's prediction for a host batch (evaluation and summaries), as NumPy."""
        tensors = {key: tf.convert_to_tensor(value) for key, value in batch.items()}
        return self._predict(tensors, tf.constant([seed, 1], tf.int32)).numpy()

    def _eval_fn(self, batch, seed):
        return self.task.eval_outputs(self.model, batch, seed)

    def evaluate(self, batches, seed: int = 0):
        """``Task.eval_outputs`` of each host batch (dicts of arrays), as dicts of NumPy arrays, no gradients.

        Runs on the default device with the model's current weights (one replica's view under a strategy).
        Batch ``i`` gets the stateless seed ``(seed, i)``.
        """
        for index, batch in enumerate(batches):
            tensors = {key: tf.convert_to_tensor(value) for key, value in batch.items()}
            outputs = self._eval(tensors, tf.constant([seed, index], tf.int32))
            yield tf.nest.map_structure(lambda value: value.numpy(), dict(outputs))

    # ------------------------------------------------------------------------------- named checkpoints
    def save_named(self, folder: str) -> Optional[str]:
        """Write the full training state (model, optimisers, step, epoch, task objects) as the checkpoint of
        ``folder``, replacing the previous one atomically (``checkpoint.write_named_checkpoint``)."""
        return write_named_checkpoint(self.checkpoint, folder, chief=self.chief)

    def restore_from(self, prefix: str, weights_only: bool = False) -> None:
        """Restore a checkpoint prefix written by this trainer's layout: everything (resuming a run), or only the
        model weights (fine-tuning; optimiser, step and epoch stay fresh). A mismatch raises ``ValueError``."""
        if weights_only:
            restore_model_weights(self.model, prefix)
            return
        try:
            self.checkpoint.read(prefix).assert_existing_objects_matched()
        except (AssertionError, ValueError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError) as err:
            raise ValueError(f"checkpoint {prefix} does not hold the training state of this run "
                             f"(model {self.model.name!r}, optimizers "
                             f"{[s.name for s in self.optimizer_specs]}): {err}") from err

    # ------------------------------------------------------------------------------------------- data
    def _checked_inputs(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        """``dataset`` once its elements are known to follow the batch contract (``vidpred_tf.data.batch``)."""
        if not isinstance(dataset.element_spec, Mapping):
            raise TypeError(f"task {self.task.name}: its training data must yield dicts of tensors (the batch "
                            f"contract of vidpred_tf.data.batch); got elements {dataset.element_spec}")
        self.task.validate_inputs(dataset.element_spec, source=f"training data of task {self.task.name}")
        return dataset

    def _distribute(self, dataset_fn: Callable[[tf.distribute.InputContext], tf.data.Dataset], start_step: int):
        replicas_per_pipeline = None

        def wrapped(context: tf.distribute.InputContext) -> tf.data.Dataset:
            nonlocal replicas_per_pipeline
            replicas_per_pipeline = context.num_replicas_in_sync // context.num_input_pipelines
            dataset = self._checked_inputs(dataset_fn(context))
            # Each step draws one batch per local replica from this pipeline: skip what a resumed run
            # already consumed so that it sees the same batches as an uninterrupted one.
            return dataset.skip(start_step * replicas_per_pipeline) if start_step else dataset

        return self.strategy.distribute_datasets_from_function(wrapped)

    def _with_step_inputs(self, batch, step: int):
        extra = self.task.step_inputs(step, self.config.global_batch_size)
        if not extra:
            return batch
        per_replica = self.per_replica_batch_size

        def slice_for(context: tf.distribute.ValueContext):
            start = context.replica_id_in_sync_group * per_replica
            return {key: tf.convert_to_tensor(value[start:start + per_replica]) for key, value in extra.items()}

        values = self.strategy.experimental_distribute_values_from_function(slice_for)
        return {**batch, **values}

    # ------------------------------------------------------------------------------------------- loop
    @contextlib.contextmanager
    def _sigterm_handling(self):
        """SIGTERM sets ``_stop_signal`` (the loops save and stop) while the block runs, if configured."""
        previous_handler = None
        if self.config.handle_sigterm:
            try:
                previous_handler = signal.signal(signal.SIGTERM, self._on_signal)
            except ValueError:  # not the main thread: leave signals to the caller
                previous_handler = None
        try:
            yield
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGTERM, previous_handler)
            self.summaries.flush()

    def _step(self, batch, step: int, where: str = "", after: str = "") -> Dict[str, float]:
        """One training step on ``batch`` (the global step before it is ``step``): the losses as floats.

        With the NaN guard, a non-finite loss raises ``NonFiniteLossError`` naming it; ``where`` and ``after``
        are put before the values and after the closing parenthesis of the message.
        """
        loss_tensors = self._train_step(self._with_step_inputs(batch, step), self.active_optimizers(step))
        losses = {name: float(value) for name, value in loss_tensors.items()}
        if self.config.nan_guard:
            bad = sorted(name for name, value in losses.items() if not math.isfinite(value))
            if bad:
                raise NonFiniteLossError(
                    f"loss {', '.join(bad)} became non-finite at step {step + 1} "
                    f"({where}{', '.join(f'{n}={losses[n]}' for n in bad)}){after}")
        self.task.on_step_end(step + 1, losses)
        return losses

    def _log_step(self, progress: Progress, step: int, losses: Mapping[str, float], report: bool) -> None:
        """The progress line and ``perf/`` scalars when ``report``; the loss scalars every ``summary_every``."""
        config = self.config
        if report:
            rates = progress.report(step, losses) if self.chief else {}
            self.summaries.scalars(rates, step, prefix="perf/")
        summary_every = config.summary_every or config.log_every
        if config.loss_summaries and summary_every and step % summary_every == 0:
            self.summaries.scalars(losses, step, prefix=config.scalar_prefix)

    def restore(self) -> Optional[str]:
        """Restore the newest checkpoint of ``model_dir`` that reads whole (if any); returns its path."""
        return self.checkpoints.restore_latest(report=self._say)

    def _say(self, line: str) -> None:
        if self.chief:
            print(line, flush=True)

    def _checkpointed_variables(self) -> List[tf.Variable]:
        variables = list(self.model.weights)
        for spec in self.optimizer_specs:
            variables.extend(spec.optimizer.variables)
        return variables

    def save_checkpoint(self, step: int, last_good: Optional[str]) -> Optional[str]:
        """Write the numbered checkpoint of ``step``; with the NaN guard only when every weight and optimiser slot
        is finite (``NonFiniteWeightsError`` naming ``last_good`` otherwise), so that no checkpoint on disk holds
        a diverged state."""
        if self.config.nan_guard:
            variables = self._checkpointed_variables()
            bad = non_finite_variables(variables)
            if bad:
                raise NonFiniteWeightsError(
                    f"weights became non-finite at step {step} ({describe_non_finite(bad, len(variables))}); "
                    f"stopped without saving. Last good checkpoint: {last_good or 'none'}")
        return self.checkpoints.save(step)

    # ------------------------------------------------------------------------------------- run record
    def _run_record_path(self) -> str:
        return os.path.join(self.config.model_dir, RUN_RECORD)

    def _read_run_record(self) -> dict:
        try:
            with open(self._run_record_path(), encoding="utf-8") as handle:
                record = json.load(handle)
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_run_record(self, record: dict) -> None:
        if self.chief:
            os.makedirs(self.config.model_dir, exist_ok=True)
            write_json(self._run_record_path(), record)

    def _configured_learning_rates(self) -> Dict[str, float]:
        """The constant learning rates the task built its optimisers with (schedules are left out)."""
        rates = {}
        for spec in self.optimizer_specs:
            inner = getattr(spec.optimizer, "inner_optimizer", spec.optimizer)
            if not isinstance(inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
                rates[spec.name] = float(keras.ops.convert_to_numpy(inner.learning_rate))
        return rates

    def _honour_changed_learning_rates(self, configured: Mapping[str, float], record: dict) -> None:
        """After a resume: a learning rate configured differently from the one the run was started (or last
        resumed) with is a changed flag, so it replaces the restored value, saying so; an unchanged one leaves the
        restored value (which per-step hooks may have moved) as it was."""
        previous = record.get("learning_rates") or {}
        for name, value in configured.items():
            before = previous.get(name)
            if before is not None and not _same_float(before, value):
                self.set_learning_rate(value, optimizer=name)
                flag = f" ({self.config.learning_rate_flag})" if self.config.learning_rate_flag else ""
                self._say(f"Learning rate of optimizer {name!r}{flag} changed since the run started: {before:g} -> "
                          f"{value:g}; training on with {value:g}")

    def _on_signal(self, signum, frame):
        self._stop_signal = signum

    def _agree(self, flag: bool) -> bool:
        """``flag`` of the chief for every worker: a save must be taken by all workers of a multi-worker strategy
        or none, and clocks differ between machines."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return flag
        value = tf.constant(1.0 if (flag and self.chief) else 0.0)
        per_replica = self.strategy.run(lambda: tf.identity(value))
        return float(self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)) > 0.5

    def fit(self, dataset_fn: Optional[Callable[[tf.distribute.InputContext], tf.data.Dataset]] = None, *,
            hooks: Sequence[Hook] = (), video_batch: Optional[Mapping[str, np.ndarray]] = None,
            on_data_error: Optional[Callable[[Exception], Exception]] = None,
            evaluations: Sequence[Evaluation] = ()) -> TrainResult:
        """Train until ``num_steps`` (resuming from the newest checkpoint), the time budget, or SIGTERM.

        Args:
          dataset_fn: ``InputContext -> tf.data.Dataset`` of per-replica batches (contract of
            ``vidpred_tf.data.batch``), repeated as long as needed; default ``Task.build_inputs``.
          hooks: ``hook(trainer, step, losses)`` called after every step on every worker.
          video_batch: a fixed host batch whose ``Task.summary_videos`` are written as GIF summaries every
            ``video_every`` steps.
          on_data_error: turns a ``tf.errors.DataLossError``/``InvalidArgumentError`` from the input pipeline
            into a better error (e.g. one naming the corrupt file).
          evaluations: ``Evaluation`` passes (tests) every N steps, recorded in ``model_dir/vidpred_run.json`` when
            they finish; one of the resumed step that has no record (the run was killed during it) runs again
            first.

        With the NaN guard, a checkpoint is written only when the whole state is finite: a run whose update
        diverged stops with ``NonFiniteWeightsError`` (or ``NonFiniteLossError`` at the next loss) naming the
        newest checkpoint that is. A learning rate configured differently from the one the run started with is
        used from the resume on (``vidpred_run.json`` keeps what the run was configured with).
        """
        config = self.config
        dataset_fn = self.task.build_inputs if dataset_fn is None else dataset_fn
        self._stop_signal = None
        configured_rates = self._configured_learning_rates()
        restored = self.restore()
        start_step = int(self.step.numpy())
        record = self._read_run_record()
        if restored:
            self._say(f"Resumed from {restored} at step {start_step}")
            self._honour_changed_learning_rates(configured_rates, record)
        record["learning_rates"] = configured_rates
        record.setdefault("evaluations", {})
        self._write_run_record(record)
        progress = Progress(config.num_steps, config.global_batch_size, start_step, config.time_budget_s,
                            clock=self.clock)
        step, losses, status, saved_at, reported_at = start_step, {}, "completed", None, start_step
        latest_path = restored
        saved_time = self.clock()

        def run_evaluation(evaluation: Evaluation, at_step: int) -> None:
            evaluation.run(self, at_step)
            done = record["evaluations"].setdefault(evaluation.name, [])
            if at_step not in done:
                done.append(at_step)
            self._write_run_record(record)

        for evaluation in evaluations:
            done = record["evaluations"].get(evaluation.name, [])
            if (start_step and evaluation.every and start_step % evaluation.every == 0
                    and start_step not in done):
                self._say(f"Evaluation {evaluation.name!r} of step {start_step} did not finish before the run "
                          f"stopped: running it again")
                run_evaluation(evaluation, start_step)
        iterator = iter(self._distribute(dataset_fn, start_step))
        with self._sigterm_handling():
            while step < config.num_steps:
                try:
                    batch = next(iterator)
                except (StopIteration, tf.errors.OutOfRangeError):
                    status = "data_exhausted"
                    break
                except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
                    if on_data_error is not None:
                        raise on_data_error(err) from err
                    raise
                losses = self._step(batch, step, after=f"; stopped without saving. Last good checkpoint: "
                                                       f"{latest_path or 'none'}")
                step += 1
                report = bool(config.log_every) and (step % config.log_every == 0 or step == config.num_steps)
                self._log_step(progress, step, losses, report)
                if report:
                    reported_at = step
                if config.video_every and video_batch is not None and step % config.video_every == 0:
                    self.write_videos(video_batch, step)
                due = bool(config.checkpoint_every) and step % config.checkpoint_every == 0
                if not due and config.checkpoint_every_s is not None:
                    due = self._agree(self.clock() - saved_time >= config.checkpoint_every_s)
                if due:
                    latest_path = self.save_checkpoint(step, latest_path) or latest_path
                    saved_at, saved_time = step, self.clock()
                for hook in hooks:
                    hook(self, step, losses)
                for evaluation in evaluations:
                    if evaluation.every and step % evaluation.every == 0:
                        run_evaluation(evaluation, step)
                if self._stop_signal is not None:
                    status = "preempted"
                    break
                if config.time_budget_s is not None and progress.elapsed() >= config.time_budget_s:
                    status = "time_budget"
                    break
            if saved_at != step and step > start_step:
                latest_path = self.save_checkpoint(step, latest_path) or latest_path
            if config.log_every and reported_at != step and self.chief:
                progress.report(step, losses)  # where the run stopped between two reports
        if status == "preempted" and self.chief:
            print(f"Stopped by signal {self._stop_signal} at step {step}; checkpoint {latest_path}", flush=True)
        return TrainResult(step=step, status=status, losses=losses, elapsed_s=progress.elapsed(),
                           checkpoint=latest_path)

    def fit_epochs(self, dataset_fn: Optional[Callable[[tf.distribute.InputContext, int], tf.data.Dataset]],
                   num_epochs: int, *, before_epoch: Optional[EpochHook] = None,
                   after_epoch: Optional[EpochEndHook] = None, hooks: Sequence[Hook] = (),
                   on_interrupt: Optional[InterruptHook] = None,
                   steps_per_epoch: Optional[int] = None) -> TrainResult:
        """Train in epochs, each a whole pass over ``dataset_fn(context, epoch)`` (finite, not repeated; ``None``:
        ``Task.build_inputs(context, epoch)``).

        Starts at the trainer's ``epoch`` counter (restore a checkpoint first with ``restore_from`` to resume)
        and runs until ``num_epochs``. Per epoch: ``before_epoch(trainer, epoch)`` (validation, the epoch's
        learning rate...), the training steps with ``hooks(trainer, step, losses)`` after each (the trainer's
        ``current_epoch`` and ``step_in_epoch`` say where it is), the epoch counter advanced to ``epoch + 1``,
        then ``after_epoch(trainer, epoch, mean_losses)`` (schedulers, checkpoints). Nothing is saved here:
        the hooks decide what to save and under which names.

        ``on_interrupt(trainer, epoch, error)`` is called when an exception or Ctrl-C escapes (``error`` set; it
        is re-raised afterwards) or on SIGTERM (``error`` None; the run then stops with status "preempted").
        ``steps_per_epoch`` only feeds the progress line's ETA. Build ``dataset_fn``'s dataset so that its
        order is a function of the epoch (e.g. shuffle seeded with (seed, epoch)): a resumed run then sees
        the batches an uninterrupted one would.
        """
        config = self.config
        dataset_fn = self.task.build_inputs if dataset_fn is None else dataset_fn
        self._stop_signal = None
        start_epoch = int(self.epoch.numpy())
        start_step = int(self.step.numpy())
        total = num_epochs * steps_per_epoch if steps_per_epoch else config.num_steps
        progress = Progress(total, config.global_batch_size, start_step, config.time_budget_s, clock=self.clock)
        step, losses, status = start_step, {}, "completed"
        epoch = start_epoch
        try:
            with self._sigterm_handling():
                for epoch in range(start_epoch, num_epochs):
                    self.current_epoch, self.step_in_epoch = epoch, 0
                    if before_epoch is not None:
                        before_epoch(self, epoch)
                    sums: Dict[str, float] = {}
                    iterator = iter(self.strategy.distribute_datasets_from_function(
                        lambda context, epoch=epoch: self._checked_inputs(dataset_fn(context, epoch))))
                    while True:
                        try:
                            batch = next(iterator)
                        except (StopIteration, tf.errors.OutOfRangeError):
                            break
                        losses = self._step(batch, step, where=f"epoch {epoch}: ")
                        step += 1
                        self.step_in_epoch += 1
                        for name, value in losses.items():
                            sums[name] = sums.get(name, 0.0) + value
                        self._log_step(progress, step, losses,
                                       report=bool(config.log_every) and step % config.log_every == 0)
                        for hook in hooks:
                            hook(self, step, losses)
                        if self._stop_signal is not None:
                            break
                    if self._stop_signal is not None:
                        status = "preempted"
                        if on_interrupt is not None:
                            on_interrupt(self, epoch, None)
                        break
                    if self.step_in_epoch == 0:
                        raise ValueError(f"epoch {epoch} has no training batch: the training data yields fewer "
                                         f"examples than the global batch size {config.global_batch_size}")
                    self.epoch.assign(epoch + 1)
                    mean_losses = {name: total / self.step_in_epoch for name, total in sums.items()}
                    if after_epoch is not None:
                        after_epoch(self, epoch, mean_losses)
                    if config.time_budget_s is not None and progress.elapsed() >= config.time_budget_s:
                        status = "time_budget"
                        break
        except (Exception, KeyboardInterrupt) as error:
            if on_interrupt is not None:
                on_interrupt(self, epoch, error)
            raise
        finally:
            self.current_epoch = None
        return TrainResult(step=step, status=status, losses=losses, elapsed_s=progress.elapsed(),
                           checkpoint=None)

    def write_videos(self, batch: Mapping[str, np.ndarray], step: int, max_videos: int = 4) -> None:
        """Write ``Task.summary_videos`` of ``batch`` as animated GIFs (videos of a batch side by side)."""
        if not self.summaries.enabled:
            return
        tensors = {key: tf.convert_to_tensor(value) for key, value in batch.items()}
        videos = self.task.summary_videos(self.model, tensors, tf.constant([self.config.seed, 2], tf.int32))
        for name, video in videos.items():
            video = np.asarray(video)[:max_videos]
            tiled = np.concatenate(list(video), axis=2)  # [T, H, B*W, C]
            self.summaries.gif(f"videos/{name}", tiled, step)
