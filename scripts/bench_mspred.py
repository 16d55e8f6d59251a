"""Speed of MSPred's training step and inference, as JSON (see ``bench_common`` for the method).

    python scripts/bench_mspred.py                       # mmnist.json: batch 16, 57 frames of 64x64x3
    python scripts/bench_mspred.py --config kth --jit_compile off --steps 3
    python scripts/bench_mspred.py --model_type LP       # an SVG baseline at the same data geometry

Defaults are those of the shipped config the README commands train (``--config``: ``training.batch_size``,
``training.context``, ``training.num_preds``, hence the sequence length context + max(num_preds x periods),
the full-size model). Training is one step of ``MSPredTask`` (02_train.py's loss: the per-level
reconstruction terms and beta x KL, posterior latents) through the shared ``Trainer``; inference is
``MSPredTask.predict`` (eval mode: prior latents, the level-0 frames). Inputs are synthetic: random frames,
random heat maps of the dataset's channel counts. The size flags shrink the model (tests use tiny ones).
"""

from __future__ import annotations

import copy
import os
import sys

import numpy as np
from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

CONFIGS = ("mmnist", "kth", "synpick")

flags.DEFINE_enum("config", "mmnist", CONFIGS, "Shipped config (vidpred_tf/models/mspred/configs) to time.")
flags.DEFINE_string("model_type", None, "model.model_type to time instead of the config's "
                    "(SpatioTempHierarchConvLSTM, SpatioTempHierarchLSTM, deterministic, ConvDeterministic, LP, "
                    "ConvLP).")
flags.DEFINE_integer("batch_size", None, "Batch per replica; default: the config's training.batch_size.")
flags.DEFINE_integer("context", None, "Context frames; default: the config's training.context.")
flags.DEFINE_integer("num_preds", None, "Predictions per level; default: the config's training.num_preds.")
flags.DEFINE_integer("num_filters", None, "enc_dec.num_filters (dim = 8 x num_filters); default: the config's.")
flags.DEFINE_integer("hidden_dim", None, "HierarchLSTM.hidden_dim; default: the config's.")
flags.DEFINE_integer("latent_hidden_dim", None, "LSTM_Prior/LSTM_Posterior hidden_dim; default: the config's.")

FLAGS = flags.FLAGS


def experiment_params(config: dict) -> dict:
    """A copy of the shipped config's parameters with the flags' overrides applied."""
    params = copy.deepcopy(config)
    model, training = params["model"], params["training"]
    if FLAGS.model_type:
        model["model_type"] = FLAGS.model_type
    for name, group, key in (("batch_size", training, "batch_size"), ("context", training, "context"),
                             ("num_preds", training, "num_preds")):
        value = getattr(FLAGS, name)
        if value is not None:
            if value <= 0:
                raise app.UsageError(f"--{name}={value} must be positive")
            group[key] = value
    if FLAGS.num_filters is not None:
        model["enc_dec"]["num_filters"] = FLAGS.num_filters
        model["enc_dec"]["dim"] = 8 * FLAGS.num_filters
    if FLAGS.hidden_dim is not None:
        model["HierarchLSTM"]["hidden_dim"] = FLAGS.hidden_dim
    if FLAGS.latent_hidden_dim is not None:
        model["LSTM_Prior"]["hidden_dim"] = FLAGS.latent_hidden_dim
        model["LSTM_Posterior"]["hidden_dim"] = FLAGS.latent_hidden_dim
    return params


def synthetic_batch(sequence_shape, hmap_channels, global_batch: int, seed: int) -> dict:
    """Random frames ``images`` of ``sequence_shape`` (T, H, W, C), both heat-map levels (``hmap_channels``) and KTH
    class ids, for ``global_batch`` sequences."""
    frames_count, height, width, _ = sequence_shape
    rng = np.random.default_rng(seed)
    batch = {"images": rng.random((global_batch,) + tuple(sequence_shape), np.float32)}
    for level, channels_h in enumerate(hmap_channels, start=1):
        batch[f"heatmap_{level}"] = rng.random((global_batch, frames_count, height, width, channels_h),
                                               np.float32)
    batch["class_id"] = rng.integers(0, 6, size=global_batch).astype(np.int32)
    return batch


def main(argv):
    # TensorFlow is imported only now that the flags are parsed: --help and flag errors stay fast and quiet.
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    from vidpred_tf.models.mspred import params as mspred_params  # noqa: PLC0415
    from vidpred_tf.models.mspred.build import parameter_count  # noqa: PLC0415
    from vidpred_tf.models.mspred.task import MSPredTask  # noqa: PLC0415
    from vidpred_tf.papers.mspred.experiment import load_config  # noqa: PLC0415
    from vidpred_tf.papers.mspred.training import kth_class_weights  # noqa: PLC0415

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    params = experiment_params(load_config(FLAGS.config))
    strategy = bench_common.make_strategy_from_flags()
    global_batch = params["training"]["batch_size"] * strategy.num_replicas_in_sync
    batch = synthetic_batch((mspred_params.sequence_length(params),) + mspred_params.frame_shape(params),
                            mspred_params.n_hmap_channels(params["dataset"]["dataset_name"]), global_batch, FLAGS.seed)
    weights = kth_class_weights(params["loss"])
    model = params["model"]
    describe = {
        "config": FLAGS.config, "model_type": model["model_type"], "enc_dec_type": model["enc_dec_type"],
        "num_filters": model["enc_dec"]["num_filters"], "hidden_dim": model["HierarchLSTM"]["hidden_dim"],
        "periods": model["HierarchLSTM"]["periods"], "context": params["training"]["context"],
        "num_preds": mspred_params.hierarchical_num_preds(params),
        "sequence_length": mspred_params.sequence_length(params),
        "frame_shape": list(batch["images"].shape[2:]), "batch_size_per_replica": params["training"]["batch_size"],
    }
    variants = [bench_common.Variant(
        name=f"{FLAGS.config}/{model['model_type']}/jit_{'on' if jit else 'off'}",
        make_task=lambda: MSPredTask(params, class_weights=weights),
        global_batch_size=global_batch, jit_compile=jit, images=batch["images"], batch_arrays=batch,
        describe=describe, parameter_count=parameter_count)
        for jit in bench_common.jit_settings(FLAGS.jit_compile)]
    report = {
        "benchmark": "mspred",
        "what": "MSPred (scripts/mspred/02_train.py's training step, eval-mode prediction), synthetic inputs; "
                "batch_size is per replica; inference frames are the level-0 predicted frames",
        "defaults_from": f"vidpred_tf/models/mspred/configs/{FLAGS.config}.json",
        "settings": {**bench_common.settings_from_flags(), "config": FLAGS.config,
                     "batch_size": params["training"]["batch_size"]},
        "environment": bench_common.environment_facts(strategy),
        "results": bench_common.run_group(variants, strategy, steps=FLAGS.steps, warmup=FLAGS.warmup,
                                          repeats=FLAGS.repeats, seed=FLAGS.seed, inference=FLAGS.inference),
        "comparisons": [],
    }
    comparison = bench_common.jit_comparison(report["results"])
    if comparison is not None:
        report["comparisons"].append({"model_type": model["model_type"], **comparison})
    return bench_common.finish(report)


if __name__ == "__main__":
    app.run(main)
