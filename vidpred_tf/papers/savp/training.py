"""What SAVP's ``train.py`` does with its parsed flags, on the shared trainer (:mod:`vidpred_tf.papers.savp.train`).

The original's steps, in its order: the output folder (``--output_dir``, or ``logs_dir/<model_fname>`` +
``--output_dir_postfix``), ``--resume`` (= ``--checkpoint output_dir``), the hparams JSONs (``--*_hparams_dict``,
then those of the ``--checkpoint`` folder, then the comma strings), the train and val datasets, the model with
``context_frames``, ``sequence_length`` and ``repeat`` (= the dataset's ``time_shift``) taken from the training
dataset, ``options.json`` / ``dataset_hparams.json`` / ``model_hparams.json`` in the output folder, the
``parameter_count`` line, then ``max_steps`` steps of the D-then-G update with progress, summaries and
checkpoints at the original's frequencies:

* ``--progress_freq``: the trainer's progress line (step, steps/s, ETA) and every loss term;
* ``--summary_freq``: every loss term and scalar (``d_loss``, ``g_loss``, ``loss``, ``gen_l1_loss``,
  ``learning_rate``, ``kl_weight``, ``ground_truth_sampling_mean``, the training batch's ``psnr``/``mse``/``ssim``)
  under its own tag; the validation metrics with the original's ``_1`` suffix (``psnr_1``...), on one fixed
  validation batch drawn at the start (the original drew a new one each time; a fixed one makes the curve
  comparable from step to step);
* ``--image_summary_freq``: GIF summaries of a training batch (images and generated images);
* ``--eval_summary_freq`` / ``--accum_eval_summary_freq``: best/avg/worst-of-N (``eval_num_samples``) metrics of
  one validation batch, or accumulated over about the whole validation set, as scalars ``eval_<metric>/<subtask>_1``
  plus a metric-vs-time PNG image summary and a PNG file in ``output_dir/eval``;
* ``--save_freq``: checkpoints ``model-<step>`` (2 kept, as the original's Saver).
"""

from __future__ import annotations

import os
import re
from typing import Dict

import cv2
import numpy as np
import tensorflow as tf
from absl import app

from vidpred_tf.convert import savp as converter
from vidpred_tf.data.savp_video import get_dataset_class
from vidpred_tf.errors import InputError
from vidpred_tf.manifest import write_manifest
from vidpred_tf.models.savp.model import build_model, model_hparams_with_dataset, resolve_model_hparams
from vidpred_tf.models.savp.task import SAVPTask
from vidpred_tf.papers.savp import evaluation, runtime
from vidpred_tf.papers.savp import options as savp_options
from vidpred_tf.training.strategy import make_strategy
from vidpred_tf.training.trainer import Evaluation, Trainer, TrainerConfig
from vidpred_tf.viz.plots import plot_metric_curves

# The flags train.py writes to options.json (the original's vars(args)).
OPTION_FLAGS = ("input_dir", "val_input_dir", "logs_dir", "output_dir", "output_dir_postfix", "checkpoint", "resume",
                "dataset", "dataset_hparams", "dataset_hparams_dict", "model", "model_hparams", "model_hparams_dict",
                "summary_freq", "image_summary_freq", "eval_summary_freq", "accum_eval_summary_freq",
                "progress_freq", "save_freq", "aggregate_nccl", "gpu_mem_frac", "seed")
VAL_SUFFIX = "_1"


