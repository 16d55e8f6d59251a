"""The demo's work (:mod:`vidpred_tf.papers.baseline.demo` is its command): Moving MNIST TFRecords, a baseline
model (or the e3d_lstm) trained on the shared trainer, predictions, metrics against copy-last-frame and the empty
canvas, videos and plots."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from vidpred_tf import manifest as manifest_lib
from vidpred_tf import metrics, presets, viz
from vidpred_tf.data.moving_mnist.generate import MovingMNISTConfig, write_moving_mnist_tfrecords
from vidpred_tf.data.pipeline import dataset_fn_for_strategy, make_dataset
from vidpred_tf.data.tfrecord import (
    CorruptRecordError,
    check_record_counts,
    error_naming_file,
    read_tfrecords,
    remove_stale_temp_files,
)
from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_json
from vidpred_tf.inference import resolve_checkpoint
from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
from vidpred_tf.models.baseline.dna import DNAConfig
from vidpred_tf.models.baseline.task import NextFrameTask
from vidpred_tf.models.e3d.config import E3DConfig
from vidpred_tf.models.e3d.sampling import SamplingConfig
from vidpred_tf.models.e3d.task import E3DTask
from vidpred_tf.papers.baseline.predictor import write_baseline_manifest
from vidpred_tf.papers.e3d.predictor import write_e3d_manifest
from vidpred_tf.training import Trainer, TrainerConfig, make_strategy


def _record_counts(files: dict, counts: dict) -> dict:
    """Records per file of ``write_moving_mnist_tfrecords``' output: example ``i`` of a split goes to shard
    ``i % num_shards``."""
    expected = {}
    for split, paths in files.items():
        for index, path in enumerate(paths):
            expected[path] = counts[split] // len(paths) + (index < counts[split] % len(paths))
    return expected


def _prepare_data(data_dir: str, config, num_train: int, num_test: int, seed: int) -> dict:
    """The Moving MNIST files of ``data_dir``, reused when its manifest matches and every file holds the records
    the manifest counts, else (re)generated. Temporary files of a generation that was killed are removed."""
    for path in remove_stale_temp_files(data_dir):
        print(f"Removed {path}, left by a data generation that was stopped", flush=True)
    manifest_path = os.path.join(data_dir, "manifest.json")
    wanted = {"num_train": num_train, "num_test": num_test, "seed": seed, "num_digits": config.num_digits,
              "seq_length": config.seq_length, "image_size": config.image_size}
    if os.path.exists(manifest_path):
        with open(manifest_path) as handle:
            manifest = json.load(handle)
        if manifest.get("config") == wanted:
            records = manifest.get("records") or _record_counts(manifest["files"], {"train": num_train,
                                                                                   "test": num_test})
            try:
                check_record_counts(records)
            except CorruptRecordError as err:
                print(f"Moving MNIST in {data_dir} is damaged ({err}): generating it again", flush=True)
            else:
                print(f"Reusing Moving MNIST in {data_dir}", flush=True)
                return manifest["files"]
    os.makedirs(data_dir, exist_ok=True)
    print(f"Generating Moving MNIST ({num_train} train / {num_test} test sequences) in {data_dir}", flush=True)
    files = write_moving_mnist_tfrecords(data_dir, num_train, num_test, config, seed=seed)
    write_json(manifest_path, {"config": wanted, "files": files,
                               "records": _record_counts(files, {"train": num_train, "test": num_test})})
    return files


def _initial_weights(init_from: str, model: str, config) -> "tuple[str | None, str | None]":
    """``(weights file, description)`` of ``--init_from`` for the baseline ``config``, or ``(None, None)`` for
    training from scratch. ``InputError`` naming the flag when it names another model or configuration."""
    if not init_from:
        return None, None
    if presets.is_preset_spec(init_from):
        folder = presets.resolve_preset(init_from)
        info = presets.read_preset_json(folder)
        described = (f"preset {info['name']} {info['version']} ({info.get('description', '')}; "
                     f"trained by {folder / info['flagfile']})" if info.get("flagfile") else
                     f"preset {info['name']} {info['version']}")
    else:
        folder, described = init_from, f"checkpoint {init_from}"
    manifest = manifest_lib.read_manifest(folder)
    if manifest is None:
        raise InputError(f"--init_from={init_from}: no {manifest_lib.MANIFEST_NAME} in {folder}")
    wanted = json.loads(json.dumps(dataclasses.asdict(config)))
    if manifest["paper"] != "baseline" or manifest["model_name"] != model or manifest["config"] != wanted:
        raise InputError(
            f"--init_from={init_from}: holds {manifest['paper']}/{manifest['model_name']} with config "
            f"{manifest['config']}, not --model={model} with {wanted}; pass --init_from='' to train from scratch")
    checkpoint = resolve_checkpoint(folder)  # a preset's .weights.h5, or a trainer checkpoint
    return checkpoint, described


def make_task(model: str, *, image_size: int, context_frames: int, seq_length: int, learning_rate: float,
              per_replica_batch: int, seed: int, init_from: str = ""):
    """The demo's Task for ``--model``, and what its initial weights are (``None``: from scratch)."""
    if model in ("convlstm", "dna"):
        config = (DNAConfig if model == "dna" else ConvLSTMConfig)(image_size=image_size,
                                                                    context_frames=context_frames)
        weights, described = _initial_weights(init_from, model, config)
        # DNA under the absolute error (the squared error's optimum is a blur over the places a digit may be),
        # on its own rollouts after the context as at test time (teacher forcing did not help within 13 minutes:
        # README).
        return NextFrameTask(config, num_frames=seq_length, learning_rate=learning_rate, init_weights=weights,
                             loss="l1" if model == "dna" else "l2"), described
    if model == "e3d_lstm":
        if init_from:
            raise InputError(f"--init_from={init_from}: the demo's e3d_lstm trains from scratch; pass "
                             f"--init_from=''")
        config = E3DConfig(model_name="e3d_lstm", img_width=image_size, patch_size=4, input_length=context_frames,
                           total_length=seq_length, num_hidden=(64,))
        # A few minutes are far too short for the original's 50,000-iteration schedule: always feed the
        # model its own predictions, as at test time.
        sampling = SamplingConfig(config, per_replica_batch, scheduled_sampling=False)
        return E3DTask(config, sampling, learning_rate, seed=seed), None
    raise ValueError(f"--model={model!r}: choose dna, convlstm or e3d_lstm")


