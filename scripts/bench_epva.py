"""Speed of EPVA's training step and inference, as JSON (see ``bench_common`` for the method).

    python scripts/bench_epva.py                                   # e2e + epva, batch 2, README geometry
    python scripts/bench_epva.py --modes epva --batch_size 8 --output bench_epva.json

The same work as the original's ``shared/originals/epva/bench_original.py`` (its docstring):

* configurations: the README's Humans lines ("E2E" and "EPVA Single-GPU"): enc_size 64, keep probabilities
  .65 / .9, sequence_length 64 with skip_num 2 = 32 frames per example, context_frames 5, clip_gradient_norm
  .01 (per tensor, slim's ``create_train_op``); full width (van_first_depth 64, vgg_width_divisor 1);
* train (the original's ``sess.run(train_op)``): one trainer step = forward with the README keep probabilities,
  gradients, clipping, Adam, step increment (the Task's training step; the trainer also fetches its losses);
* infer (the original's README eval line, keep-prob flags removed, built in PREDICT mode, fetching
  ``predictions['van_out_all']``): the forward pass of the SAME trained network with keep probabilities 1.0
  (its layers read ``dataclasses.replace(config, enc_keep_prob=1.0, van_keep_prob=1.0)`` while the inference
  function is traced; no dropout op is in that graph), fetching ``van_out_all``: the same horizon, T - 1 = 31
  frames per example (context_frames encodings fed, then the predictor's own);
* inputs: synthetic uniform [0, 1) images, actions and joint poses (the original feeds uniform arrays too).

``--model_flags`` overrides EPVAConfig fields (tests: ``van_first_depth=4,vgg_width_divisor=16,enc_size=8``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys

import numpy as np
from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

# The README lines the original's bench times (flags the model sees; learning rates do not change the speed).
README_TASK = {"e2e": dict(all_learning_rate=1e-5, clip_gradient_norm=0.01),
               "epva": dict(all_learning_rate=1e-4, clip_gradient_norm=0.01)}
README_FLAGS = {
    "e2e": dict(model_mode="e2e", enc_size=64, enc_keep_prob=0.65, van_keep_prob=0.9, context_frames=5),
    "epva": dict(model_mode="epva", enc_size=64, enc_keep_prob=0.65, van_keep_prob=0.9, context_frames=5,
                 enc_pred_loss_scale=0.1, enc_pred_loss_scale_delay=2e4),
}
GEOMETRY = dict(sequence_length=64, skip_num=2)

flags.DEFINE_list("modes", ["e2e", "epva"], f"README configurations to benchmark: {', '.join(README_FLAGS)}")
flags.DEFINE_integer("batch_size", 2, "Global batch (the original's --batch_size).")
flags.DEFINE_integer("sequence_length", None, "The original's --sequence_length before skip_num (default 64).")
flags.DEFINE_integer("skip_num", None, "Frame stride of the reader (default 2).")
flags.DEFINE_string("model_flags", None, "Comma name=value EPVAConfig overrides (tests: small widths).")

FLAGS = flags.FLAGS


def _parse_value(text: str):
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def model_overrides(text) -> dict:
    """``--model_flags`` as a dict; UsageError naming the item that is not name=value."""
    overrides = {}
    for item in filter(None, (text or "").split(",")):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise app.UsageError(f"--model_flags: {item!r} is not name=value")
        overrides[name.strip()] = _parse_value(value)
    return overrides


def _check_modes(modes) -> None:
    unknown = [mode for mode in modes if mode not in README_FLAGS]
    if unknown:
        raise app.UsageError(f"--modes: unknown mode {unknown[0]!r}; choose from {', '.join(README_FLAGS)}")


@contextlib.contextmanager
def _reading(network, config):
    """Every layer of ``network`` that holds an EPVAConfig reads ``config`` meanwhile: the keep probabilities are
    Python numbers read while a function traces, so a function traced here has the variables of ``network``
    and the dropout of ``config``."""
    holders = [layer for layer in [network, *network._flatten_layers(include_self=False)]
               if isinstance(getattr(layer, "config", None), type(config))]
    saved = [layer.config for layer in holders]
    for layer in holders:
        layer.config = config
    try:
        yield
    finally:
        for layer, original in zip(holders, saved):
            layer.config = original


def inference_task_class(epva_task, tf):
    """EPVATask whose ``predict`` is the original's inference: keep probabilities 1.0 on the trained weights."""

    class InferenceWithoutDropout(epva_task.EPVATask):
        def predict(self, model, batch, seed=None):
            config = dataclasses.replace(self.config, enc_keep_prob=1.0, van_keep_prob=1.0)
            graph = tf.compat.v1.get_default_graph() if tf.inside_function() else None
            before = len(graph.get_operations()) if graph is not None else 0
            with _reading(model, config):
                frames = super().predict(model, batch, seed)
            if graph is not None:
                # Dropout draws uniform numbers (the model's noise draws normal ones): none may be left.
                dropout = [op.name for op in graph.get_operations()[before:] if "RandomUniform" in op.type]
                if dropout:
                    raise RuntimeError(f"bench_epva: the inference graph still has dropout ops: {dropout[:3]}")
            return frames

    return InferenceWithoutDropout


