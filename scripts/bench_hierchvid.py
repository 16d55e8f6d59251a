"""Speed of hierchvid's two training steps and inferences, as JSON (see ``bench_common`` for the method).

    python scripts/bench_hierchvid.py --jit_compile off             # lstm batches 2,8,256 + imggen 2,8
    python scripts/bench_hierchvid.py --parts lstm --lstm_batches 2 --output bench_hierchvid.json

The same work as the original's ``shared/originals/hierchvid/bench_original.py`` (its docstring), at the README
Penn Action defaults:

* lstm (``DET_LSTM``: input 26 = 13 joints x 2, one layer of 1024 units, seen 10, fut 32, keep_prob 1, lr 1e-3):
  train (the original's ``sess.run(model.optimizer)``) = one trainer step of ``PoseLSTMTask``: the forward over
  the 42 steps, the masked MSE of the future steps, clip_by_global_norm 25, TF1 RMSProp; infer (the test-mode
  ``DET_LSTM`` of ``test_det_rnn_penn.py --steps=64``, fetching ``model.output``) = the same network called on
  the ``seen`` observed steps with ``fut_step`` 64, the output ``[B, seen + 64, 26]`` on the host;
* imggen (``IMGGEN`` Penn: image 128, layer 3, alpha = beta = gamma = 1, lr 1e-4, 48 joint channels) with the
  frozen AlexNet and stacked hourglass at their real sizes, random weights of the real files' shapes (the
  values do not change the speed): train (``train_penn.py``'s ``sess.run([g_optim, g_sum])`` then
  ``sess.run([d_optim, d_sum])``) = one trainer step of ``ImggenTask`` with updateG and updateD both on: the
  generator's Adam step on ``L + gamma g_loss``, then the discriminator's Adam step on ``d_loss`` through the
  updated generator. The losses ``train_penn.py`` re-evaluates after both updates to set its sticky flags are
  not part of the original's timed step, so they are left out here too (``post_update_losses`` off, flags held
  on); infer (``IMGGEN(is_train=False)`` fetching ``model.G``) = the generator's forward only;
* inputs: synthetic, as the original's: ``seq`` uniform in [-1, 1], ``mask`` = uniform > 0.1; images uniform in
  [-1, 1], pose maps uniform in [0, 1].

As the original, an imggen batch after the first is skipped when the previous one's training step took at
least ``--imggen_skip_after_s`` (listed under ``skipped``). The original falls back to 64x64 images when its
second imggen step takes over 60 s (its result then says ``reduced``): run this with ``--image_size 64`` then.

Each result has ``like_original``: the numbers under the original's result keys (``train`` / ``infer`` with
``median_s``, ``min_s``, ``first_s``; ``trainable_params``), so that ratios against its JSON are direct. Here
``median_s`` is the median over ``--repeats`` of the mean of ``--steps`` steps and ``first_s`` the first warm-up
step (tracing included). The width flags shrink the models for tests.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
from absl import app, flags

from vidpred_tf.quiet import import_tensorflow_quietly

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench_common  # noqa: E402

PARTS = ("lstm", "imggen")
# The original's model strings, to match its results.
MODEL_NAMES = {"lstm": "DET_LSTM (pose LSTM)", "imggen": "IMGGEN (image analogy generator + D)"}
LSTM_DEFAULTS = dict(lm_size=13, learning_rate=1e-3, keep_prob=1.0)
IMGGEN_DEFAULTS = dict(layer=3, alpha=1.0, beta=1.0, gamma=1.0, lr=1e-4, n_joints=48)

flags.DEFINE_list("parts", list(PARTS), f"What to benchmark: {', '.join(PARTS)}.")
flags.DEFINE_list("lstm_batches", ["2", "8", "256"], "Batch sizes of the pose LSTM.")
flags.DEFINE_list("imggen_batches", ["2", "8"], "Batch sizes of the image generator.")
flags.DEFINE_integer("lstm_units", 1024, "Units of each LSTM layer.")
flags.DEFINE_integer("lstm_layers", 1, "LSTM layers.")
flags.DEFINE_integer("seen_step", 10, "Observed steps of the pose LSTM.")
flags.DEFINE_integer("fut_step", 32, "Future steps of a training sequence.")
flags.DEFINE_integer("test_fut_step", 64, "Future steps predicted at inference (test_det_rnn_penn.py --steps).")
flags.DEFINE_integer("image_size", 128, "Image size of the generator (a multiple of 16).")
flags.DEFINE_integer("gf_dim", 64, "Generator width (hard-coded 64 in the original).")
flags.DEFINE_integer("df_dim", 64, "Discriminator width (hard-coded 64 in the original).")
flags.DEFINE_list("alexnet_widths", ["96", "256", "384", "384", "256"], "Output widths of AlexNet conv1..conv5 "
                  "(even: conv2, conv4 and conv5 are 2-group convolutions).")
flags.DEFINE_list("hourglass_widths", ["64", "128", "256", "512"], "Real widths of the hourglass's nominal "
                  "64, 128, 256 and 512 channels.")
flags.DEFINE_float("imggen_skip_after_s", 5.0, "Skip the next imggen batch when the previous one's median training "
                   "step took at least this long (the original's rule); 0: never skip.")

FLAGS = flags.FLAGS


# --------------------------------------------------------------------------------------------------- flags

def _positive_ints(name: str, values, even: bool = False, minimum: int = 1) -> list:
    numbers = []
    for text in values:
        try:
            number = int(text)
        except ValueError:
            raise app.UsageError(f"--{name}={','.join(values)}: {text!r} is not an integer") from None
        if number < minimum or (even and number % 2):
            kind = "positive even integers" if even else f"integers >= {minimum}"
            raise app.UsageError(f"--{name}={','.join(values)}: {number} is wrong; give {kind}")
        numbers.append(number)
    if not numbers:
        raise app.UsageError(f"--{name} is empty")
    return numbers


def _settings() -> dict:
    """The flags checked and parsed (UsageError naming the flag); nothing heavy is imported yet."""
    unknown = [part for part in FLAGS.parts if part not in PARTS]
    if unknown or not FLAGS.parts:
        raise app.UsageError(f"--parts: unknown part {unknown[0] if unknown else ''!r}; choose from "
                             f"{', '.join(PARTS)}")
    for name in ("lstm_units", "lstm_layers", "seen_step", "fut_step", "test_fut_step", "gf_dim", "df_dim"):
        if getattr(FLAGS, name) <= 0:
            raise app.UsageError(f"--{name}={getattr(FLAGS, name)} must be positive")
    if FLAGS.image_size <= 0 or FLAGS.image_size % 16:
        raise app.UsageError(f"--image_size={FLAGS.image_size} must be a positive multiple of 16 (three 2x2 "
                             f"poolings in the generator, four stride-2 convolutions in the discriminator)")
    if FLAGS.imggen_skip_after_s < 0:
        raise app.UsageError(f"--imggen_skip_after_s={FLAGS.imggen_skip_after_s} must be >= 0")
    alexnet_widths = _positive_ints("alexnet_widths", FLAGS.alexnet_widths, even=True)
    if len(alexnet_widths) != 5:
        raise app.UsageError(f"--alexnet_widths={','.join(FLAGS.alexnet_widths)}: give 5 widths (conv1..conv5)")
    hourglass_widths = _positive_ints("hourglass_widths", FLAGS.hourglass_widths, minimum=2)
    if len(hourglass_widths) != 4:
        raise app.UsageError(f"--hourglass_widths={','.join(FLAGS.hourglass_widths)}: give 4 widths (for the "
                             f"nominal 64, 128, 256, 512)")
    return {"parts": list(FLAGS.parts),
            "lstm_batches": _positive_ints("lstm_batches", FLAGS.lstm_batches),
            "imggen_batches": _positive_ints("imggen_batches", FLAGS.imggen_batches),
            "lstm_units": FLAGS.lstm_units, "lstm_layers": FLAGS.lstm_layers, "seen_step": FLAGS.seen_step,
            "fut_step": FLAGS.fut_step, "test_fut_step": FLAGS.test_fut_step, "image_size": FLAGS.image_size,
            "gf_dim": FLAGS.gf_dim, "df_dim": FLAGS.df_dim, "alexnet_widths": alexnet_widths,
            "hourglass_widths": hourglass_widths, "imggen_skip_after_s": FLAGS.imggen_skip_after_s}


# ---------------------------------------------------------------------------------------------------- lstm

def lstm_task_class(lstm_task):
    """PoseLSTMTask whose ``predict`` is the original's test graph: ``fut_step`` = the test horizon."""

    class PoseLSTMTestHorizon(lstm_task.PoseLSTMTask):
        def __init__(self, config, learning_rate: float, test_fut_step: int):
            super().__init__(config, learning_rate)
            self.test_fut_step = int(test_fut_step)

        def predict(self, model, batch, seed=None):
            seen = self.config.seen_step
            inputs = {lstm_task.SEQ: batch[lstm_task.SEQ][:, :seen], lstm_task.MASK: batch[lstm_task.MASK][:, :seen]}
            return model(inputs, fut_step=self.test_fut_step, seed=seed)

    return PoseLSTMTestHorizon


