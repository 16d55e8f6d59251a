"""MSPred training as a ``Task`` of the shared trainer (02_train.py's ``Trainer`` minus its loop), and the
02_train.py workflow around it (``MSPredTraining``).

Loss (spec 5, the terms of ``losses.py``): ``sum_h alphas[h] * Rec_h(preds[h], targets[h][:, target_mask_h])
+ beta * KL`` with targets [frames, heatmap_1, heatmap_2]; models without auxiliary outputs (the SVG baselines, or
aux_outputs False) use ``Rec_0(preds[0], frames[:, mask_0]) + beta * KL``. Beta is a variable set per epoch by the
caller (the BetaScheduler), the teacher-forcing switch a Python flag (``set_teacher_force``; the trainer must
retrace when it changes). Every random draw of the model comes from the trainer's stateless per-step seed. The
optimisers follow PyTorch's update rules (``TorchAdam``/``TorchSGD``), as the original's torch.optim ones.
The step functions are traced without AutoGraph: the model is unrolled in Python over static structure.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.errors import InputError
from vidpred_tf.papers.mspred.experiment import hierarchical_num_preds
from vidpred_tf.models.mspred.losses import RECONSTRUCTION_LOSSES, kl_loss, reconstruction_loss
from vidpred_tf.training.optimizers import TorchAdam, TorchSGD
from vidpred_tf.training.task import OptimizerSpec, Task

LOSS_NAMES = RECONSTRUCTION_LOSSES
# lib/setup_model.setup_optimizer: SGD (anything but adam/adamw) always has weight decay 5e-4.
SGD_WEIGHT_DECAY = 5e-4
# torch.optim.AdamW's default weight decay.
ADAMW_WEIGHT_DECAY = 1e-2


def make_mspred_optimizer(training_params: Mapping, learning_rate: float) -> keras.optimizers.Optimizer:
    """lib/setup_model.setup_optimizer with PyTorch's update rules (``training.optimizer``): ``adam``
    (torch.optim.Adam defaults: betas 0.9/0.999, eps 1e-8, no weight decay), ``adamw`` (torch.optim.AdamW
    defaults: decoupled weight decay 1e-2), anything else SGD(momentum, nesterov) with L2 weight decay 5e-4
    (torch.optim.SGD adds it to the gradient).
    """
    kind = training_params.get("optimizer", "adam")
    if kind == "adam":
        return TorchAdam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    if kind == "adamw":
        return TorchAdam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=ADAMW_WEIGHT_DECAY,
                         name="torch_adamw")
    return TorchSGD(learning_rate, momentum=float(training_params.get("momentum", 0)),
                    nesterov=bool(training_params.get("nesterov", False)), weight_decay=SGD_WEIGHT_DECAY)


def dummy_input(exp_params: Mapping, batch_size: int = 2) -> np.ndarray:
    """Zeros (B, T, H, W, C) of the experiment's training sequence length, to create a model's variables."""
    from vidpred_tf.papers.mspred.experiment import sequence_length

    dataset = exp_params["dataset"]
    size = dataset["img_size"]
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    channels = 3 if dataset["dataset_name"] == "synpick" else int(dataset["num_channels"])
    return np.zeros((batch_size, sequence_length(exp_params), height, width, channels), np.float32)


class MSPredTask(Task):
    """Every model type of ``setup_model`` (hierarchical ConvLSTM/linear, SVG baselines, CopyLast excluded as it
    has no weights). ``exp_params`` must already hold ``model.HierarchLSTM.n_hmap_channels`` when the model has
    auxiliary outputs; ``model_factory(exp_params)`` defaults to ``build.setup_model``; ``class_weights`` is the
    (num_classes, C) table of weighted_kpoint_loss (``kth_keypoints.heatmap_weights``)."""

    name = "mspred"

    def __init__(self, exp_params: Mapping, model_factory=None, class_weights: Optional[np.ndarray] = None):
        self.exp_params = exp_params
        model_params = exp_params["model"]
        self.model_type = model_params["model_type"]
        self.hierarchical = "Hierarch" in self.model_type
        self.aux_outputs = self.hierarchical and bool(model_params["HierarchLSTM"]["aux_outputs"])
        training = exp_params["training"]
        self.context = int(training["context"])
        self.num_preds = (hierarchical_num_preds(exp_params) if self.hierarchical
                          else int(training["num_preds"] if not isinstance(training["num_preds"], list)
                                   else training["num_preds"][0]))
        self.loss_names = list(exp_params["loss"]["reconst_losses"])
        self.alphas = [float(a) for a in exp_params["loss"]["alphas"]]
        for name in self.loss_names:
            if name not in LOSS_NAMES:
                raise ValueError(f"loss.reconst_losses: unknown loss {name!r}; use one of {list(LOSS_NAMES)}")
        levels = len(self.loss_names) if self.aux_outputs else 1
        if self.aux_outputs and len(self.alphas) < levels:
            raise ValueError(f"loss.alphas {self.alphas} needs one weight per level ({levels})")
        if "weighted_kpoint_loss" in self.loss_names[:levels] and class_weights is None:
            raise ValueError("loss.reconst_losses uses weighted_kpoint_loss, which needs the KTH class weights")
        self.class_weights = None if class_weights is None else np.asarray(class_weights, np.float32)
        self.model_factory = model_factory
        self.teacher_force = False
        # With LAST_PRED_FEATS the switch has no effect (spec Q18): keep it fixed so that the step is not traced
        # again when it flips after the teacher-forced epochs.
        self.teacher_force_matters = model_params.get("autoreg_mode") == "LAST_PRED_FRAME"
        self.beta: Optional[tf.Variable] = None
        self.initial_beta = float(exp_params["loss"]["beta0"])
        # Host-side training state saved with every checkpoint: the scheduler's state and the epoch, as JSON.
        self.state = tf.Variable("{}", dtype=tf.string, trainable=False, name="mspred_state")

    # ---------------------------------------------------------------------------------------------- setup
    def build_model(self) -> keras.Model:
        if self.model_factory is None:
            from vidpred_tf.models.mspred.build import setup_model

            model = setup_model(dict(self.exp_params))
        else:
            model = self.model_factory(self.exp_params)
        model(tf.constant(dummy_input(self.exp_params)), context=self.context, num_preds=self.num_preds,
              training=True, seed=tf.constant([0, 0], tf.int32))
        self.beta = tf.Variable(self.initial_beta, dtype=tf.float32, trainable=False, name="kl_beta")
        return model

    def build_optimizers(self, model):
        optimizer = make_mspred_optimizer(self.exp_params["training"], float(self.exp_params["training"]["lr"]))
        return [OptimizerSpec("model", optimizer, lambda: model.trainable_variables, "loss")]

    def checkpoint_objects(self):
        return {"state": self.state}

    def set_teacher_force(self, value: bool) -> bool:
        """Set the switch; returns True when it changed (then the trainer's step functions must be retraced)."""
        if not self.teacher_force_matters:
            return False
        changed = bool(value) != self.teacher_force
        self.teacher_force = bool(value)
        return changed

    # --------------------------------------------------------------------------------------------- losses
    def _forward(self, model, batch, seed, training: bool):
        return model(batch["frames"], context=self.context, num_preds=self.num_preds,
                     teacher_force=self.teacher_force if training else False, training=training, seed=seed)

    def losses_of(self, out: Mapping, batch: Mapping[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """``loss`` (the total), ``kl`` and ``level_<h>`` (the reconstruction term of each level)."""
        targets = [batch["frames"], batch.get("heatmap_1"), batch.get("heatmap_2")]
        if not out.get("mu_post"):
            kl = tf.constant(0.0)
        else:
            kl = tf.cast(kl_loss(out["mu_post"], out["logvar_post"], out["mu_prior"], out["logvar_prior"]),
                         tf.float32)
        class_ids = tf.maximum(batch["class_id"], 0) if "class_id" in batch else None
        levels = sorted(out["preds"]) if self.aux_outputs else [0]
        losses: Dict[str, tf.Tensor] = {}
        total = tf.constant(0.0)
        for level in levels:
            indices = np.flatnonzero(np.asarray(out["target_masks"][level]))
            target = tf.gather(targets[level], indices, axis=1)
            # Class weights of the CE loss are never used (the original gates them on "Synpick", spec Q8).
            rec = reconstruction_loss(self.loss_names[level], out["preds"][level], target, class_ids,
                                      self.class_weights)
            losses[f"level_{level}"] = rec
            total += (self.alphas[level] * rec) if self.aux_outputs else rec
        beta = self.beta if self.beta is not None else tf.constant(self.initial_beta)
        losses["kl"] = kl
        losses["loss"] = total + tf.cast(beta, tf.float32) * kl
        return losses

    def train_losses(self, model, batch, step, seed):
        return self.losses_of(self._forward(model, batch, seed, training=True), batch)

    def eval_outputs(self, model, batch, seed):
        """Validation (model.eval(): prior latents from context-1): the losses and each level's predictions
        (``pred_<h>``) with the frame indices they target (``target_frames_<h>``)."""
        out = self._forward(model, batch, seed, training=False)
        result = dict(self.losses_of(out, batch))
        for level, preds in out["preds"].items():
            result[f"pred_{level}"] = preds
            result[f"target_frames_{level}"] = tf.constant(np.flatnonzero(np.asarray(out["target_masks"][level])),
                                                           tf.int32)
        return result

    def predict(self, model, batch, seed):
        return self._forward(model, batch, seed, training=False)["preds"][0]


def level_loss_names(task: MSPredTask) -> List[str]:
    return [f"level_{h}" for h in (range(len(task.loss_names)) if task.aux_outputs else [0])]


# ================================================================================ the 02_train.py workflow
STRUCT_TYPES = {"moving_mnist": ["BLOB_HEATMAP"] * 2, "custom_moving_mnist": ["BLOB_HEATMAP"] * 2,
                "kth": ["KEYPOINT_BLOBS"] * 2, "synpick": ["SEGMENTATION_MAPS", "KEYPOINT_BLOBS"]}


class _LimitedDataset:
    """The first ``size`` items of a dataset (the port-only ``training.max_batches_per_epoch`` smoke-test cap)."""

    def __init__(self, dataset, size: int):
        self.dataset, self.size = dataset, min(int(size), len(dataset))

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self.dataset[index]

    def __getattr__(self, name):
        return getattr(self.dataset, name)


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed if epoch == 0 else (seed * 1_000_003 + epoch) % (2 ** 31)


class MSPredTraining:
    """02_train.py on the shared trainer: data, model, optimiser, schedulers, TensorBoard, images, checkpoints.

    Per epoch (spec 5): the validation epoch first (eval mode, no gradients; losses to TensorBoard at step e,
    the first batch's figures to ``plots/valid_plots/images/img_epoch_<e>{,_gt}.png``), then the whole training
    loader (Q5; train scalars every ``log_frequency`` iterations at ``num_iters * e + i``), then
    ``Total Loss/Comb_loss``, ``Learning/LR`` and ``Learning/KL-Loss Beta``, the scheduler updates and the
    checkpoints. Port differences: resuming continues with the epoch after the checkpoint's (the original
    repeats it); the random streams of the data (NumPy, Python ``random``, the shuffle) are reseeded at each
    epoch from (seed, epoch), so that a resumed run reads the data an uninterrupted one would; under a
    multi-replica strategy BN statistics are per replica.
    """

    def __init__(self, exp_path: str, checkpoint: Optional[str] = None, resume_training: bool = False,
                 strategy=None, seed: int = 13, datasets_root: Optional[str] = None, model_factory=None,
                 logger=None, progress_every_s: float = 30.0, progress_stream=None):
        import copy
        import os
        import random

        from vidpred_tf.papers.mspred import data as mspred_datasets
        from vidpred_tf.papers.mspred import checkpoints as ckpt
        from vidpred_tf.papers.mspred import experiment
        from vidpred_tf.models.mspred.schedulers import make_beta_scheduler, make_lr_scheduler
        from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

        self.exp_path = exp_path
        self.seed = int(seed)
        # The console progress line (the original's tqdm bar): at most every progress_every_s seconds, independent
        # of log_frequency, which may exceed an epoch. It writes nothing to TensorBoard.
        self.progress_every_s = float(progress_every_s)
        self.progress_stream = progress_stream
        self._progress_mark: Optional[tuple] = None
        self.logger = logger or experiment.Logger(exp_path)
        random.seed(self.seed)
        np.random.seed(self.seed)
        self.exp_params = ckpt.prepare_exp_params(experiment.load_exp_params(exp_path))
        params = self.exp_params
        training = params["training"]
        self.num_epochs = int(training["num_epochs"])
        self.save_frequency = int(training["save_frequency"])
        self.log_frequency = int(training["log_frequency"])
        self.batch_size = int(training["batch_size"])
        self.tf_epochs = int(training["tf_epochs"])
        if resume_training and not checkpoint:
            checkpoint = ckpt.LAST_SAVED  # port convenience: --resume_training alone continues the last run
        if checkpoint:
            # A missing or unreadable checkpoint is found before anything is written into the experiment.
            kind, path = ckpt.resolve_checkpoint(exp_path, checkpoint)
            if kind == "original" and resume_training:
                raise InputError(f"--checkpoint {checkpoint} --resume_training: {path} is an original PyTorch "
                                 "checkpoint; its optimizer state cannot be resumed in the port. Drop "
                                 "--resume_training to fine-tune from its weights")
            if kind == "original":
                from vidpred_tf.convert.mspred import read_state_dict

                read_state_dict(path)
            else:
                from vidpred_tf.checkpoint_check import checkpoint_reader, read_tensor

                reader, shapes = checkpoint_reader(path, what=f"--checkpoint {checkpoint}:")
                for key in shapes:  # a truncated data file is found now, not after the events file exists
                    read_tensor(reader, key, path, what=f"--checkpoint {checkpoint}:")

        # Data: the sequence length covers the slowest level's predictions (02_train.load_data).
        num_frames = experiment.sequence_length(params)
        self.data_rng = np.random.RandomState(self.seed)
        load = mspred_datasets.load_mspred_dataset
        self.train_set = load(params["dataset"], "train", num_frames, datasets_root, rng=self.data_rng)
        self.valid_set = load(params["dataset"], "val", num_frames, datasets_root, rng=self.data_rng)
        cap = training.get("max_batches_per_epoch")
        if cap:
            self.train_set = _LimitedDataset(self.train_set, int(cap) * self.batch_size)
            self.valid_set = _LimitedDataset(self.valid_set, int(cap) * self.batch_size)
        self.logger.print_(f"  --> Number of training sequences: {len(self.train_set)}")
        self.logger.print_(f"  --> Number of validation sequences: {len(self.valid_set)}")
        self.steps_per_epoch = len(self.train_set) // self.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"training.batch_size={self.batch_size} exceeds the {len(self.train_set)} training "
                             f"sequences of {params['dataset']['dataset_name']}: an epoch would have no batch")
        self.num_iters = min(int(training["num_iters"]), self.steps_per_epoch)
        self.shuffle_train = params["dataset"].get("shuffle_train", True)
        self.shuffle_eval = params["dataset"].get("shuffle_eval", False)
        self.struct_types = STRUCT_TYPES.get(params["dataset"]["dataset_name"], ["BLOB_HEATMAP"] * 2)
        # The inputs are checked: from here on the run writes into the experiment.
        if hasattr(self.logger, "release"):
            self.logger.release()
        self.plots_path = os.path.join(exp_path, "plots", "valid_plots")
        for sub in ("gifs", "images"):
            os.makedirs(os.path.join(self.plots_path, sub), exist_ok=True)
        self.models_path = ckpt.models_dir(exp_path)
        os.makedirs(self.models_path, exist_ok=True)
        self.tboard_path = os.path.join(exp_path, "tboard_logs", f"tboard_{experiment.timestamp()}")
        os.makedirs(self.tboard_path, exist_ok=True)

        class_weights = None
        if "weighted_kpoint_loss" in params["loss"]["reconst_losses"]:
            from vidpred_tf.data.kth.mspred_keypoints import heatmap_weights

            table = heatmap_weights(w_easy=params["loss"]["w_easy_kpts"])
            class_weights = np.asarray([table[name] for name in mspred_datasets.KTH_CLASSES], np.float32)

        self.task = MSPredTask(copy.deepcopy(params), model_factory=model_factory, class_weights=class_weights)
        self.strategy = strategy or make_strategy("auto")
        self.trainer = Trainer(self.task, TrainerConfig(
            model_dir=self.models_path, num_steps=self.num_epochs * self.steps_per_epoch,
            global_batch_size=self.batch_size, seed=self.seed, checkpoint_every=0, log_every=0,
            summary_dir=self.tboard_path, loss_summaries=False, autograph=False), self.strategy)
        experiment.write_model_architecture(self.trainer.model, exp_path)
        self.lr_scheduler = make_lr_scheduler(training)
        self.beta_scheduler = make_beta_scheduler(params["loss"])

        if checkpoint:
            self._load_checkpoint(checkpoint, resume_training)
        self.validation_losses: List[float] = []
        self.training_losses: List[float] = []
        self._running: Dict[str, List[float]] = {}
        self._comb_writers = {name: tf.summary.create_file_writer(
            os.path.join(self.tboard_path, f"Total Loss_Comb_loss_{name}")) for name in ("train_loss", "eval_loss")}

    # ------------------------------------------------------------------------------------------ checkpoints
    def _load_checkpoint(self, name: str, resume: bool) -> None:
        from vidpred_tf.papers.mspred import checkpoints as ckpt

        self.logger.print_(f"  --> Loading pretrained parameters from checkpoint {name}...")
        kind, path = ckpt.resolve_checkpoint(self.exp_path, name)
        if kind == "original":
            if resume:
                raise ValueError(f"--checkpoint {name} --resume_training: {path} is an original PyTorch checkpoint; "
                                 "its optimizer state cannot be resumed in the port. Drop --resume_training to "
                                 "fine-tune from its weights")
            ckpt.load_weights(self.trainer.model, self.exp_path, name)
            return
        from vidpred_tf.checkpoint_check import check_model_checkpoint

        check_model_checkpoint(self.trainer.model, path, what=f"--checkpoint {name}:", read_values=False)
        self.trainer.restore_from(path, weights_only=not resume)
        if resume:
            import json

            state = json.loads(self.task.state.numpy().decode() or "{}")
            if "scheduler" in state:
                self.lr_scheduler.load_state_dict(state["scheduler"])
            self.logger.print_(f"  --> Resuming training from epoch {int(self.trainer.epoch.numpy())}...")
        else:
            self.trainer.epoch.assign(0)

    def save(self, name: str, epoch: int) -> None:
        import json
        import os

        self.task.state.assign(json.dumps({"epoch": int(epoch), "scheduler": self.lr_scheduler.state_dict()}))
        self.trainer.save_named(os.path.join(self.models_path, name))

    # ----------------------------------------------------------------------------------------------- data
    def _dataset(self, dataset, shuffle: bool, epoch: int, drop_remainder: bool, input_context=None,
                 batch_size: Optional[int] = None):
        from vidpred_tf.papers.mspred.data import make_tf_dataset

        return make_tf_dataset(dataset, batch_size or self.batch_size, shuffle=shuffle,
                               seed=_epoch_seed(self.seed, epoch), drop_remainder=drop_remainder,
                               input_context=input_context)

    def _train_dataset_fn(self, context, epoch):
        per_replica = context.get_per_replica_batch_size(self.batch_size)
        return self._dataset(self.train_set, self.shuffle_train, epoch, True, context, per_replica)

    # -------------------------------------------------------------------------------------------- epochs
    def _before_epoch(self, trainer, epoch: int) -> None:
        import random

        seed = _epoch_seed(self.seed, epoch)
        random.seed(seed)
        self.data_rng.seed(seed)
        self.logger.log_info(f"Epoch {epoch}/{self.num_epochs}")
        self.epoch_lr = self.lr_scheduler.lr_for_epoch(epoch)
        trainer.set_learning_rate(self.epoch_lr)
        self.epoch_beta = self.beta_scheduler.beta_for_epoch(epoch)
        self.task.beta.assign(self.epoch_beta)
        if self.task.set_teacher_force(epoch <= self.tf_epochs):
            trainer.retrace()
        self._running = {}
        self.valid_epoch(epoch)
        self._progress_mark = None  # the rate is measured from the first step on, not over the validation

    def valid_epoch(self, epoch: int) -> float:
        batches = self._dataset(self.valid_set, self.shuffle_eval, epoch, False).as_numpy_iterator()
        sums: Dict[str, float] = {}
        count = 0
        for index, (batch, outputs) in enumerate(self._with_batches(batches, epoch)):
            for name, value in outputs.items():
                if name == "loss" or name == "kl" or name.startswith("level_"):
                    sums[name] = sums.get(name, 0.0) + float(value)
            count += 1
            if index == 0:
                self._write_valid_images(epoch, batch, outputs)
        if count == 0:
            raise ValueError(f"the validation split has no sequence (batch size {self.batch_size})")
        means = {name: total / count for name, total in sums.items()}
        summaries = self.trainer.summaries
        if self.task.aux_outputs:
            summaries.scalars({f"Loss/Valid_Loss_Level_{n[6:]}": v for n, v in means.items()
                               if n.startswith("level_")}, epoch)
        else:
            summaries.scalars({"Loss/Valid_Loss_MSE": means["level_0"]}, epoch)
        summaries.scalars({"Loss/KL_Valid_Loss": means["kl"], "Loss/Valid_Loss": means["loss"]}, epoch)
        self.logger.log_info(f"Log data valid epoch {epoch}: loss={round(means['loss'], 5)};")
        self.validation_losses.append(means["loss"])
        return means["loss"]

    def _with_batches(self, batches, epoch: int):
        held = []

        def remember():
            for batch in batches:
                held[:] = [batch]
                yield batch

        for outputs in self.trainer.evaluate(remember(), seed=_epoch_seed(self.seed, epoch)):
            yield held[0], outputs

    def _write_valid_images(self, epoch: int, batch, outputs) -> None:
        import os

        from vidpred_tf.papers.mspred import figures as mspred_figures

        frames = batch["frames"][0]
        context = self.task.context
        images_dir = os.path.join(self.plots_path, "images")
        path = os.path.join(images_dir, f"img_epoch_{epoch}.png")
        if not self.task.aux_outputs:
            sequence = np.concatenate([frames[:context], outputs["pred_0"][0]], axis=0)
            mspred_figures.sequence_figure(path, sequence, context)
            return
        targets = [batch["frames"], batch["heatmap_1"], batch["heatmap_2"]]
        preds, truth, numbers = {}, {}, {}
        for level in range(len(targets)):
            frame_numbers = outputs[f"target_frames_{level}"][:self.task.num_preds[level]]
            numbers[level] = list(frame_numbers)
            preds[level] = outputs[f"pred_{level}"][0][:self.task.num_preds[level]]
            truth[level] = targets[level][0][frame_numbers]
        mspred_figures.hierarchical_figure(path, frames, preds, numbers, context, self.struct_types)
        mspred_figures.hierarchical_figure(os.path.join(images_dir, f"img_epoch_{epoch}_gt.png"), frames, truth,
                                           numbers, context, self.struct_types)

    def _report_progress(self, trainer, step: int, loss: float) -> None:
        """``Epoch e/E iter i/N: train loss L  r steps/s  ETA epoch h:mm:ss, run h:mm:ss`` when progress_every_s
        have passed since the last line (the first step of an epoch, which may trace, only starts the clock)."""
        import sys
        import time

        from vidpred_tf.training.progress import format_duration

        now = time.monotonic()
        if self._progress_mark is None:
            self._progress_mark = (now, step)
            return
        mark_time, mark_step = self._progress_mark
        if now - mark_time < self.progress_every_s or not trainer.chief:
            return
        self._progress_mark = (now, step)
        rate = (step - mark_step) / max(now - mark_time, 1e-9)
        left_in_epoch = max(self.steps_per_epoch - trainer.step_in_epoch, 0)
        left_in_run = left_in_epoch + (self.num_epochs - trainer.current_epoch - 1) * self.steps_per_epoch
        stream = self.progress_stream or sys.stdout
        stream.write(f"Epoch {trainer.current_epoch + 1}/{self.num_epochs} iter {trainer.step_in_epoch}/"
                     f"{self.steps_per_epoch}: train loss {loss:.5f}  {rate:.2f} steps/s  "
                     f"{rate * self.batch_size:.1f} sequences/s  ETA epoch {format_duration(left_in_epoch / rate)}, "
                     f"run {format_duration(left_in_run / rate)} (without validation)\n")
        stream.flush()

    def _after_step(self, trainer, step: int, losses: Mapping[str, float]) -> None:
        for name, value in losses.items():
            self._running.setdefault(name, []).append(value)
        if self.progress_every_s >= 0:
            self._report_progress(trainer, step, losses["loss"])
        iteration = self.num_iters * trainer.current_epoch + trainer.step_in_epoch - 1
        if iteration % self.log_frequency:
            return
        means = {name: float(np.mean(values)) for name, values in self._running.items()}
        if self.task.aux_outputs:
            scalars = {f"Loss/Train_Loss_Level_{n[6:]}": v for n, v in means.items() if n.startswith("level_")}
        else:
            scalars = {"Loss/MSE_Train_Loss": means["level_0"]}
        scalars.update({"Loss/KL_Train_Loss": means["kl"], "Loss/Train_Loss": means["loss"]})
        trainer.summaries.scalars(scalars, iteration)
        self.logger.log_info(f"Log data train iteration {iteration}:  loss={round(means['loss'], 5)};")

    def _after_epoch(self, trainer, epoch: int, mean_losses: Mapping[str, float]) -> None:
        from vidpred_tf.papers.mspred import checkpoints as ckpt

        train_loss = mean_losses["loss"]
        self.training_losses.append(train_loss)
        if trainer.summaries.enabled:
            for name, value in (("train_loss", train_loss), ("eval_loss", self.validation_losses[-1])):
                with self._comb_writers[name].as_default(step=epoch + 1):
                    tf.summary.scalar("Total Loss/Comb_loss", value)
                self._comb_writers[name].flush()
        trainer.summaries.scalars({"Learning/LR": self.epoch_lr, "Learning/KL-Loss Beta": self.epoch_beta}, epoch)
        trainer.summaries.flush()
        self.lr_scheduler.step(epoch, self.validation_losses[-1])
        self.save(ckpt.LAST_SAVED, epoch)
        if epoch % self.save_frequency == 0 and epoch != 0:
            self.logger.print_(f"Saving model checkpoint: {epoch}")
            self.save(ckpt.epoch_checkpoint_name(epoch), epoch)
        print(f"Epoch {epoch + 1}/{self.num_epochs}: train loss {train_loss:.5f}, valid loss "
              f"{self.validation_losses[-1]:.5f}, lr {self.epoch_lr:.3g}, beta {self.epoch_beta:.3g}", flush=True)

    def _on_interrupt(self, trainer, epoch: int, error) -> None:
        from vidpred_tf.papers.mspred import checkpoints as ckpt
        from vidpred_tf.training import NonFiniteLossError

        if isinstance(error, NonFiniteLossError):
            self.logger.print_(f"Non-finite loss: {error}. No emergency checkpoint (the weights are not finite)",
                               "error")
            return
        self.logger.print_("There has been an exception. Saving emergency checkpoint...")
        name = ckpt.emergency_checkpoint_name(epoch)
        self.save(name, epoch)
        self.logger.print_(f"  --> Saved emergency checkpoint {name}")
        if error is not None:
            self.logger.log_exception(error)

    def train(self):
        """The training loop; returns the trainer's ``TrainResult``."""
        from vidpred_tf.papers.mspred import checkpoints as ckpt

        result = self.trainer.fit_epochs(self._train_dataset_fn, self.num_epochs, before_epoch=self._before_epoch,
                                         after_epoch=self._after_epoch, hooks=[self._after_step],
                                         on_interrupt=self._on_interrupt, steps_per_epoch=self.steps_per_epoch)
        if result.status == "completed":
            self.logger.print_("Finished training procedure")
            self.logger.print_("Saving final checkpoint")
            self.save(ckpt.FINAL, max(int(self.trainer.epoch.numpy()) - 1, 0))
        for writer in self._comb_writers.values():
            writer.close()
        return result
