"""The 02_train.py workflow on the shared trainer: experiment folders, data, epochs, validation, TensorBoard
scalars with the original's tags, validation figures, checkpoints, resume (``MSPredTraining``); and
``MSPredTrainingTask``, the model's ``MSPredTask`` together with its training data.
"""

from __future__ import annotations

import copy
import json
import os
import random
import sys
import time
from typing import Dict, List, Mapping, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import check_model_checkpoint, checkpoint_reader, read_tensor
from vidpred_tf.data.batch import IMAGES
from vidpred_tf.data.kth.mspred_keypoints import heatmap_weights
from vidpred_tf.errors import InputError
from vidpred_tf.models.mspred.params import KTH_CLASSES, sequence_length
from vidpred_tf.models.mspred.schedulers import make_beta_scheduler, make_lr_scheduler
from vidpred_tf.models.mspred.task import MSPredTask
from vidpred_tf.papers.mspred import checkpoints as ckpt
from vidpred_tf.papers.mspred import data as mspred_data
from vidpred_tf.papers.mspred import experiment, figures
from vidpred_tf.papers.mspred.data import epoch_seed, make_tf_dataset, mspred_dataset_fn
from vidpred_tf.papers.mspred.figures import dataset_struct_types
from vidpred_tf.training import NonFiniteLossError, Trainer, TrainerConfig, make_strategy
from vidpred_tf.training.progress import format_duration


def kth_class_weights(loss_params: Mapping) -> Optional[np.ndarray]:
    """The (6, 9) class table of ``weighted_kpoint_loss`` (``w_easy_kpts`` for the easy keypoints, 1 for each
    class's hard ones, rows in the KTH class order), or None when the experiment does not use that loss."""
    if "weighted_kpoint_loss" not in loss_params["reconst_losses"]:
        return None
    table = heatmap_weights(w_easy=loss_params["w_easy_kpts"])
    return np.asarray([table[name] for name in KTH_CLASSES], np.float32)


class MSPredTrainingTask(MSPredTask):
    """``MSPredTask`` with the training split it learns from: ``build_inputs`` gives an input pipeline's
    per-replica batches of ``batch_size / replicas`` sequences (last partial batch dropped), shuffled when
    ``shuffle`` by ``epoch_seed(seed, epoch)``, so that a resumed run reads the batches an uninterrupted one
    would; without an epoch (``Trainer.fit``) the split repeats, shuffled from ``seed``."""

    def __init__(self, exp_params: Mapping, train_set, *, batch_size: int, seed: int, shuffle: bool = True,
                 model_factory=None, class_weights: Optional[np.ndarray] = None):
        super().__init__(exp_params, model_factory=model_factory, class_weights=class_weights)
        self.train_set = train_set
        self._epoch_inputs = mspred_dataset_fn(train_set, int(batch_size), seed=seed, shuffle=shuffle,
                                               drop_remainder=True)
        self._repeated_inputs = mspred_dataset_fn(train_set, int(batch_size), seed=seed, shuffle=shuffle,
                                                  drop_remainder=True, repeat=True)

    def build_inputs(self, input_context: tf.distribute.InputContext, epoch: Optional[int] = None) -> tf.data.Dataset:
        if epoch is None:
            return self._repeated_inputs(input_context)
        return self._epoch_inputs(input_context, epoch)


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


