"""Speed of the E3D-LSTM study's training step and inference, as JSON (see ``bench_common`` for the method).

    python scripts/bench_e3d.py                          # e3d_lstm, Moving MNIST geometry, XLA off vs on
    python scripts/bench_e3d.py --all_models --steps 20  # the five --model_name networks
    python scripts/bench_e3d.py --dataset kth --output bench_e3d_kth.json

Defaults are those of the original's train scripts (``flags/e3d/e3d_lstm_mm_train.flags``,
``e3d_lstm_kth_train.flags``): Moving MNIST 64x64, patch 4, 20 frames with 10 of context, 4x64 hidden
channels, batch 4 per tower; KTH 128x128, patch 8, 30 frames, batch 2 per tower. Inputs are synthetic random
frames of that shape; every replica of the strategy is one tower (global batch = batch x replicas).
Training starts from scratch (decoder trainable), as ``e3d_lstm_mm_train`` does. Geometry flags override the
dataset's defaults (tests use tiny ones).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

# Geometry and schedule of the original's train scripts, per --dataset.
DATASETS = {
    "mnist": dict(img_width=64, patch_size=4, total_length=20, input_length=10, batch_size=4,
                  sampling_stop_iter=50000, flagfile="flags/e3d/e3d_lstm_mm_train.flags"),
    "kth": dict(img_width=128, patch_size=8, total_length=30, input_length=10, batch_size=2,
                sampling_stop_iter=100000, flagfile="flags/e3d/e3d_lstm_kth_train.flags"),
}

flags.DEFINE_string("model_name", "e3d_lstm", "The --model_name of run.py to benchmark.")
flags.DEFINE_boolean("all_models", False, "Benchmark all five --model_name networks (one group each).")
flags.DEFINE_enum("dataset", "mnist", sorted(DATASETS), "Geometry and batch of the original's train script.")
flags.DEFINE_string("num_hidden", "64,64,64,64", "Comma-separated channels of the E3D-LSTM layers.")
flags.DEFINE_integer("batch_size", None, "Batch per tower (replica); default: the dataset's (mnist 4, kth 2).")
flags.DEFINE_integer("img_width", None, "Frame width; default: the dataset's (mnist 64, kth 128).")
flags.DEFINE_integer("patch_size", None, "Patch size; default: the dataset's (mnist 4, kth 8).")
flags.DEFINE_integer("total_length", None, "Frames per sequence; default: the dataset's (mnist 20, kth 30).")
flags.DEFINE_integer("input_length", None, "Context frames; default: the dataset's (10).")
flags.DEFINE_float("lr", 0.001, "Learning rate (run.py's --lr).")

FLAGS = flags.FLAGS


def _geometry() -> dict:
    defaults = DATASETS[FLAGS.dataset]
    geometry = {}
    for name in ("img_width", "patch_size", "total_length", "input_length", "batch_size"):
        value = getattr(FLAGS, name)
        value = defaults[name] if value is None else value
        if value <= 0:
            raise app.UsageError(f"--{name}={value} must be positive")
        geometry[name] = value
    return geometry


def _variants(e3d, model_name: str, geometry: dict, strategy) -> list:
    """The timed variants of one ``--model_name``; ``e3d`` is the package :mod:`vidpred_tf.models.e3d`."""
    try:
        # The 2-D models of the original reshape the decoder input to 64 hard-coded channels; with the default
        # 64-wide layers that is the actual width, and other --num_hidden values are timed at their own width.
        config = e3d.E3DConfig(model_name=model_name, img_width=geometry["img_width"], img_channel=1,
                           patch_size=geometry["patch_size"], input_length=geometry["input_length"],
                           total_length=geometry["total_length"], num_hidden=FLAGS.num_hidden,
                           enforce_decoder_width_64=False)
    except ValueError as err:
        raise app.UsageError(f"--model_name={model_name} --num_hidden={FLAGS.num_hidden}: {err}") from err
    sampling = e3d.SamplingConfig(config, geometry["batch_size"],
                                  sampling_stop_iter=DATASETS[FLAGS.dataset]["sampling_stop_iter"])
    replicas = strategy.num_replicas_in_sync
    global_batch = geometry["batch_size"] * replicas
    images = bench_common.synthetic_videos(global_batch, config.total_length, config.img_width, 1, FLAGS.seed)
    describe = {
        "model_name": model_name, "dataset": FLAGS.dataset, "img_width": config.img_width,
        "patch_size": config.patch_size, "total_length": config.total_length, "input_length": config.input_length,
        "num_hidden": list(config.num_hidden), "cell_dims": config.cell_dims, "cell_kernel": list(config.cell_kernel),
        "eidetic_attention": config.eidetic_attention, "residual_mode": config.residual_mode,
        "decoder_trainable": config.decoder_trainable, "batch_size_per_tower": geometry["batch_size"],
    }
    return [bench_common.Variant(
        name=f"{model_name}/jit_{'on' if jit else 'off'}",
        make_task=lambda: e3d.E3DTask(config, sampling, FLAGS.lr, seed=FLAGS.seed),
        global_batch_size=global_batch, jit_compile=jit, images=images, describe=describe,
        parameter_count=lambda model: model.parameter_count())
        for jit in bench_common.jit_settings(FLAGS.jit_compile)]


def main(argv):
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    # The models import TensorFlow: only here, once the flags have parsed (--help and usage errors stay quick).
    from vidpred_tf.models import e3d  # noqa: PLC0415

    geometry = _geometry()
    if FLAGS.all_models:
        model_names = list(e3d.MODEL_NAMES)
    elif FLAGS.model_name in e3d.MODEL_NAMES:
        model_names = [FLAGS.model_name]
    else:
        raise app.UsageError(f"--model_name={FLAGS.model_name!r} is not one of {', '.join(e3d.MODEL_NAMES)}")

    strategy = bench_common.make_strategy_from_flags()
    groups = [_variants(e3d, name, geometry, strategy) for name in model_names]  # all flag errors before timing
    report = {
        "benchmark": "e3d",
        "what": "E3D-LSTM study (scripts/e3d/run.py), synthetic inputs; batch_size is per tower/replica",
        "defaults_from": DATASETS[FLAGS.dataset]["flagfile"],
        "settings": {**bench_common.settings_from_flags(), "dataset": FLAGS.dataset, **geometry,
                     "num_hidden": FLAGS.num_hidden, "lr": FLAGS.lr},
        "environment": bench_common.environment_facts(strategy),
        "results": [],
        "comparisons": [],
    }
    for variants in groups:
        results = bench_common.run_group(variants, strategy, steps=FLAGS.steps, warmup=FLAGS.warmup,
                                         repeats=FLAGS.repeats, seed=FLAGS.seed, inference=FLAGS.inference)
        report["results"].extend(results)
        comparison = bench_common.jit_comparison(results)
        if comparison is not None:
            report["comparisons"].append({"model_name": variants[0].describe["model_name"], **comparison})
    return bench_common.finish(report)


if __name__ == "__main__":
    app.run(main)
