"""Golden check of the E3D-LSTM port (``python -m vidpred_tf.golden e3d shared/golden/e3d``).

Two kinds of case directory, found by their files whatever the folder is called (``LAYOUTS``):

* model cases (a folder holding ``golden.npz`` + ``config.json`` + a TF1 checkpoint ``<prefix>.index`` /
  ``<prefix>.data-*``; the model name and config are read from ``config.json``): the variables the
  checkpoint FILE lists (``tf.train.list_variables``, less the original's optimiser / EMA entries) must be
  the model's, names and shapes, and it is loaded through the converter (1:1, strict); the recorded patched
  inputs and sampling mask are fed, and ``gen_all``,
  ``out_ims``, the three logged losses (with the mask and with the zero mask), ``out_ims_zero_flag_image_space``
  and the gradients of the un-normalised loss (``grad_raw/*``, or ``grad_raw_first16/*`` + ``grad_raw_sum/*``
  for big variables) are compared; memory-conv kernels must get exactly zero gradient; one clean Adam step
  (t = 1, from zero slots) of the trainer's ``AdamEpsInsideSqrt`` must equal ``w - lr * g / sqrt(g^2 + 1e-8)``
  computed in NumPy. The original's own
  post-step weights come from a racy update and are only reported (agreement fraction).
* the misc case (a folder holding ``misc_golden.npz`` and the fake data / recorded files beside it): both
  readers, patch reshaping, scheduled sampling, the SSIM / PSNR helpers and the evaluation protocol (printed
  numbers, written files and their pixels).

Tolerances (spec e3d.md §9 and the case README): outputs 1e-4 abs, losses 1e-4 rel, gradients 1e-4 relative
to the variable's max |grad|.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import tempfile
from typing import List

import cv2
import keras
import numpy as np
import tensorflow as tf
from skimage.metrics import structural_similarity

from vidpred_tf.convert import e3d as converter
from vidpred_tf.convert.tf1 import DEFAULT_SKIP, CheckpointMismatchError
from vidpred_tf.data.kth.e3d_frames import KthHandle, load_kth_split
from vidpred_tf.data.moving_mnist.e3d_npz import MnistNpzHandle
from vidpred_tf.golden.common import GoldenCase, Layout, find_layout_cases
from vidpred_tf.models.e3d.config import E3DConfig
from vidpred_tf.models.e3d.losses import e3d_losses, logged_losses
from vidpred_tf.models.e3d.model import build_model, output_frames
from vidpred_tf.models.e3d.preprocess import reshape_patch, reshape_patch_back
from vidpred_tf.models.e3d.sampling import SCHEDULE_FLAGS, SamplingConfig, schedule_sampling
from vidpred_tf.papers.e3d.evaluation import SSIM_DATA_RANGE, batch_psnr, evaluate
from vidpred_tf.training.optimizers import AdamEpsInsideSqrt

GRADIENT_TOL = 1e-4
ADAM_TOL = 1e-4  # relative to lr, plus float32 rounding of the weight
MEMORY_KERNEL = re.compile(r"conv[23]d_2/kernel$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b")


CHECKPOINT_INDEX, CHECKPOINT_DATA = "*.index", "*.data-*"
MODEL_LAYOUT = Layout("model", "golden.npz", companions=(
    ("config.json", "the case's config and variable list"), (CHECKPOINT_INDEX, "the TF1 checkpoint's index"),
    (CHECKPOINT_DATA, "the TF1 checkpoint's data")))
MISC_LAYOUT = Layout("misc", "misc_golden.npz", companions=(
    "fake_moving_mnist.npz", "fake_kth", "trainer_test_stdout.txt", "trainer_test_files.json", "test_out"))
LAYOUTS = (MODEL_LAYOUT, MISC_LAYOUT)


def find_cases(path) -> List[GoldenCase]:
    """The case folder ``path`` (or the case a file of it belongs to), else the case folders inside ``path``
    (sorted, model cases first); found by their files, whatever the folders are called. Incomplete cases are
    returned too (``missing`` set) and fail with a line naming the missing file."""
    return find_layout_cases(path, LAYOUTS)


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):  # a folder path given directly
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one e3d case folder (golden.npz + config.json + a TF1 "
                                          "checkpoint, or misc_golden.npz)")
            return
        case = found[0]
    if case.kind == "model":
        check_model_case(case, report)
    elif case.kind == "misc":
        check_misc_case(case.directory, report)
    else:
        report.failure("case layout", f"unknown e3d case kind {case.kind!r}")


# Model cases ------------------------------------------------------------------------------------------------

def _config_from_case(meta: dict):
    return E3DConfig(model_name=meta["model_name"], img_width=int(meta["img_width"]),
                     img_channel=int(meta["img_channel"]), patch_size=int(meta["patch_size"]),
                     input_length=int(meta["input_length"]), total_length=int(meta["total_length"]),
                     num_hidden=meta["num_hidden"], layer_norm=bool(meta.get("layer_norm", True)),
                     pretrained_model=str(meta.get("pretrained_model", "")))


def checkpoint_prefix(case: GoldenCase) -> str:
    """The TF1 checkpoint prefix of a model case (its ``<prefix>.index`` file without the suffix)."""
    index = case.file(CHECKPOINT_INDEX)
    return str(index.with_name(index.name[: -len(".index")]))


def checkpoint_file_variables(prefix: str, model_variables: dict):
    """Compare what the checkpoint FILE holds (``tf.train.list_variables``) with the model's variables.

    The original's own Saver also writes optimiser slots, step counters and EMA shadows (the converter's
    ``DEFAULT_SKIP``); those are counted apart. Every other entry must be a model variable of the same shape
    and every model variable must be there. Returns ``(passed, detail)``."""
    skip = [re.compile(p) for p in DEFAULT_SKIP]
    in_file = dict((name, tuple(shape)) for name, shape in tf.train.list_variables(prefix))
    ignored = sorted(n for n in in_file if any(p.search(n) for p in skip))
    model = {name: tuple(v.shape) for name, v in model_variables.items()}
    read = {n: s for n, s in in_file.items() if n not in ignored}
    extra = sorted(set(read) - set(model))
    missing = sorted(set(model) - set(read))
    shapes = sorted(n for n in set(read) & set(model) if read[n] != model[n])
    problems = []
    if extra:
        problems.append(f"{len(extra)} in the file but not in the model: {extra[:3]}")
    if missing:
        problems.append(f"{len(missing)} of the model missing from the file: {missing[:3]}")
    if shapes:
        problems.append(f"{len(shapes)} with other shapes: " + ", ".join(
            f"{n} file {read[n]} model {model[n]}" for n in shapes[:3]))
    detail = (f"{len(read)} variables read from {pathlib.Path(prefix).name} vs {len(model)} in the model"
              f"{f', {len(ignored)} optimiser/EMA entries not compared' if ignored else ''}")
    if problems:
        detail += "; " + "; ".join(problems)
    return not problems, detail


def check_model_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.file("config.json").read_text())
    golden = np.load(case.file("golden.npz"))
    config = _config_from_case(meta)
    batch_size = int(meta["batch_size"])
    model = build_model(config)
    variables = model.original_variables()

    expected_vars = [(name, tuple(shape)) for name, shape in meta.get("model_variables", [])]
    ported_vars = [(name, tuple(v.shape)) for name, v in variables.items()]
    if expected_vars:
        report.condition("variables: names, shapes and creation order as the original", expected_vars == ported_vars,
                         f"{len(ported_vars)} variables, {model.parameter_count()} parameters")
    prefix = checkpoint_prefix(case)
    passed, detail = checkpoint_file_variables(prefix, variables)
    try:
        converter.load(model, prefix)
    except CheckpointMismatchError as err:
        report.failure("checkpoint file holds exactly the model's variables and loads 1:1 through the converter",
                       f"{detail}; converter: {err}")
        return
    report.condition("checkpoint file holds exactly the model's variables and loads 1:1 through the converter",
                     passed, detail)
    trainable = [name for name, v in variables.items() if v.trainable]
    if "trainable_model_variables" in meta:
        report.condition("trainable variables as the original", trainable == meta["trainable_model_variables"],
                         f"{len(trainable)} trainable")

    images = tf.constant(golden["ims_patched"])
    mask = tf.constant(golden["real_input_flag"])
    trainable_vars = [variables[name] for name in trainable]
    with tf.GradientTape() as tape:
        gen_all = model(images, mask, training=True)
        loss, l1, l2 = e3d_losses(gen_all, images, config)
    grads = tape.gradient(loss, trainable_vars)
    logged = logged_losses(loss, l1, l2, batch_size)

    report.output("gen_all", gen_all.numpy(), golden["gen_all"])
    report.output("out_ims", output_frames(gen_all, config).numpy(), golden["out_ims"])
    for key, value in logged.items():
        report.loss(key, float(value), float(golden[key]))
    if "train_step_returned_loss" in golden.files:
        report.loss("train_step_returned_loss", float(logged["loss_train"]), float(golden["train_step_returned_loss"]))

    # Test mode as evaluation runs it: no mask at all (always feed the prediction), against the original's
    # all-zero mask.
    gen_zero = model(images, None, training=False)
    zero_logged = logged_losses(*e3d_losses(gen_zero, images, config), batch_size)
    report.output("gen_all_zero_flag", gen_zero.numpy(), golden["gen_all_zero_flag"])
    out_zero = output_frames(gen_zero, config).numpy()
    report.output("out_ims_zero_flag", out_zero, golden["out_ims_zero_flag"])
    for key, value in zero_logged.items():
        report.loss(f"{key}_zero_flag", float(value), float(golden[f"{key}_zero_flag"]))
    report.output("out_ims_zero_flag_image_space", reshape_patch_back(out_zero, config.patch_size),
                  golden["out_ims_zero_flag_image_space"])

    grad_values = {name: g.numpy() for name, g in zip(trainable, grads)}
    _check_gradients(grad_values, golden, report)

    def after_step_loss(new_weights: dict) -> float:
        for name, value in new_weights.items():
            variables[name].assign(value.astype(np.float32))
        return float(logged_losses(*e3d_losses(model(images, mask, training=True), images, config),
                                   batch_size)["loss_train"])

    _check_adam(trainable, variables, grad_values, golden, float(meta.get("lr", 1e-3)), report, after_step_loss)


def _check_gradients(grad_values: dict, golden, report) -> None:
    recorded = {k.split("/", 1)[1] for k in golden.files if k.startswith(("grad_raw/", "grad_raw_sum/"))}
    report.condition("every trainable variable has a recorded gradient and vice versa",
                     recorded == set(grad_values),
                     f"missing in golden: {sorted(set(grad_values) - recorded)[:3]}, "
                     f"not in port: {sorted(recorded - set(grad_values))[:3]}" if recorded != set(grad_values) else
                     f"{len(recorded)} variables")
    for name, grad in grad_values.items():
        if f"grad_raw/{name}" in golden.files:
            expected = golden[f"grad_raw/{name}"]
            if MEMORY_KERNEL.search(name):
                report.condition(f"grad {name} is exactly zero (memory never updates)",
                                 not np.any(grad) and not np.any(expected))
            else:
                report.gradient(f"grad {name}", grad, expected, tol=GRADIENT_TOL)
        elif f"grad_raw_sum/{name}" in golden.files:
            first16 = golden[f"grad_raw_first16/{name}"]
            total = float(golden[f"grad_raw_sum/{name}"])
            if MEMORY_KERNEL.search(name):
                report.condition(f"grad {name} is exactly zero (memory never updates)",
                                 not np.any(grad) and not np.any(first16) and total == 0.0)
                continue
            flat = grad.reshape(-1)
            scale = float(np.max(np.abs(flat)))
            # Only 16 entries and the sum are recorded: errors are scaled by the port's max |grad| and by the
            # port's sum |grad| respectively.
            error16 = float(np.max(np.abs(flat[:16].astype(np.float64) - first16)))
            report.bound(f"grad {name} [first 16 of {flat.size}]", error16 / scale, GRADIENT_TOL,
                         detail=f"max abs {error16:.3e} / port max|grad| {scale:.3e}")
            port_sum = float(np.sum(flat, dtype=np.float64))
            mass = float(np.sum(np.abs(flat), dtype=np.float64))
            report.bound(f"grad {name} [sum of {flat.size}]", abs(port_sum - total) / mass, GRADIENT_TOL,
                         detail=f"sums {port_sum:.7g} vs {total:.7g}, / port sum|grad| {mass:.3e}")


def _check_adam(trainable: List[str], variables: dict, grad_values: dict, golden, lr: float, report,
                after_step_loss=None) -> None:
    weights = {name: variables[name].numpy() for name in trainable}
    reference = {name: (weights[name].astype(np.float64)
                        - lr * grad_values[name] / np.sqrt(np.square(grad_values[name].astype(np.float64)) + 1e-8))
                 for name in trainable}

    def compare(label: str, updated: dict):
        # The port updates float32 weights: allow one float32 spacing of the weight on top of 1e-4 * lr.
        worst_name, worst = None, -1.0
        for name in trainable:
            allowance = ADAM_TOL * lr + np.spacing(np.abs(weights[name]).astype(np.float32)).astype(np.float64)
            error = float(np.max(np.abs(updated[name].astype(np.float64) - reference[name]) / allowance))
            if error > worst:
                worst_name, worst = name, error
        report.bound(label, worst, 1.0, detail=f"max |w_port - w_ref| / (1e-4*lr + float32 spacing of w) over "
                                               f"{len(trainable)} variables, worst {worst_name}")

    copies = [keras.Variable(weights[name], name=name.replace("/", "__")) for name in trainable]
    optimizer = AdamEpsInsideSqrt(learning_rate=lr)
    optimizer.apply_gradients([(tf.constant(grad_values[name]), var) for name, var in zip(trainable, copies)])
    compare("adam step t=1 (training.optimizers.AdamEpsInsideSqrt) vs w - lr*g/sqrt(g^2+1e-8)",
            {name: var.numpy() for name, var in zip(trainable, copies)})

    # The original's own post-step results come from a racy update: agreement is informative only.
    if "loss_train_after_step" in golden.files and after_step_loss is not None:
        report.info("loss_train after one clean step (original's racy step: informational)",
                    f"port {after_step_loss(reference):.6g} vs original {float(golden['loss_train_after_step']):.6g}")
    agree, count = 0, 0
    for name in trainable:
        if f"post_step/{name}" in golden.files:
            close = np.isclose(reference[name], golden[f"post_step/{name}"], rtol=0.0, atol=0.01 * lr)
        elif f"post_step_first16/{name}" in golden.files:
            close = np.isclose(reference[name].reshape(-1)[:16], golden[f"post_step_first16/{name}"], rtol=0.0,
                               atol=0.01 * lr)
        else:
            continue
        agree += int(np.sum(close))
        count += close.size
    if count:
        report.info("original post-step weights (racy update)",
                    f"{100.0 * agree / count:.2f}% of {count} recorded elements equal the clean step within 0.01*lr")


# Misc case --------------------------------------------------------------------------------------------------

# The run.py flags of a recorded schedule (``ss_argv``): the mask geometry is E3DConfig's, the rest SamplingConfig's.
_GEOMETRY_FLAGS = ("total_length", "input_length", "img_width", "patch_size", "img_channel")


def _sampling_config_from_argv(argv) -> SamplingConfig:
    """The ``SamplingConfig`` of the recorded run.py flags ``--name=value``: geometry, batch size and schedule."""
    defaults = {f.name: f.default for f in dataclasses.fields(SamplingConfig)}
    geometry, schedule, batch_size = {}, {}, None
    for item in argv:
        key, _, value = str(item).lstrip("-").partition("=")
        if key in _GEOMETRY_FLAGS:
            geometry[key] = int(value)
        elif key == "batch_size":
            batch_size = int(value)
        elif key in SCHEDULE_FLAGS:
            default = defaults[key]
            if isinstance(default, bool):
                schedule[key] = value.lower() in ("true", "1")
            elif isinstance(default, int):
                schedule[key] = int(value)
            else:
                schedule[key] = float(value)
        else:
            raise ValueError(f"ss_argv: unknown flag {key!r}")
    if batch_size is None:
        raise ValueError("ss_argv: no --batch_size")
    return SamplingConfig(E3DConfig(**geometry), batch_size, **schedule)


def _number(line: str):
    text = line.rsplit(":", 1)[-1].strip() if ":" in line else line.strip()
    return line[: len(line) - len(text)].strip(), float(text)


def check_misc_case(case: pathlib.Path, report) -> None:
    golden = np.load(case / "misc_golden.npz")

    patch_size = int(golden["patch_size"])
    report.exact("reshape_patch(patch_in)", reshape_patch(golden["patch_in"], patch_size), golden["patch_out"])
    report.exact("reshape_patch_back(patch_out)", reshape_patch_back(golden["patch_out"], patch_size),
                 golden["patch_in"])

    sampling = _sampling_config_from_argv(golden["ss_argv"])
    saved_state = np.random.get_state()
    np.random.seed(0)
    eta, etas, masks = sampling.sampling_start_value, [], []
    for itr in range(1, len(golden["ss_etas"]) + 1):
        eta, mask = schedule_sampling(eta, itr, sampling)
        etas.append(eta)
        masks.append(mask)
    np.random.set_state(saved_state)
    report.output("ss_etas", np.array(etas), golden["ss_etas"], tol=1e-12)
    report.exact("ss_flags", np.stack(masks).astype(np.float32), golden["ss_flags"])

    mnist_path = case / "fake_moving_mnist.npz"
    batches = list(MnistNpzHandle(str(mnist_path), 2).batches(do_shuffle=False))
    report.exact("mnist_batches_noshuffle", np.stack(batches), golden["mnist_batches_noshuffle"])

    kth_root = case / "fake_kth"
    seq_length = int(golden["kth_test_batches_noshuffle"].shape[2])
    width = int(golden["kth_test_data"].shape[1])
    for split in ("train", "test"):
        data, indices = load_kth_split(str(kth_root), split, width, seq_length)
        report.exact(f"kth_{split}_indices", np.array(indices), golden[f"kth_{split}_indices"])
        report.output(f"kth_{split}_data", data.astype(np.float32), golden[f"kth_{split}_data"], tol=1e-6)
        if split == "test":
            kth_batches = np.stack(list(KthHandle(data, indices, 2, seq_length).batches(do_shuffle=False)))
            report.output("kth_test_batches_noshuffle", kth_batches, golden["kth_test_batches_noshuffle"], tol=1e-6)

    a, b = golden["metric_a"], golden["metric_b"]
    report.loss("metric_ssim_float_b0", structural_similarity(a[0], b[0], data_range=SSIM_DATA_RANGE, channel_axis=-1),
                float(golden["metric_ssim_float_b0"]))
    report.loss("metric_batch_psnr_uint8", batch_psnr(np.uint8(b * 255), np.uint8(a * 255)),
                float(golden["metric_batch_psnr_uint8"]))

    _check_evaluation(case, golden, report, MnistNpzHandle, evaluate, cv2)


def _check_evaluation(case, golden, report, handle_cls, evaluate, cv2) -> None:
    predictions = iter(golden["test_fake_preds_patched"])
    expected_lines = [line for line in (case / "trainer_test_stdout.txt").read_text().splitlines()
                      if line.strip() and not _TIMESTAMP.match(line)]
    expected_files = json.loads((case / "trainer_test_files.json").read_text())
    output_length = int(golden["test_fake_preds_patched"].shape[2])
    patch_size = int(round((golden["test_fake_preds_patched"].shape[-1]
                            / golden["mnist_batches_noshuffle"].shape[-1]) ** 0.5))
    total_length = int(golden["mnist_batches_noshuffle"].shape[2])
    with tempfile.TemporaryDirectory() as out_dir:
        result = evaluate(lambda patched: next(predictions), handle_cls(str(case / "fake_moving_mnist.npz"), 2),
                          input_length=total_length - output_length, total_length=total_length,
                          patch_size=patch_size, batch_size=2, num_towers=1, gen_frm_dir=out_dir,
                          save_name="test_result", num_save_samples=2, print_fn=None)
        lines = [line for line in result.lines if not _TIMESTAMP.match(line)]
        report.condition("evaluation prints the original's lines", len(lines) == len(expected_lines) and all(
            _number(x)[0] == _number(y)[0] for x, y in zip(lines, expected_lines)),
            f"{len(lines)} lines vs {len(expected_lines)}")
        if len(lines) == len(expected_lines):
            section = "mse"
            for index, (ours, theirs) in enumerate(zip(lines, expected_lines)):
                label, value = _number(ours)
                section = label.split()[0] if label else section
                report.loss(f"stdout line {index + 1} ({label or section + ' frame'})", value, _number(theirs)[1])
        written = sorted(str(p.relative_to(out_dir)) for p in pathlib.Path(out_dir).rglob("*.png"))
        report.exact("evaluation writes the original's files", np.array(written), np.array(sorted(expected_files)))
        worst = 0
        for relative in expected_files:
            ours = cv2.imread(os.path.join(out_dir, relative), cv2.IMREAD_UNCHANGED)
            theirs = cv2.imread(str(case / "test_out" / relative), cv2.IMREAD_UNCHANGED)
            if ours is None or theirs is None or ours.shape != theirs.shape:
                worst = 256
                break
            worst = max(worst, int(np.max(np.abs(ours.astype(np.int32) - theirs.astype(np.int32)))))
        report.condition("evaluation PNG pixels equal the original's", worst == 0,
                         f"max pixel difference {worst} over {len(expected_files)} files")