def _strategy(flags) -> tf.distribute.Strategy:
    """The original's towers: every visible GPU; ``--aggregate_nccl`` picks the all-reduce."""
    gpus = tf.config.list_physical_devices("GPU")
    if flags.gpu_mem_frac and gpus:
        for gpu in gpus:
            total = tf.config.experimental.get_device_details(gpu).get("device_memory_size")
            if total:
                limit = int(total * flags.gpu_mem_frac / 2 ** 20)
                tf.config.set_logical_device_configuration(gpu, [tf.config.LogicalDeviceConfiguration(limit)])
    if len(gpus) <= 1:
        return make_strategy("one_device")
    cross_device_ops = (tf.distribute.NcclAllReduce() if flags.aggregate_nccl
                        else tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(cross_device_ops=cross_device_ops)


def _datasets(flags, resolved, seed):
    dataset_class = get_dataset_class(resolved.dataset)
    train = dataset_class(flags.input_dir, mode="train", seed=seed, hparams_dict=resolved.dataset_hparams_dict,
                          hparams=flags.dataset_hparams)
    val = dataset_class(flags.val_input_dir or flags.input_dir, mode="val", seed=seed,
                        hparams_dict=resolved.dataset_hparams_dict, hparams=flags.dataset_hparams)
    return train, val


def _host_batch(dataset, batch_size: int) -> Dict[str, np.ndarray]:
    for batch in dataset.iterate_checked(dataset.make_dataset(batch_size).take(1)):
        return {key: value.numpy() for key, value in batch.items()}
    raise InputError(f"--input_dir {dataset.input_dir}: fewer than {batch_size} usable sequences in mode "
                     f"{dataset.mode}")


def run(flags) -> None:
    output_dir = flags.output_dir or savp_options.train_output_dir(flags.logs_dir, flags.model, flags.model_hparams,
                                                                   flags.output_dir_postfix)
    if flags.resume:
        if flags.checkpoint:
            raise app.UsageError("resume and checkpoint cannot both be specified")
    checkpoint = output_dir if flags.resume and os.path.isdir(output_dir) else flags.checkpoint
    resolved = savp_options.resolve_options(flags.dataset, flags.model, checkpoint, flags.dataset_hparams_dict,
                                            flags.model_hparams_dict)
    flags.output_dir = output_dir
    flags.dataset, flags.model = resolved.dataset, resolved.model
    if flags.resume:
        flags.checkpoint = checkpoint
    options = savp_options.flag_options(flags, OPTION_FLAGS)
    savp_options.print_options(options)
    seed = flags.seed if flags.seed is not None else 0

    train_dataset, val_dataset = _datasets(flags, resolved, seed)
    model_hparams_dict = model_hparams_with_dataset(resolved.model_hparams_dict,
                                                                 train_dataset.hparams.values())
    hparams = resolve_model_hparams(resolved.model, model_hparams_dict, flags.model_hparams)
    batch_size = hparams.batch_size
    example = _host_batch(train_dataset, batch_size)
    image_shape = example["images"].shape[2:]
    action_dim = example["actions"].shape[-1] if "actions" in example else 0
    state_dim = example["states"].shape[-1] if "states" in example else 0
    val_batch = _host_batch(val_dataset, batch_size)

    def new_model():
        return build_model(resolved.model, hparams, image_shape, action_dim, state_dim, mode="train")

    initial = runtime.checkpoint_prefix(flags.checkpoint) if flags.checkpoint and not flags.resume else None

    def build_and_load():
        model = new_model()
        if not model.trainable_model:
            raise InputError(f"--model {resolved.model} is not trainable (use generate.py or evaluate.py)")
        if initial is not None and not runtime.is_port_checkpoint(initial):
            report = converter.load(model, initial)
            print(f"loaded {len(report.loaded)} variables of the original checkpoint {initial}", flush=True)
        return model

    strategy = _strategy(flags)
    replicas = strategy.num_replicas_in_sync

    def inputs_fn(context, epoch=None):
        per_replica = context.get_per_replica_batch_size(batch_size)
        dataset = train_dataset.make_dataset(per_replica)
        if context.num_input_pipelines > 1:
            dataset = dataset.shard(context.num_input_pipelines, context.input_pipeline_id)
        return dataset

    task = SAVPTask(build_and_load, hparams, inputs_fn=inputs_fn)
    max_steps = flags.max_steps if flags.max_steps is not None else hparams.max_steps
    trainer = Trainer(task, TrainerConfig(
        model_dir=output_dir, num_steps=max_steps, global_batch_size=batch_size, seed=seed,
        checkpoint_every=flags.save_freq, checkpoint_every_s=flags.checkpoint_every_s, keep_checkpoints=2,
        checkpoint_name="model", log_every=flags.progress_freq, summary_every=flags.summary_freq,
        scalar_prefix="", video_every=flags.image_summary_freq, jit_compile=flags.jit_compile), strategy)
    model = trainer.model
    if initial is not None and runtime.is_port_checkpoint(initial) and not tf.train.latest_checkpoint(output_dir):
        trainer.restore_from(initial)
        print(f"restored {initial}", flush=True)
    if trainer.chief:
        savp_options.write_run_jsons([output_dir], options, train_dataset.hparams.values(), hparams.values())
        # What `vidpred predict` / the converter need beyond the original's JSONs: the shapes trained on.
        write_manifest(output_dir, paper="savp", model_name=resolved.model,
                       config={"dataset": resolved.dataset, "action_dim": int(action_dim),
                               "state_dim": int(state_dim)},
                       image_size=tuple(int(d) for d in image_shape[:2]), channels=int(image_shape[2]),
                       context_frames=hparams.context_frames,
                       horizon=hparams.sequence_length - hparams.context_frames,
                       stochastic=not model.deterministic)
    print("parameter_count =", model.parameter_count(), flush=True)
    if replicas > 1:
        print(f"training on {replicas} replicas ({type(strategy).__name__})", flush=True)

    def validation_scalars(trainer, step, losses):
        if not flags.summary_freq or (step % flags.summary_freq) or not trainer.chief:
            return
        prediction = trainer.predict(val_batch, seed=seed)
        future = prediction.shape[1]
        target = val_batch["images"][:, -future:]
        fns = evaluation.metric_fns()
        scalars = {}
        for name in ("psnr", "mse", "ssim"):
            scalars[name + VAL_SUFFIX] = float(np.mean(fns[name](target, prediction)))
        trainer.summaries.scalars(scalars, step)

    def eval_pass(name: str, num_batches: int):
        """Best/avg/worst-of-N of the validation batches (the original's eval / accum_eval summaries)."""
        def run_eval(trainer, step):
            if not trainer.chief:
                return
            batches = [val_batch] if num_batches <= 1 else list(_val_batches(val_dataset, batch_size, num_batches))
            fns = evaluation.metric_fns()
            curves: Dict[str, list] = {}
            for index, batch in enumerate(batches):
                def sample(i, batch=batch, index=index):
                    return trainer.model.predict_images(batch, seed=tf.constant([seed + index, i], tf.int32))

                results = evaluation.eval_outputs_and_metrics(
                    batch["images"], sample, hparams.context_frames, fns, flags.eval_num_samples,
                    trainer.model.deterministic)
                for key, values in results.items():
                    if re.match(r"^eval_[a-z_]+/(min|avg|max)$", key):
                        curves.setdefault(key, []).append(values)
            per_step = {key: np.concatenate(values).mean(axis=0) for key, values in curves.items()}
            trainer.summaries.scalars({key + VAL_SUFFIX: float(values.mean()) for key, values in per_step.items()},
                                      step)
            os.makedirs(os.path.join(output_dir, "eval"), exist_ok=True)
            for metric in fns:
                path = os.path.join(output_dir, "eval", f"{name}_{metric}_{step:08d}.png")
                subtasks = {key.split("/")[1]: values for key, values in per_step.items()
                            if key.startswith(f"eval_{metric}/")}
                plot_metric_curves(path, subtasks, f"{name} {metric} at step {step}",
                                   first_step=hparams.context_frames + 1, ylabel=metric)
                trainer.summaries.image(f"{name}_{metric}_plot{VAL_SUFFIX}", _read_png(path), step)
        return run_eval

    evaluations = []
    if flags.eval_summary_freq:
        evaluations.append(Evaluation("eval_summary", flags.eval_summary_freq, eval_pass("eval", 1)))
    if flags.accum_eval_summary_freq:
        updates = max(1, val_dataset.num_examples_per_epoch() // batch_size)
        evaluations.append(Evaluation("accum_eval_summary", flags.accum_eval_summary_freq,
                                      eval_pass("accum_eval", updates)))
    result = trainer.fit(video_batch={k: v[:8] for k, v in example.items()}, hooks=[validation_scalars],
                         on_data_error=train_dataset.error_naming_file, evaluations=evaluations)
    print(f"finished at step {result.step} ({result.status}); checkpoint {result.checkpoint}", flush=True)


def _read_png(path: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _val_batches(dataset, batch_size: int, count: int):
    iterator = dataset.iterate_checked(dataset.make_dataset(batch_size).take(count))
    for batch in iterator:
        yield {key: value.numpy() for key, value in batch.items()}