def _lstm_variants(settings: dict, batch: int) -> list:
    from vidpred_tf.models.hierchvid import lstm_task  # noqa: PLC0415
    from vidpred_tf.models.hierchvid.pose_lstm import PoseLSTMConfig, parameter_count  # noqa: PLC0415

    config = PoseLSTMConfig(lm_size=LSTM_DEFAULTS["lm_size"], num_layer=settings["lstm_layers"],
                            lstm_units=settings["lstm_units"], seen_step=settings["seen_step"],
                            fut_step=settings["fut_step"], keep_prob=LSTM_DEFAULTS["keep_prob"])
    rng = np.random.RandomState(FLAGS.seed)
    steps = config.seq_len
    arrays = {lstm_task.SEQ: rng.uniform(-1, 1, size=(batch, steps, config.input_size)).astype(np.float32),
              lstm_task.MASK: (rng.uniform(size=(batch, steps, config.lm_size)) > 0.1).astype(np.float32)}
    describe = {"model": MODEL_NAMES["lstm"], "part": "lstm", "batch": batch, "input_size": config.input_size,
                "layers": [config.lstm_units] * config.num_layer, "seen_step": config.seen_step,
                "fut_step": config.fut_step, "infer_fut_steps": settings["test_fut_step"],
                "keep_prob": config.keep_prob, "learning_rate": LSTM_DEFAULTS["learning_rate"],
                "clip_global_norm": lstm_task.CLIP_NORM, "optimizer": "TF1RMSProp",
                "inference_output": f"[B, seen + {settings['test_fut_step']}, {config.input_size}] pose steps"}
    task_class = lstm_task_class(lstm_task)

    def make_task():
        return task_class(config, LSTM_DEFAULTS["learning_rate"], settings["test_fut_step"])

    return [bench_common.Variant(
        name=f"lstm_b{batch}/jit_{'on' if jit else 'off'}", make_task=make_task, global_batch_size=batch,
        jit_compile=jit, images=None, describe=describe, batch_arrays=arrays,
        parameter_count=parameter_count) for jit in bench_common.jit_settings(FLAGS.jit_compile)], {}