def _geometry() -> dict:
    geometry = dict(GEOMETRY)
    for name in ("sequence_length", "skip_num"):
        value = getattr(FLAGS, name)
        if value is not None:
            if value <= 0:
                raise app.UsageError(f"--{name}={value} must be positive")
            geometry[name] = value
    if FLAGS.batch_size <= 0:
        raise app.UsageError(f"--batch_size={FLAGS.batch_size} must be positive")
    geometry["frames"] = geometry["sequence_length"] // geometry["skip_num"]
    return geometry


def _variants(tf, epva_config, epva_task, mode: str, geometry: dict, overrides: dict) -> list:
    values = {**README_FLAGS[mode], **overrides}
    unknown = sorted(set(overrides) - {f for f in epva_config.EPVAConfig.__dataclass_fields__})
    if unknown:
        raise app.UsageError(f"--model_flags: unknown EPVAConfig fields {unknown}")
    config = epva_config.EPVAConfig.from_flags(values)
    frames = geometry["frames"]
    if frames <= config.context_frames:
        raise app.UsageError(f"--sequence_length {geometry['sequence_length']} / --skip_num {geometry['skip_num']} "
                             f"gives {frames} frames; more than context_frames={config.context_frames} needed")
    batch = FLAGS.batch_size
    images = bench_common.synthetic_videos(batch, frames, 64, 3, FLAGS.seed)
    rng = np.random.RandomState(FLAGS.seed)
    arrays = {"images": images,
              "actions": rng.uniform(size=(batch, frames, config.pose_dim)).astype(np.float32),
              "joint_poses": rng.uniform(size=(batch, frames, config.joint_pos_dim + config.pose_dim))
              .astype(np.float32)}
    describe = {"model": mode, "dataset": "human", **geometry, "batch_size": batch, "enc_size": config.enc_size,
                "van_first_depth": config.van_first_depth, "vgg_width_divisor": config.vgg_width_divisor,
                "train_keep_probs": {"enc": config.enc_keep_prob, "van": config.van_keep_prob},
                "inference_keep_probs": {"enc": 1.0, "van": 1.0}}
    task_class = inference_task_class(epva_task, tf)

    def make_task():
        return task_class(config, **README_TASK[mode])

    return [bench_common.Variant(
        name=f"{mode}/jit_{'on' if jit else 'off'}", make_task=make_task, global_batch_size=batch,
        jit_compile=jit, images=images, describe=describe, batch_arrays=arrays,
        parameter_count=lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables)))
        for jit in bench_common.jit_settings(FLAGS.jit_compile)]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    _check_modes(FLAGS.modes)
    import_tensorflow_quietly()
    # TensorFlow loads once the flags have parsed.
    import tensorflow as tf  # noqa: PLC0415

    from vidpred_tf.models.epva import config as epva_config  # noqa: PLC0415
    from vidpred_tf.models.epva import task as epva_task  # noqa: PLC0415

    geometry = _geometry()
    overrides = model_overrides(FLAGS.model_flags)
    strategy = bench_common.make_strategy_from_flags()
    groups = [_variants(tf, epva_config, epva_task, mode, geometry, overrides) for mode in FLAGS.modes]
    report = {
        "benchmark": "epva",
        "what": "EPVA (scripts/epva/prediction_train.py) at the README Humans configurations, synthetic inputs",
        "reference": "shared/originals/epva/bench_original.py",
        "settings": {**bench_common.settings_from_flags(), **geometry, "batch_size": FLAGS.batch_size,
                     "modes": list(FLAGS.modes), "model_flags": FLAGS.model_flags},
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
            report["comparisons"].append({"model": variants[0].describe["model"], **comparison})
    return bench_common.finish(report)


if __name__ == "__main__":
    app.run(main)
