"""What EPVA's ``prediction_train.py`` does with its parsed flags (:mod:`vidpred_tf.papers.epva.prediction_train`),
on the shared trainer. Spec sections 2.1, 5 and 6.

``--run_mode train`` (the original's slim path):

* data: ``--data_dir/--data_pattern`` through :func:`vidpred_tf.data.epva_records.epva_dataset` (shuffled, repeated,
  seeded by ``--seed``); ``--batch_size`` is the global batch, each replica of a strategy reading its share;
* checkpoints and TensorBoard summaries both go to ``--event_log_dir``, as the original's ``slim.learning.train``
  (``model.ckpt-<trainer call>``, 5 kept as slim's ``Saver``), every ``--save_checkpoints_secs`` seconds and at
  the end; a folder that already holds a checkpoint is resumed from it (the run's own state: the warm start is
  skipped, and said so);
* scalars under the original summary names (``van_loss/psnr_all``, ``enc_pred_loss/loss``, ...) and GIFs of a
  fixed training batch (``videos/ground_truth``, ``videos/van_out_all``, ``videos/van_on_enc_all``) plus a
  progress line (steps/s, ETA) every ``--log_every`` trainer calls (the original wrote summaries every
  ``save_checkpoints_secs / 2`` seconds);
* ``--train_steps`` counts generator steps as the original's ``global_step``: epva_gan runs
  ``train_steps * (discrim_steps_per_pred + 1)`` trainer calls (generator on calls 0, k+1, ...), and its
  checkpoints are numbered by trainer calls;
* ``vidpred_model.json`` (the EPVAConfig and the sequence geometry, written atomically by
  :func:`vidpred_tf.papers.epva.predictor.write_epva_manifest`) lets ``vidpred predict`` rebuild the model.

``--run_mode eval`` (the original's ``slim.evaluation.evaluation_loop``): every new checkpoint of ``--model_dir``
(polled every ``--save_checkpoints_secs``) is restored and ONE batch of ``--data_pattern`` is evaluated in test
mode; its losses (incl. ``*/psnr_all``) and the frames ``van_out_all/real_frame_i``, ``van_out_all/gen_frame_i``
(same for ``van_on_enc_all``; up to 4 images each) are written to ``--event_log_dir`` at the checkpoint's
generator step, with a PNG of the PSNR of each predicted frame (``eval/psnr_<step>.png``, also the image summary
``eval/psnr_plot``). ``--eval_once`` evaluates the newest checkpoint and stops.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import epva as converter
from vidpred_tf.data.epva_records import epva_dataset, frame_indices
from vidpred_tf.errors import InputError
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.task import EPVATask
from vidpred_tf.papers.epva.predictor import write_epva_manifest
from vidpred_tf.training.strategy import make_strategy
from vidpred_tf.training.trainer import Trainer, TrainerConfig
from vidpred_tf.viz.plots import plot_metric_curves

CHECKPOINT_NAME = "model.ckpt"
KEEP_CHECKPOINTS = 5  # slim's default Saver
MAX_SUMMARY_IMAGES = 4
# The output videos written as eval image summaries (the original's add_video_summary calls).
EVAL_VIDEOS = ("van_out_all", "van_on_enc_all")


def _flag_values(flags) -> Dict[str, object]:
    return flags.flag_values_dict() if hasattr(flags, "flag_values_dict") else dict(vars(flags))


def make_config(flags) -> EPVAConfig:
    return EPVAConfig.from_flags(_flag_values(flags))


def make_task(flags, config: EPVAConfig) -> EPVATask:
    return EPVATask(config, enc_learning_rate=flags.enc_learning_rate, pred_learning_rate=flags.pred_learning_rate,
                    van_learning_rate=flags.van_learning_rate, discrim_learning_rate=flags.discrim_learning_rate,
                    all_learning_rate=flags.all_learning_rate, clip_gradient_norm=flags.clip_gradient_norm,
                    discrim_steps_per_pred=flags.discrim_steps_per_pred)


def summary_frame_indices(num_predictions: int) -> List[int]:
    """The original's ``add_video_summary`` frames of a ``T-1``-long output: every ``int((T-1)/4+1)``-th, and the
    last one."""
    indices = list(range(0, num_predictions, int(num_predictions / 4 + 1)))
    if num_predictions - 1 not in indices:
        indices.append(num_predictions - 1)
    return indices


def _dataset(flags, batch_size: int, shuffle: bool, seed: Optional[int]) -> tf.data.Dataset:
    return epva_dataset(os.path.join(flags.data_dir, flags.data_pattern), flags.dataset_type, flags.sequence_length,
                        flags.skip_num, batch_size, flags.pose_dim, flags.joint_pos_dim, shuffle=shuffle,
                        color_data_augment=flags.color_data_augment, seed=seed)


def _first_batch(dataset: tf.data.Dataset, flags) -> Dict[str, np.ndarray]:
    for batch in dataset.take(1):
        return {key: value.numpy() for key, value in batch.items()}
    raise InputError(f"--data_dir {flags.data_dir} --data_pattern {flags.data_pattern}: fewer than "
                     f"{flags.batch_size} sequences (--batch_size)")


def _trainer(flags, task: EPVATask, model_dir: str, summary_dir: str, num_steps: int, strategy) -> Trainer:
    return Trainer(task, TrainerConfig(
        model_dir=model_dir, num_steps=num_steps, global_batch_size=flags.batch_size, seed=flags.seed,
        checkpoint_every=0, checkpoint_every_s=float(flags.save_checkpoints_secs) if flags.save_checkpoints_secs > 0
        else None, keep_checkpoints=KEEP_CHECKPOINTS, checkpoint_name=CHECKPOINT_NAME, log_every=flags.log_every,
        scalar_prefix="", video_every=flags.log_every if flags.use_image_summary else 0, summary_dir=summary_dir),
        strategy)


def trainer_calls(train_steps: int, task: EPVATask) -> int:
    """Trainer calls of ``train_steps`` generator steps (epva_gan: k discriminator calls per generator call)."""
    return train_steps * task.cycle if task.config.model_mode == "epva_gan" else train_steps


def generator_steps(calls: int, task: EPVATask) -> int:
    """The original's ``global_step`` after ``calls`` trainer calls."""
    return math.ceil(calls / task.cycle) if task.config.model_mode == "epva_gan" else calls


