"""Speed of EPVA's training step and inference, as JSON (see ``bench_common`` for the method).

    python scripts/bench_epva.py                                   # e2e + epva, batch 2, README geometry
    python scripts/bench_epva.py --modes epva --batch_size 8 --output bench_epva.json

The same work as the original's ``shared/originals/epva/bench_original.py``: the README's Humans lines
("E2E" and "EPVA Single-GPU": enc_size 64, keep probabilities .65 / .9, sequence_length 64 with skip_num 2 = 32
frames per example, context_frames 5, clip_gradient_norm .01); one train step = forward, gradients, clipping,
Adam (the Task's step); one inference = the PREDICT-mode forward with keep probabilities 1.0, fetching
``van_out_all``. Inputs are synthetic uniform frames and zero actions / joint poses. ``--model_flags`` overrides
EPVAConfig fields (tests: ``van_first_depth=4,vgg_width_divisor=16,enc_size=8``).
"""

from __future__ import annotations

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


def _variants(epva_config, epva_task, mode: str, geometry: dict, overrides: dict) -> list:
    if mode not in README_FLAGS:
        raise app.UsageError(f"--modes: unknown mode {mode!r}; choose from {', '.join(README_FLAGS)}")
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
    arrays = {"images": images,
              "actions": np.zeros((batch, frames, config.pose_dim), np.float32),
              "joint_poses": np.zeros((batch, frames, config.joint_pos_dim + config.pose_dim), np.float32)}
    describe = {"model": mode, "dataset": "human", **geometry, "batch_size": batch, "enc_size": config.enc_size,
                "van_first_depth": config.van_first_depth, "vgg_width_divisor": config.vgg_width_divisor}

    def make_task():
        return epva_task.EPVATask(config, **README_TASK[mode])

    return [bench_common.Variant(
        name=f"{mode}/jit_{'on' if jit else 'off'}", make_task=make_task, global_batch_size=batch,
        jit_compile=jit, images=images, describe=describe, batch_arrays=arrays,
        parameter_count=lambda m: int(sum(np.prod(v.shape) for v in m.trainable_variables)))
        for jit in bench_common.jit_settings(FLAGS.jit_compile)]


def main(argv):
    import_tensorflow_quietly()
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    # TensorFlow loads once the flags have parsed.
    from vidpred_tf.models.epva import config as epva_config  # noqa: PLC0415
    from vidpred_tf.models.epva import task as epva_task  # noqa: PLC0415

    geometry = _geometry()
    overrides = model_overrides(FLAGS.model_flags)
    strategy = bench_common.make_strategy_from_flags()
    groups = [_variants(epva_config, epva_task, mode, geometry, overrides) for mode in FLAGS.modes]
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