# -------------------------------------------------------------------------------------------------- imggen

def fake_perceptual_weights(alexnet_widths, hourglass_widths, seed: int):
    """Random AlexNet ``{convK: (W HWIO, b)}`` and the 414 hourglass arrays (HWIO) of the given widths, scaled as
    trained weights roughly are (He-normal kernels) so that every loss stays finite."""
    from vidpred_tf.models.hierchvid.alexnet import alexnet_weight_shapes  # noqa: PLC0415
    from vidpred_tf.models.hierchvid.hourglass import hourglass_param_shapes  # noqa: PLC0415

    rng = np.random.RandomState(seed)

    def kernel(shape):
        return (rng.standard_normal(shape) * math.sqrt(2.0 / math.prod(shape[:3]))).astype(np.float32)

    alexnet = {name: (kernel(w_shape), (0.1 * rng.standard_normal(b_shape)).astype(np.float32))
               for name, (w_shape, b_shape) in alexnet_weight_shapes(tuple(alexnet_widths)).items()}
    nominal = dict(zip((64, 128, 256, 512), hourglass_widths))
    hourglass = []
    for kind, shape in hourglass_param_shapes(nominal):
        if kind == "conv_w":
            hourglass.append(kernel(shape))
        elif kind == "bn_unused":
            hourglass.append((1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32))
        else:
            hourglass.append((0.05 * rng.standard_normal(shape)).astype(np.float32))
    return alexnet, hourglass