def _warm_start(model, warm_start: Optional[Tuple[str, str]]) -> None:
    if warm_start is None:
        return
    kind, prefix = warm_start
    if kind == "epva":
        converter.warm_start_from_epva(model, prefix)
    elif kind == "vgg16":
        converter.warm_start_from_vgg16(model, prefix)
    else:
        raise ValueError(f"unknown warm start {kind!r}")


def train(flags, warm_start: Optional[Tuple[str, str]] = None):
    config = make_config(flags)
    task = make_task(flags, config)
    num_frames = len(frame_indices(flags.sequence_length, flags.skip_num))
    if num_frames <= config.context_frames:
        raise InputError(f"--sequence_length={flags.sequence_length} --skip_num={flags.skip_num} gives {num_frames} "
                         f"frames, not more than --context_frames={config.context_frames}")
    strategy = make_strategy(flags.strategy)
    event_log_dir = flags.event_log_dir
    trainer = _trainer(flags, task, event_log_dir, event_log_dir, trainer_calls(flags.train_steps, task), strategy)

    def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
        dataset = _dataset(flags, context.get_per_replica_batch_size(flags.batch_size), True, flags.seed)
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return dataset

    existing = tf.train.latest_checkpoint(event_log_dir) if tf.io.gfile.isdir(event_log_dir) else None
    if existing:
        if warm_start is not None:
            print(f"resuming from {existing} (--event_log_dir holds this run's checkpoints): no warm start from "
                  f"{warm_start[1]}", flush=True)
    else:
        _warm_start(trainer.model, warm_start)
    if trainer.chief:
        write_epva_manifest(event_log_dir, config, num_frames)
    if task.config.model_mode == "epva_gan":
        print(f"epva_gan: --train_steps={flags.train_steps} generator steps = {trainer.config.num_steps} trainer "
              f"calls ({flags.discrim_steps_per_pred} discriminator calls per generator call)", flush=True)
    video_batch = _first_batch(_dataset(flags, flags.batch_size, False, flags.seed), flags)
    video_batch = {key: value[:MAX_SUMMARY_IMAGES] for key, value in video_batch.items()}
    result = trainer.fit(dataset_fn, video_batch=video_batch)
    print(f"finished at trainer call {result.step} (generator step {generator_steps(result.step, task)}; "
          f"{result.status}); checkpoint {result.checkpoint}", flush=True)
    return result


