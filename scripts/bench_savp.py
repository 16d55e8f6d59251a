"""Speed of SAVP's training step and inference, as JSON (see ``bench_common`` for the method).

    python scripts/bench_savp.py                                   # ours_savp + ours_deterministic_l1, batch 2
    python scripts/bench_savp.py --models ours_savp --batch_size 8 --output bench_savp.json

The same work as the original's ``shared/originals/savp/bench_original.py``: the ``bair_action_free`` geometry of
``train_all.sh`` (64x64x3, sequence_length 12, context_frames 2, time_shift 2), the model hparams of
``flags/savp/hparams/bair_action_free/<model>/model_hparams.json`` with only the batch size changed; one train
step = the D update then the G update on the G loss through the updated D (ours_savp; the deterministic model
has no D); one inference = the test-mode generator's ``gen_images`` (prior z after the context), as
generate.py fetches it. Inputs are synthetic uniform frames. Geometry flags override (tests use tiny ones).
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPARAMS_DIR = os.path.join(REPOSITORY, "flags", "savp", "hparams", "bair_action_free")
GEOMETRY = dict(image_size=64, channels=3, sequence_length=12, context_frames=2, time_shift=2)

flags.DEFINE_list("models", ["ours_savp", "ours_deterministic_l1"], "hparams folders of "
                  "flags/savp/hparams/bair_action_free to benchmark")
flags.DEFINE_integer("batch_size", 2, "Global batch (the original's batch_size hparam).")
flags.DEFINE_integer("image_size", None, "Frame size (default 64).")
flags.DEFINE_integer("sequence_length", None, "Frames per sequence (default 12).")
flags.DEFINE_integer("context_frames", None, "Context frames (default 2).")
flags.DEFINE_string("model_hparams", None, "Extra comma hparams on top of the JSON (tests: small widths).")

FLAGS = flags.FLAGS


def _geometry() -> dict:
    geometry = dict(GEOMETRY)
    for name in ("image_size", "sequence_length", "context_frames"):
        value = getattr(FLAGS, name)
        if value is not None:
            if value <= 0:
                raise app.UsageError(f"--{name}={value} must be positive")
            geometry[name] = value
    if FLAGS.batch_size <= 0:
        raise app.UsageError(f"--batch_size={FLAGS.batch_size} must be positive")
    return geometry


def _hparams_dict(model: str) -> dict:
    path = os.path.join(HPARAMS_DIR, model, "model_hparams.json")
    if not os.path.exists(path):
        raise app.UsageError(f"--models: no {path}")
    with open(path) as handle:
        return json.load(handle)


def _variants(savp, model: str, geometry: dict, strategy) -> list:
    hparams_dict = _hparams_dict(model)
    hparams_dict.update(batch_size=FLAGS.batch_size, context_frames=geometry["context_frames"],
                        sequence_length=geometry["sequence_length"], repeat=geometry["time_shift"])
    try:
        hparams = savp.resolve_model_hparams("savp", hparams_dict, FLAGS.model_hparams)
    except ValueError as err:
        raise app.UsageError(f"--models={model}: {err}") from err
    image_shape = (geometry["image_size"], geometry["image_size"], geometry["channels"])
    images = bench_common.synthetic_videos(FLAGS.batch_size, geometry["sequence_length"], geometry["image_size"],
                                           geometry["channels"], FLAGS.seed)
    describe = {"model": model, "dataset": "bair_action_free", **geometry, "batch_size": FLAGS.batch_size,
                "nz": hparams.nz, "ngf": hparams.ngf}

    def make_task():
        return savp.SAVPTask(lambda: savp.build_model("savp", hparams, image_shape, mode="train"), hparams)

    jit_settings = bench_common.jit_settings(FLAGS.jit_compile)
    if savp.model.has_discriminator("savp", hparams, "train"):
        # The D-then-G step runs its stages uncompiled (Trainer: staged updates): XLA would time the same thing.
        describe["jit_note"] = "staged D/G updates run uncompiled; timed with XLA off only"
        jit_settings = [False]
    return [bench_common.Variant(
        name=f"{model}/jit_{'on' if jit else 'off'}", make_task=make_task, global_batch_size=FLAGS.batch_size,
        jit_compile=jit, images=images, describe=describe,
        parameter_count=lambda m: m.parameter_count())
        for jit in jit_settings]


def main(argv):
    import_tensorflow_quietly()
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    from vidpred_tf.models import savp  # noqa: PLC0415  (TensorFlow loads once the flags have parsed)

    geometry = _geometry()
    strategy = bench_common.make_strategy_from_flags()
    groups = [_variants(savp, model, geometry, strategy) for model in FLAGS.models]
    report = {
        "benchmark": "savp",
        "what": "SAVP (scripts/savp/train.py) at the bair_action_free geometry, synthetic inputs",
        "reference": "shared/originals/savp/bench_original.py",
        "settings": {**bench_common.settings_from_flags(), **geometry, "batch_size": FLAGS.batch_size,
                     "models": list(FLAGS.models), "model_hparams": FLAGS.model_hparams},
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