def write_model_manifest(train_dir: str, model: str, task, horizon: int) -> str:
    """``vidpred_model.json`` beside the checkpoints, so that ``vidpred predict`` can rebuild the model."""
    if model in ("convlstm", "dna"):
        return write_baseline_manifest(train_dir, task.config, horizon)
    return write_e3d_manifest(train_dir, task.config)


def run_demo(out: str, minutes: float, *, model: str = "dna", max_steps: int = 100000, num_train: int = 1000,
             num_test: int = 128, batch_size: int = 16, context_frames: int = 10, seq_length: int = 20,
             num_digits: int = 2, learning_rate: float = 1e-3, seed: int = 0, strategy_name: str = "auto",
             jit_compile: bool = False, init_from: str = "") -> dict:
    """Run the demo and return what it writes to ``metrics.json``."""


    if not 0 < context_frames < seq_length:
        raise InputError(f"--context_frames={context_frames} must lie in (0, --seq_length={seq_length})")
    data_config = MovingMNISTConfig(num_digits=num_digits, seq_length=seq_length)
    strategy = make_strategy(strategy_name)
    # The task first: --init_from is checked before anything is written.
    task, initialised_from = make_task(
        model, image_size=data_config.image_size, context_frames=context_frames, seq_length=seq_length,
        learning_rate=learning_rate, per_replica_batch=batch_size // strategy.num_replicas_in_sync, seed=seed,
        init_from=init_from)
    os.makedirs(out, exist_ok=True)
    files = _prepare_data(os.path.join(out, "data"), data_config, num_train, num_test, seed)
    train_dir = os.path.join(out, "train", model)
    trainer = Trainer(task, TrainerConfig(
        model_dir=train_dir, num_steps=max_steps, global_batch_size=batch_size, seed=seed,
        # By time as well as by steps: a kill loses at most about a minute of training, whatever the speed.
        checkpoint_every=500, checkpoint_every_s=60.0, log_every=2 if model == "e3d_lstm" else 25,
        video_every=10 if model == "e3d_lstm" else 250, time_budget_s=60.0 * minutes,
        jit_compile=jit_compile, learning_rate_flag="--learning_rate"), strategy)
    manifest = write_model_manifest(train_dir, model, task, seq_length - context_frames) if trainer.chief else None

    test_examples = read_tfrecords(files["test"], extra_keys=[])
    test_batches = list(make_dataset(test_examples, batch_size=32, seed=None, shuffle=False, repeat=False,
                                     drop_remainder=False).as_numpy_iterator())
    dataset_fn = dataset_fn_for_strategy(
        lambda context: read_tfrecords(files["train"], extra_keys=[], input_context=context,
                                       shuffle_files=True, seed=seed),
        batch_size, seed=seed, shuffle_buffer=num_train)
    start = f"starting from {initialised_from}" if initialised_from else "from scratch"
    print(f"Training {task.name} ({start}) on {strategy.num_replicas_in_sync} replica(s) for up to {minutes:g} "
          f"min (TensorBoard: tensorboard --logdir {train_dir})", flush=True)
    result = trainer.fit(dataset_fn, video_batch={"images": test_batches[0]["images"][:4]},
                         on_data_error=lambda err: error_naming_file(err, files["train"]))

    # Evaluation on the test split: the model against repeating the last context frame.
    truth, predicted = [], []
    for batch in test_batches:
        truth.append(batch["images"])
        predicted.append(np.clip(trainer.predict(batch), 0.0, 1.0))
    truth = np.concatenate(truth)
    predicted = np.concatenate(predicted)
    future = truth[:, context_frames:]
    copy_last = np.repeat(truth[:, context_frames - 1:context_frames], seq_length - context_frames, axis=1)
    names = ("mse", "mae", "psnr", "ssim_tf")
    model_scores = metrics.frame_metrics(future, predicted, names=names)
    copy_scores = metrics.frame_metrics(future, copy_last, names=names)
    # The empty canvas too: on Moving MNIST an all-black prediction beats copy-last-frame on MSE (0.043 vs 0.070)
    # and SSIM (0.72 vs 0.59), so beating copy-last alone does not show that a model follows the digits.
    empty_scores = metrics.frame_metrics(future, np.zeros_like(future), names=names)

    plots, videos = {}, {}
    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    os.makedirs(os.path.join(out, "videos"), exist_ok=True)
    for name in names:
        path = os.path.join(out, "plots", f"{name}.png")
        viz.plot_metric_curves(path, {model: metrics.per_timestep_mean(model_scores[name]),
                                      "copy last frame": metrics.per_timestep_mean(copy_scores[name]),
                                      "empty canvas": metrics.per_timestep_mean(empty_scores[name])},
                               metric_name=name, first_step=context_frames + 1)
        plots[name] = path
    for index in range(min(4, len(truth))):
        frames = viz.comparison_frames(truth[index], predicted[index], context_frames)
        gif = os.path.join(out, "videos", f"test_{index:02d}.gif")
        viz.write_gif(gif, frames, fps=4)
        videos[f"test_{index:02d}"] = gif
    mp4 = os.path.join(out, "videos", "test_batch.mp4")
    viz.write_mp4(mp4, viz.comparison_batch(truth, predicted, context_frames, max_videos=8), fps=4)
    videos["test_batch_mp4"] = mp4

    def mean(values):
        return float(np.mean(values))

    report = {
        "model": model,
        "model_mse": mean(model_scores["mse"]),
        "copy_last_mse": mean(copy_scores["mse"]),
        "model_psnr": mean(model_scores["psnr"]),
        "copy_last_psnr": mean(copy_scores["psnr"]),
        "model_ssim_tf": mean(model_scores["ssim_tf"]),
        "copy_last_ssim_tf": mean(copy_scores["ssim_tf"]),
        "empty_canvas_mse": mean(empty_scores["mse"]),
        "empty_canvas_psnr": mean(empty_scores["psnr"]),
        "empty_canvas_ssim_tf": mean(empty_scores["ssim_tf"]),
        "mse_convention": "mean per pixel over the predicted frames, images in [0, 1]",
        "per_timestep": {"model": metrics.summarize(model_scores), "copy_last": metrics.summarize(copy_scores),
                         "empty_canvas": metrics.summarize(empty_scores)},
        "initialised_from": initialised_from,
        "train_steps": result.step,
        "train_status": result.status,
        "train_seconds": result.elapsed_s,
        "num_test_sequences": int(len(truth)),
        "context_frames": context_frames,
        "seq_length": seq_length,
        "checkpoint": result.checkpoint,
        "model_manifest": manifest,
        "tensorboard_dir": train_dir,
        "gifs": videos,
        "plots": plots,
        "data_files": files,
        "seed": seed,
    }
    write_json(os.path.join(out, "metrics.json"), report)
    def verdict(reference: str, what: str) -> str:
        better_mse = report["model_mse"] < report[f"{reference}_mse"]
        better_ssim = report["model_ssim_tf"] > report[f"{reference}_ssim_tf"]
        return {(True, True): f"the model beats {what} on MSE and SSIM",
                (True, False): f"the model beats {what} on MSE only, NOT on SSIM",
                (False, True): f"the model beats {what} on SSIM only, NOT on MSE",
                (False, False): f"the model does NOT beat {what}"}[better_mse, better_ssim]

    origin = (f"loaded {initialised_from}, then trained {result.step} steps here" if initialised_from else
              f"trained from scratch for {result.step} steps")
    print(f"\nModel {model}: {origin} ({result.status}, {result.elapsed_s:.0f} s).\n"
          f"Test over {seq_length - context_frames} predicted frames of {len(truth)} sequences, model vs "
          f"copy-last-frame: MSE per pixel {report['model_mse']:.5f} vs {report['copy_last_mse']:.5f}, "
          f"SSIM(tf) {report['model_ssim_tf']:.4f} vs {report['copy_last_ssim_tf']:.4f}, "
          f"PSNR {report['model_psnr']:.2f} vs {report['copy_last_psnr']:.2f} dB: "
          f"{verdict('copy_last', 'the copy-last-frame baseline')}\n"
          f"Against the empty canvas (an all-black prediction): MSE {report['empty_canvas_mse']:.5f}, SSIM(tf) "
          f"{report['empty_canvas_ssim_tf']:.4f}: {verdict('empty_canvas', 'the empty canvas')}\n"
          f"Checkpoint: {result.checkpoint}\n"
          f"Predict any video with it: vidpred predict --checkpoint {train_dir} --input VIDEO\n"
          f"Videos: {os.path.join(out, 'videos')}\n"
          f"Plots: {os.path.join(out, 'plots')}\nMetrics: {os.path.join(out, 'metrics.json')}\n"
          f"TensorBoard: tensorboard --logdir {train_dir}", flush=True)
    return report