def psnr_per_frame(generated: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``[T]`` PSNR of each predicted frame from its MSE over the whole batch, as the original's ``*/psnr_all``
    averages them (so the mean of this curve is that scalar)."""
    error = np.square(np.asarray(targets, np.float64) - np.asarray(generated, np.float64))
    mse = error.mean(axis=tuple(i for i in range(error.ndim) if i != 1))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(1.0 / mse)


def write_psnr_plot(event_log_dir: str, outputs: Dict[str, np.ndarray], batch: Dict[str, np.ndarray],
                    step: int) -> str:
    """``<event_log_dir>/eval/psnr_<step>.png``: PSNR against the predicted frame number (frame 1 is the first
    frame after the context frame 0) for each output video; returns the path."""
    targets = batch["images"][:, 1:]
    curves = {video: psnr_per_frame(outputs[video], targets) for video in EVAL_VIDEOS if video in outputs}
    path = os.path.join(event_log_dir, "eval", f"psnr_{step:08d}.png")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    plot_metric_curves(path, curves, f"psnr at generator step {step}", first_step=1, ylabel="psnr (dB)")
    return path


def _write_eval_summaries(writer, outputs: Dict[str, np.ndarray], batch: Dict[str, np.ndarray], step: int,
                          use_images: bool, plot_path: Optional[str] = None) -> Dict[str, float]:
    scalars = {name: float(value) for name, value in outputs.items() if np.ndim(value) == 0}
    with writer.as_default(step=step):
        for name, value in scalars.items():
            tf.summary.scalar(name, value)
        if plot_path is not None:
            plot = tf.io.decode_png(tf.io.read_file(plot_path), channels=3)
            tf.summary.image("eval/psnr_plot", plot[None])
        if use_images:
            targets = batch["images"][:MAX_SUMMARY_IMAGES, 1:]
            for video in EVAL_VIDEOS:
                generated = np.clip(outputs[video][:MAX_SUMMARY_IMAGES], 0.0, 1.0)
                for index in summary_frame_indices(generated.shape[1]):
                    tf.summary.image(f"{video}/real_frame_{index}", targets[:, index],
                                     max_outputs=MAX_SUMMARY_IMAGES)
                    tf.summary.image(f"{video}/gen_frame_{index}", generated[:, index],
                                     max_outputs=MAX_SUMMARY_IMAGES)
    writer.flush()
    return scalars


def evaluate(flags, sleep=time.sleep) -> List[str]:
    """The evaluation loop; returns the checkpoints evaluated."""
    # Test mode: the original's eval commands run with keep probabilities 1.0.
    config = dataclasses.replace(make_config(flags), enc_keep_prob=1.0, van_keep_prob=1.0)
    task = make_task(flags, config)
    summary_dir = flags.event_log_dir or flags.model_dir
    trainer = _trainer(flags, task, flags.model_dir, summary_dir, 0, make_strategy("one_device"))
    writer = tf.summary.create_file_writer(summary_dir)
    batch = _first_batch(_dataset(flags, flags.batch_size, True, flags.seed), flags)
    done: List[str] = []
    while True:
        latest = tf.train.latest_checkpoint(flags.model_dir)
        if latest is not None and latest not in done:
            trainer.restore_from(latest)
            step = generator_steps(int(trainer.step.numpy()), task)
            outputs = next(trainer.evaluate([batch], seed=flags.seed))
            plot_path = write_psnr_plot(summary_dir, outputs, batch, step)
            scalars = _write_eval_summaries(writer, outputs, batch, step, flags.use_image_summary, plot_path)
            print(f"evaluated {latest} (generator step {step}): " +
                  " ".join(f"{name}={value:.5g}" for name, value in sorted(scalars.items())), flush=True)
            done.append(latest)
        elif latest is None and flags.eval_once:
            raise InputError(f"--model_dir {flags.model_dir}: no checkpoint to evaluate")
        if flags.eval_once:
            return done
        sleep(max(flags.save_checkpoints_secs, 1))


def run(flags, warm_start: Optional[Tuple[str, str]] = None):
    if flags.run_mode == "train":
        return train(flags, warm_start)
    return evaluate(flags)