def imggen_task_class(imggen_task, task_module):
    """ImggenTask as the original's timed step: no loss re-evaluation after the updates, both flags kept on."""

    class BothUpdatesEveryStep(imggen_task.ImggenTask):
        # The trainer runs post_update_losses only when a task overrides Task's (which returns nothing).
        post_update_losses = task_module.Task.post_update_losses

        def on_step_end(self, step, losses):
            del step, losses  # updateD and updateG stay True

    return BothUpdatesEveryStep


def _imggen_variants(settings: dict, batch: int, perceptual) -> tuple:
    from vidpred_tf.models.hierchvid import imggen_task  # noqa: PLC0415
    from vidpred_tf.models.hierchvid.config import ImggenConfig  # noqa: PLC0415
    from vidpred_tf.training import task as task_module  # noqa: PLC0415

    config = ImggenConfig.for_dataset("penn", image_size=settings["image_size"], batch_size=batch,
                                      gf_dim=settings["gf_dim"], df_dim=settings["df_dim"],
                                      **IMGGEN_DEFAULTS)
    size, joints = config.image_size, config.n_joints
    rng = np.random.RandomState(FLAGS.seed)
    arrays = {"xt": rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32),
              "xtpn": rng.uniform(-1, 1, (batch, size, size, 3)).astype(np.float32),
              "pt": rng.uniform(0, 1, (batch, size, size, joints)).astype(np.float32),
              "ptpn": rng.uniform(0, 1, (batch, size, size, joints)).astype(np.float32)}
    # The trainer's batch check wants the contract's images; the readers add the same ones.
    arrays["images"] = ((np.stack([arrays["xt"], arrays["xtpn"]], 1) + 1) / 2).astype(np.float32)
    alexnet_weights, hourglass_params = perceptual
    describe = {"model": MODEL_NAMES["imggen"], "part": "imggen", "batch": batch, "image_size": size,
                "layer": config.layer, "alpha": config.alpha, "beta": config.beta, "gamma": config.gamma,
                "lr": config.lr, "n_joints": joints, "gf_dim": config.gf_dim, "df_dim": config.df_dim,
                "alexnet_widths": settings["alexnet_widths"], "hourglass_widths": settings["hourglass_widths"],
                "train_step": "g step (Adam on L + gamma g_loss over GEN) then d step (Adam on d_loss over DIS); "
                              "updateG = updateD = True; no post-update loss re-evaluation",
                "inference": "generator forward (is_train False): x_hat for xt, pt, ptpn",
                "jit_note": "the staged G/D training step runs uncompiled; jit_compile changes the inference only"}
    task_class = imggen_task_class(imggen_task, task_module)
    counts: dict = {}

    def make_task():
        return task_class(config, alexnet_weights, hourglass_params)

    def counter(name):
        def count(model) -> int:
            generator, discriminator = model.generator.param_count(), model.discriminator.param_count()
            counts[name] = {
                "trainable_params": {"generator": generator, "discriminator": discriminator,
                                     "test_graph": generator},
                "frozen_params": {"alexnet": int(sum(math.prod(v.shape) for v in model.alexnet.weights)),
                                  "hourglass": int(sum(math.prod(v.shape) for v in model.hourglass.weights))}}
            return generator + discriminator
        return count

    variants = []
    for jit in bench_common.jit_settings(FLAGS.jit_compile):
        name = f"imggen_b{batch}/jit_{'on' if jit else 'off'}"
        variants.append(bench_common.Variant(
            name=name, make_task=make_task, global_batch_size=batch, jit_compile=jit, images=arrays["images"],
            describe=describe, batch_arrays=arrays, parameter_count=counter(name)))
    return variants, counts