class MSPredTraining:
    """02_train.py on the shared trainer: data, model, optimiser, schedulers, TensorBoard, images, checkpoints.

    Per epoch (spec 5): the validation epoch first (eval mode, no gradients; losses to TensorBoard at step e,
    the first batch's figures to ``plots/valid_plots/images/img_epoch_<e>{,_gt}.png``), then the whole training
    loader (``training.num_iters`` does not cut an epoch short, it only numbers the iterations: train scalars
    every ``log_frequency`` iterations at ``num_iters * e + i``), then
    ``Total Loss/Comb_loss``, ``Learning/LR`` and ``Learning/KL-Loss Beta``, the scheduler updates and the
    checkpoints. Port differences: resuming continues with the epoch after the checkpoint's (the original
    repeats it); the random streams of the data (NumPy, Python ``random``, the shuffle) are reseeded at each
    epoch from (seed, epoch), so that a resumed run reads the data an uninterrupted one would; under a
    multi-replica strategy BN statistics are per replica.
    """

    def __init__(self, exp_path: str, checkpoint: Optional[str] = None, resume_training: bool = False,
                 strategy=None, seed: int = 13, datasets_root: Optional[str] = None, model_factory=None,
                 logger=None, progress_every_s: float = 30.0, progress_stream=None):
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
                ckpt.read_original_state_dict(path)
            else:
                reader, shapes = checkpoint_reader(path, what=f"--checkpoint {checkpoint}:")
                for key in shapes:  # a truncated data file is found now, not after the events file exists
                    read_tensor(reader, key, path, what=f"--checkpoint {checkpoint}:")

        # Data: the sequence length covers the slowest level's predictions (02_train.load_data).
        num_frames = sequence_length(params)
        self.data_rng = np.random.RandomState(self.seed)
        load = mspred_data.load_mspred_dataset
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
        self.struct_types = dataset_struct_types(params["dataset"]["dataset_name"])
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

        self.task = MSPredTrainingTask(copy.deepcopy(params), self.train_set, batch_size=self.batch_size,
                                       seed=self.seed, shuffle=self.shuffle_train, model_factory=model_factory,
                                       class_weights=kth_class_weights(params["loss"]))
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
        self.logger.print_(f"  --> Loading pretrained parameters from checkpoint {name}...")
        kind, path = ckpt.resolve_checkpoint(self.exp_path, name)
        if kind == "original":
            if resume:
                raise ValueError(f"--checkpoint {name} --resume_training: {path} is an original PyTorch checkpoint; "
                                 "its optimizer state cannot be resumed in the port. Drop --resume_training to "
                                 "fine-tune from its weights")
            ckpt.load_weights(self.trainer.model, self.exp_path, name)
            return
        check_model_checkpoint(self.trainer.model, path, what=f"--checkpoint {name}:", read_values=False)
        self.trainer.restore_from(path, weights_only=not resume)
        if resume:
            state = json.loads(self.task.state.numpy().decode() or "{}")
            if "scheduler" in state:
                self.lr_scheduler.load_state_dict(state["scheduler"])
            self.logger.print_(f"  --> Resuming training from epoch {int(self.trainer.epoch.numpy())}...")
        else:
            self.trainer.epoch.assign(0)

    def save(self, name: str, epoch: int) -> None:
        self.task.state.assign(json.dumps({"epoch": int(epoch), "scheduler": self.lr_scheduler.state_dict()}))
        self.trainer.save_named(os.path.join(self.models_path, name))

    # ----------------------------------------------------------------------------------------------- data
    def _valid_batches(self, epoch: int):
        return make_tf_dataset(self.valid_set, self.batch_size, shuffle=self.shuffle_eval,
                               seed=epoch_seed(self.seed, epoch), drop_remainder=False)

    # -------------------------------------------------------------------------------------------- epochs
    def _before_epoch(self, trainer, epoch: int) -> None:
        seed = epoch_seed(self.seed, epoch)
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
        batches = self._valid_batches(epoch).as_numpy_iterator()
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

        for outputs in self.trainer.evaluate(remember(), seed=epoch_seed(self.seed, epoch)):
            yield held[0], outputs

    def _write_valid_images(self, epoch: int, batch, outputs) -> None:
        frames = batch[IMAGES][0]
        context = self.task.context
        images_dir = os.path.join(self.plots_path, "images")
        path = os.path.join(images_dir, f"img_epoch_{epoch}.png")
        if not self.task.aux_outputs:
            sequence = np.concatenate([frames[:context], outputs["pred_0"][0]], axis=0)
            figures.sequence_figure(path, sequence, context)
            return
        targets = [batch[IMAGES], batch["heatmap_1"], batch["heatmap_2"]]
        preds, truth, numbers = {}, {}, {}
        for level in range(len(targets)):
            frame_numbers = outputs[f"target_frames_{level}"][:self.task.num_preds[level]]
            numbers[level] = list(frame_numbers)
            preds[level] = outputs[f"pred_{level}"][0][:self.task.num_preds[level]]
            truth[level] = targets[level][0][frame_numbers]
        figures.hierarchical_figure(path, frames, preds, numbers, context, self.struct_types)
        figures.hierarchical_figure(os.path.join(images_dir, f"img_epoch_{epoch}_gt.png"), frames, truth,
                                           numbers, context, self.struct_types)

    def _report_progress(self, trainer, step: int, loss: float) -> None:
        """``Epoch e/E iter i/N: train loss L  r steps/s  ETA epoch h:mm:ss, run h:mm:ss`` when progress_every_s
        have passed since the last line (the first step of an epoch, which may trace, only starts the clock)."""
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
        """The training loop; returns the trainer's ``TrainResult``. The training data comes from the task
        (``MSPredTrainingTask.build_inputs``)."""
        result = self.trainer.fit_epochs(None, self.num_epochs, before_epoch=self._before_epoch,
                                         after_epoch=self._after_epoch, hooks=[self._after_step],
                                         on_interrupt=self._on_interrupt, steps_per_epoch=self.steps_per_epoch)
        if result.status == "completed":
            self.logger.print_("Finished training procedure")
            self.logger.print_("Saving final checkpoint")
            self.save(ckpt.FINAL, max(int(self.trainer.epoch.numpy()) - 1, 0))
        for writer in self._comb_writers.values():
            writer.close()
        return result
