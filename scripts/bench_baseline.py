"""Speed of the demo's baseline models (training step and inference), as JSON; XLA off vs on in one run, and
for the DNA model separable vs full kernels in the same run.

    python scripts/bench_baseline.py [--model dna|convlstm] [--kernels both] [--steps 20 --repeats 5]
        [--output bench_baseline.json]

Defaults are those of ``make demo`` (``vidpred_tf.demo``): Moving MNIST 64x64, 20 frames with 10 of context,
``NextFrameTask`` with the default ``DNAConfig`` (``--model convlstm``: ``ConvLSTMConfig``), global batch 16 (split
over the replicas of the strategy, as the demo does), Adam 1e-3. Inputs are synthetic random frames of that shape.
See ``bench_common`` for the timing method.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

flags.DEFINE_integer("batch_size", 16, "Global training batch size (the demo's), split over the replicas.")
flags.DEFINE_integer("image_size", 64, "Frame height and width (a multiple of 2 ** number of encoder layers).")
flags.DEFINE_integer("seq_length", 20, "Frames per sequence (context + predicted).")
flags.DEFINE_integer("context_frames", 10, "Context frames given to the model.")
flags.DEFINE_enum("model", "dna", ["dna", "convlstm"], "dna: the demo's DNA model; convlstm: the ConvLSTM baseline.")
flags.DEFINE_enum("kernels", "separable", ["separable", "full", "both"],
                  "DNA kernels: separable (the default of DNAConfig), full k x k, or both in one run.")
flags.DEFINE_string("encoder_filters", None, "Comma-separated filters of the strided-conv encoder (default: the "
                    "model config's).")
flags.DEFINE_string("lstm_filters", None, "Comma-separated filters of the ConvLSTM layers (default: the config's).")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")

FLAGS = flags.FLAGS


def _int_list(flag_name: str, default):
    text = getattr(FLAGS, flag_name)
    if text is None:
        return tuple(default)
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise app.UsageError(f"--{flag_name}={text!r}: expected comma-separated integers") from None
    if not values or min(values) <= 0:
        raise app.UsageError(f"--{flag_name}={text!r}: expected positive integers")
    return values


def _check_flags():
    for name in ("batch_size", "image_size", "seq_length", "context_frames"):
        if getattr(FLAGS, name) <= 0:
            raise app.UsageError(f"--{name}={getattr(FLAGS, name)} must be positive")
    if not FLAGS.context_frames < FLAGS.seq_length:
        raise app.UsageError(f"--context_frames={FLAGS.context_frames} must be smaller than "
                             f"--seq_length={FLAGS.seq_length}")
    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.dna import DNAConfig

    defaults = DNAConfig() if FLAGS.model == "dna" else ConvLSTMConfig()
    encoder = _int_list("encoder_filters", defaults.encoder_filters)
    lstm = _int_list("lstm_filters", defaults.lstm_filters)
    factor = 2 ** len(encoder)
    if FLAGS.image_size % factor:
        raise app.UsageError(f"--image_size={FLAGS.image_size} must be a multiple of {factor} "
                             f"(2 ** the {len(encoder)} encoder layers)")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    return encoder, lstm


def main(argv):
    import_tensorflow_quietly()  # before anything imports TensorFlow: no C++ start-up lines
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    encoder, lstm = _check_flags()
    import dataclasses

    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.dna import DNAConfig
    from vidpred_tf.models.baseline.task import NextFrameTask

    strategy = bench_common.make_strategy_from_flags()
    replicas = strategy.num_replicas_in_sync
    if FLAGS.batch_size % replicas:
        raise app.UsageError(f"--batch_size={FLAGS.batch_size} is not divisible by the {replicas} replicas of "
                             f"--strategy={FLAGS.strategy}")
    config_type = DNAConfig if FLAGS.model == "dna" else ConvLSTMConfig
    base = config_type(image_size=FLAGS.image_size, channels=1, context_frames=FLAGS.context_frames,
                       encoder_filters=encoder, lstm_filters=lstm)
    if FLAGS.model == "dna":
        kernels = ["separable", "full"] if FLAGS.kernels == "both" else [FLAGS.kernels]
        configs = {f"dna_{kind}": dataclasses.replace(base, separable=kind == "separable") for kind in kernels}
    else:
        configs = {"convlstm": base}
    images = bench_common.synthetic_videos(FLAGS.batch_size, FLAGS.seq_length, FLAGS.image_size, 1, FLAGS.seed)
    variants = []
    for key, config in configs.items():
        describe = {"model": f"{type(config).__name__} (vidpred_tf/models/baseline)", "image_size": FLAGS.image_size,
                    "seq_length": FLAGS.seq_length, "context_frames": FLAGS.context_frames,
                    "encoder_filters": list(encoder), "lstm_filters": list(lstm)}
        if FLAGS.model == "dna":
            describe.update(kernel_size=config.kernel_size, separable=config.separable)
        variants += [bench_common.Variant(
            name=f"{key}_baseline/jit_{'on' if jit else 'off'}",
            make_task=lambda config=config: NextFrameTask(config, num_frames=FLAGS.seq_length,
                                                          learning_rate=FLAGS.learning_rate),
            global_batch_size=FLAGS.batch_size, jit_compile=jit, images=images, describe=describe)
            for jit in bench_common.jit_settings(FLAGS.jit_compile)]
    report = {
        "benchmark": "baseline",
        "what": f"{FLAGS.model} baseline of make demo (NextFrameTask), synthetic inputs; batch_size is global",
        "defaults_from": "vidpred_tf/demo.py",
        "settings": {**bench_common.settings_from_flags(), "model": FLAGS.model, "kernels": FLAGS.kernels,
                     "batch_size": FLAGS.batch_size, "image_size": FLAGS.image_size, "seq_length": FLAGS.seq_length,
                     "context_frames": FLAGS.context_frames, "learning_rate": FLAGS.learning_rate},
        "environment": bench_common.environment_facts(strategy),
        "results": [],
        "comparisons": [],
    }
    results = bench_common.run_group(variants, strategy, steps=FLAGS.steps, warmup=FLAGS.warmup,
                                     repeats=FLAGS.repeats, seed=FLAGS.seed, inference=FLAGS.inference)
    report["results"] = results
    for key in configs:
        comparison = bench_common.jit_comparison([r for r in results if r["name"].startswith(f"{key}_baseline/")])
        if comparison is not None:
            report["comparisons"].append({"model": f"{key}_baseline", **comparison})
    by_name = {entry["name"]: entry for entry in results if "error" not in entry}
    for jit in ("off", "on"):
        separable, full = by_name.get(f"dna_separable_baseline/jit_{jit}"), by_name.get(f"dna_full_baseline/jit_{jit}")
        if separable and full:
            report["comparisons"].append({
                "model": "dna_baseline", "what": "separable / full kernels (speed-up; >1 means separable is faster)",
                "candidate": separable["name"], "reference": full["name"],
                "train_steps_per_s": bench_common.ratio(separable, full, "train", "steps_per_s"),
                "inference_frames_per_s": bench_common.ratio(separable, full, "inference", "frames_per_s")})
    return bench_common.finish(report)


if __name__ == "__main__":
    app.run(main)