# ---------------------------------------------------------------------------------------------------- report

def like_original(entry: dict) -> dict:
    """The entry's numbers under the original's result keys."""
    summary = {"part": entry.get("part"), "batch": entry.get("batch"), "jit_compile": entry["jit_compile"]}
    train, inference = entry.get("train"), entry.get("inference")
    if train:
        summary["train"] = {"median_s": train["median_step_s"], "min_s": train["min_step_s"],
                            "first_s": train["first_step_s"]}
    if inference:
        summary["infer"] = {"median_s": inference["median_call_s"], "min_s": inference["min_call_s"],
                            "first_s": inference["first_call_s"]}
    if "trainable_params" in entry:
        summary["trainable_params"] = entry["trainable_params"]
    return summary


def _finish_entries(results: list, counts: dict) -> None:
    for entry in results:
        if entry.get("part") == "lstm" and "parameters" in entry:
            entry["trainable_params"] = entry["parameters"]
        entry.update(counts.get(entry["name"], {}))
        if "error" not in entry:
            entry["like_original"] = like_original(entry)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        bench_common.check_output_path(FLAGS.output)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    settings = _settings()
    import_tensorflow_quietly()  # TensorFlow loads once the flags have parsed

    strategy = bench_common.make_strategy_from_flags()
    report = {
        "benchmark": "hierchvid",
        "what": "hierchvid (Villegas et al. 2017) pose LSTM and image generator at the README Penn Action defaults, "
                "synthetic inputs, random perceptual weights of the real shapes",
        "reference": "shared/originals/hierchvid/bench_original.py",
        "settings": {**bench_common.settings_from_flags(), **settings},
        "environment": bench_common.environment_facts(strategy),
        "results": [],
        "comparisons": [],
        "skipped": [],
    }

    def run(variants, counts):
        results = bench_common.run_group(variants, strategy, steps=FLAGS.steps, warmup=FLAGS.warmup,
                                         repeats=FLAGS.repeats, seed=FLAGS.seed, inference=FLAGS.inference)
        _finish_entries(results, counts)
        report["results"].extend(results)
        comparison = bench_common.jit_comparison(results)
        if comparison is not None:
            report["comparisons"].append({"model": variants[0].name.split("/")[0], **comparison})
        return results

    if "lstm" in settings["parts"]:
        for batch in settings["lstm_batches"]:
            run(*_lstm_variants(settings, batch))
    if "imggen" in settings["parts"]:
        perceptual = fake_perceptual_weights(settings["alexnet_widths"], settings["hourglass_widths"], FLAGS.seed)
        previous = None
        for batch in settings["imggen_batches"]:
            if previous is not None and settings["imggen_skip_after_s"]:
                step_s = previous[0].get("train", {}).get("median_step_s")
                if step_s is None or step_s >= settings["imggen_skip_after_s"]:
                    reason = (f"the batch-{previous[0]['batch']} training step took "
                              f"{'?' if step_s is None else f'{step_s:.2f}'} s >= {settings['imggen_skip_after_s']} s")
                    report["skipped"].append({"part": "imggen", "batch": batch, "reason": reason})
                    sys.stderr.write(f"skip imggen batch {batch}: {reason}\n")
                    continue
            previous = run(*_imggen_variants(settings, batch, perceptual))
    return bench_common.finish(report)


if __name__ == "__main__":
    app.run(main)
