"""Golden check of the hierchvid image generator, discriminator, losses and GAN step (``IMGGEN``), part of
``python -m vidpred_tf.golden hierchvid PATH``.

Cases are found by what their files hold, whatever they are called (``LAYOUTS``, ``find_cases``), in PATH and every
folder below it:

* numeric cases: an ``*.npz`` holding ``xt``, ``xtpn``, ``pt``, ``ptpn`` and ``fwd/*``, with in the same folder a
  ``*.json`` giving the config (``image_size``, ``bs``, ``n_joints``, ``layer``, ``alpha``, ``beta``, ``gamma``,
  ``lr``, ``gf``, ``df``; the npz's namesake when there is one, else the only such json), a perceptual-weights
  ``*.npz`` (``hourglass_weights_<i>`` + ``alexnet_<convK>_W/_b``) and a TF1 checkpoint holding
  ``GEN/enc_iconv1_1/w`` (the json's ``checkpoint`` entry, else the only one in the folder or a sub-folder).
  The checkpoint is loaded by original names (``GEN/*``, ``DIS/*`` with the moving statistics) through
  ``vidpred_tf.convert.hierchvid``; its ``Variable_N`` copies of the perceptual networks (two AlexNets, then two
  hourglasses, in the original's creation order) are compared with the perceptual npz, which is what the port
  uses. Then: ``fwd/*`` (G, the three logits, the eleven losses); one step of the task's generator Adam
  (``after_g_step/<loss>``); one step of its discriminator Adam (``after_g_then_d_step/{G,<loss>}``) and every
  ``weights_after_steps/<var>``; the Keras 3 Adam step against the TF1 AdamOptimizer rule; the same iteration
  through the one shared trainer (``ImggenTask`` + ``Trainer``: weights, post-update losses, flags); ``test/G``
  from the test graph (generator only, batch 1).
* inventories: a ``*.json`` whose entries hold ``g_vars`` with ``GEN/enc_iconv1_1/w`` (train graphs: ``g_vars``,
  ``dis_vars``, the GEN/DIS globals; test graphs: ``trainable_variables``): names, shapes, order and totals.

Tolerances: outputs and logits ``max |port - golden| <= 1e-4 max |golden|``; losses 1e-4 relative; weights after
the steps 1e-3 relative to their max (``GRADIENT_TOL``).
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import sys
import tempfile
from typing import Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import checkpoint_reader, read_tensor
from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.convert.hierchvid_perceptual import load_alexnet_weights, load_hourglass_weights
from vidpred_tf.golden.common import EPS32, GRADIENT_TOL, GoldenCase, Layout, run_cases
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.gan_schedule import StickyGanSchedule
from vidpred_tf.models.hierchvid.imggen import ImageAnalogyGenerator, ImggenModel, as_g
from vidpred_tf.models.hierchvid.imggen_losses import LOSS_NAMES
from vidpred_tf.models.hierchvid.imggen_task import (
    ADAM_BETA2,
    ADAM_EPSILON,
    AFTER_KEYS,
    AFTER_PREFIX,
    BATCH_KEYS,
    ImggenTask,
)
from vidpred_tf.training.trainer import Trainer, TrainerConfig

CONFIG_JSON = "the case's config json (image_size, bs, n_joints, layer, alpha, beta, gamma, lr, gf, df)"
PERCEPTUAL = "perceptual weights npz (hourglass_weights_<i>, alexnet_<convK>_W/_b)"
CHECKPOINT = "the TF1 checkpoint of IMGGEN (GEN/*, DIS/*), beside the json or in a sub-folder"
IMGGEN_LAYOUT = Layout("imggen", "*.npz", companions=(("*.json", CONFIG_JSON), ("*.npz", PERCEPTUAL),
                                                      ("*.index", CHECKPOINT)))
INVENTORY_LAYOUT = Layout("imggen_inventory", "*.json")
LAYOUTS = [IMGGEN_LAYOUT, INVENTORY_LAYOUT]
RELATIVE_TOL = 1e-4
LOSS_TOL = 1e-4
ADAM_TOL = 1e-5
GEN_ANCHOR = "GEN/enc_iconv1_1/w"
CONFIG_KEYS = ("image_size", "bs", "n_joints", "layer", "alpha", "beta", "gamma", "lr", "gf", "df")
ALEXNET_ARRAYS, HOURGLASS_ARRAYS = 10, 414


# Finding cases ----------------------------------------------------------------------------------------------------

def _npz_keys(path: pathlib.Path) -> frozenset:
    try:
        with np.load(path) as data:
            return frozenset(data.files)
    except (OSError, ValueError):
        return frozenset()


def _read_json(path: pathlib.Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_imggen_io(keys) -> bool:
    return set(BATCH_KEYS) <= set(keys) and any(k.startswith("fwd/") for k in keys)


def is_perceptual_weights(keys) -> bool:
    return "hourglass_weights_1" in keys and "alexnet_conv1_W" in keys


def is_imggen_config(data) -> bool:
    return isinstance(data, dict) and all(k in data for k in CONFIG_KEYS)


def is_imggen_inventory(data) -> bool:
    def holds_gen(entry):
        variables = entry.get("g_vars") or entry.get("trainable_variables") or []
        return any(isinstance(v, dict) and str(v.get("name", "")).startswith(GEN_ANCHOR) for v in variables)

    return isinstance(data, dict) and any(isinstance(v, dict) and holds_gen(v) and "G_shape" in v
                                          for v in data.values())


def _imggen_checkpoints(folder: pathlib.Path) -> List[pathlib.Path]:
    found = []
    for index in sorted(folder.glob("*.index")) + sorted(folder.glob("*/*.index")):
        try:
            _, shapes = checkpoint_reader(str(index)[: -len(".index")])
        except (ValueError, OSError):
            continue
        if GEN_ANCHOR in shapes:
            found.append(index)
    return found


def _numeric_case(io_path: pathlib.Path, folder: pathlib.Path) -> GoldenCase:
    files = {IMGGEN_LAYOUT.anchor: io_path}
    missing = []
    namesake = io_path.with_suffix(".json")
    configs = [p for p in sorted(folder.glob("*.json")) if is_imggen_config(_read_json(p))]
    config_path = namesake if namesake in configs else (configs[0] if len(configs) == 1 else None)
    if config_path is None:
        missing.append(f"one {CONFIG_JSON} in {folder} (found {len(configs)})")
    else:
        files["*.json"] = config_path
    weights = [p for p in sorted(folder.glob("*.npz")) if is_perceptual_weights(_npz_keys(p))]
    if len(weights) == 1:
        files["*.npz"] = weights[0]
    else:
        missing.append(f"one {PERCEPTUAL} in {folder} (found {len(weights)})")
    named = (_read_json(config_path) or {}).get("checkpoint") if config_path is not None else None
    named_index = folder / f"{named}.index" if isinstance(named, str) else None
    if named_index is not None and named_index.is_file():
        files["*.index"] = named_index
    else:
        checkpoints = _imggen_checkpoints(folder)
        if len(checkpoints) == 1:
            files["*.index"] = checkpoints[0]
        else:
            missing.append(f"one {CHECKPOINT} holding {GEN_ANCHOR} (found {len(checkpoints)})")
    return GoldenCase(io_path.stem, IMGGEN_LAYOUT.kind, folder, io_path, files, tuple(missing))


def _folder_cases(folder: pathlib.Path) -> List[GoldenCase]:
    cases = [_numeric_case(p, folder) for p in sorted(folder.glob("*.npz")) if p.is_file()
             and is_imggen_io(_npz_keys(p))]
    for path in sorted(folder.glob("*.json")):
        if path.is_file() and is_imggen_inventory(_read_json(path)):
            cases.append(GoldenCase(path.stem, INVENTORY_LAYOUT.kind, folder, path, {INVENTORY_LAYOUT.anchor: path}))
    return cases


def find_cases(path) -> List[GoldenCase]:
    """The image-generator cases and inventories at ``path`` (a file: the cases it belongs to) and below it."""
    path = pathlib.Path(path)
    if path.is_file():
        target = path.resolve()
        return [c for c in _folder_cases(path.parent) if any(f.resolve() == target for f in c.files.values())]
    if not path.is_dir():
        return []
    folders = [path] + sorted(pathlib.Path(root) / d for root, dirs, _ in os.walk(path) for d in dirs)
    return [case for folder in folders for case in _folder_cases(folder)]


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one hierchvid image-generator case ({len(found)} found)")
            return
        case = found[0]
    if case.missing:
        report.failure("case layout", case.missing_text())
        return
    if case.kind == IMGGEN_LAYOUT.kind:
        check_numeric_case(case, report)
    else:
        check_inventory_case(case, report)


# Numeric case -----------------------------------------------------------------------------------------------------

def config_from_meta(meta: dict) -> ImggenConfig:
    return ImggenConfig.for_dataset("penn" if int(meta["n_joints"]) == 48 else "h36m",
                                    image_size=int(meta["image_size"]), batch_size=int(meta["bs"]),
                                    n_joints=int(meta["n_joints"]), layer=int(meta["layer"]),
                                    alpha=float(meta["alpha"]), beta=float(meta["beta"]), gamma=float(meta["gamma"]),
                                    lr=float(meta["lr"]), gf_dim=int(meta["gf"]), df_dim=int(meta["df"]))


def _relative(report, name, actual, expected, detail=""):
    """An output held to ``RELATIVE_TOL`` times its largest golden magnitude."""
    expected = np.asarray(expected)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    tol = RELATIVE_TOL * scale if scale > 0 else RELATIVE_TOL
    note = f"tol = {RELATIVE_TOL:g} x max|golden| = {tol:.3e}" + (f"; {detail}" if detail else "")
    report.output(name, np.asarray(actual), expected, tol=tol, detail=note)


def _compare_losses(report, prefix: str, losses, data, names=LOSS_NAMES):
    for name in names:
        key = f"{prefix}/{name}"
        if key not in data.files:
            continue
        report.loss(key, float(losses[name]), data[key], tol=LOSS_TOL)


def _compare_perceptual_copies(report, model: ImggenModel, prefix: str) -> None:
    """The checkpoint's Variable_N (the original's four perceptual copies) equal the perceptual npz's arrays."""
    reader, shapes = checkpoint_reader(prefix)
    expected = {}
    for first, net in ((0, model.alexnet), (ALEXNET_ARRAYS, model.alexnet), (2 * ALEXNET_ARRAYS, model.hourglass),
                       (2 * ALEXNET_ARRAYS + HOURGLASS_ARRAYS, model.hourglass)):
        expected.update({name: variable for name, variable in net.original_variables(first).items()})
    missing = sorted(set(expected) - set(shapes))
    worst, differing = 0.0, []
    for name, variable in expected.items():
        if name in missing:
            continue
        stored = read_tensor(reader, name, prefix)
        if stored.shape != tuple(variable.shape):
            differing.append(name)
            continue
        error = float(np.max(np.abs(stored - variable.numpy()))) if stored.size else 0.0
        worst = max(worst, error)
        if error:
            differing.append(name)
    report.condition("checkpoint's Variable_N perceptual copies (2 AlexNet + 2 hourglass) equal the perceptual npz",
                     not missing and not differing,
                     f"{len(expected)} arrays, max abs diff {worst:.3e}"
                     + (f"; missing {missing[:3]}" if missing else "")
                     + (f"; differ {differing[:3]}" if differing else ""))


def _tf1_adam_reference(values, grads, lr, beta1):
    """TF1 AdamOptimizer's first step from zero slots, in float64 from TF1's float32 hyper-parameters (its
    ``beta1_power``/``beta2_power`` are float32 variables): lr_t = lr sqrt(1-b2)/(1-b1), eps outside the sqrt of the
    (uncorrected) v."""
    lr, beta1, beta2 = (float(np.float32(x)) for x in (lr, beta1, ADAM_BETA2))
    lr_t = lr * math.sqrt(1.0 - beta2) / (1.0 - beta1)
    out = []
    for value, grad in zip(values, grads):
        grad = np.asarray(grad, np.float64)
        m = (1.0 - beta1) * grad
        v = (1.0 - beta2) * grad * grad
        out.append(np.asarray(value, np.float64) - lr_t * m / (np.sqrt(v) + ADAM_EPSILON))
    return out


def _step(spec, loss_fn):
    """One update of ``spec``'s optimiser on the gradient of ``loss_fn()[spec.loss]``; returns the values before,
    the gradients and the losses."""
    variables = list(spec.variables())
    before = [v.numpy() for v in variables]
    with tf.GradientTape() as tape:
        losses = loss_fn()
        objective = losses[spec.loss]
    grads = tape.gradient(objective, variables)
    spec.optimizer.apply_gradients(zip(grads, variables))
    return before, [g.numpy() for g in grads], losses


def check_numeric_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.file("*.json").read_text())
    data = np.load(case.anchor)
    config = config_from_meta(meta)
    weights_path = case.file("*.npz")
    alexnet_weights, hourglass_params = load_alexnet_weights(weights_path), load_hourglass_weights(weights_path)
    index = case.file("*.index")
    prefix = str(index)[: -len(".index")]

    task = ImggenTask(config, alexnet_weights, hourglass_params)
    model = task.build_model()
    expected_gen = [(v["name"][:-2] if v["name"].endswith(":0") else v["name"], tuple(v["shape"]))
                    for v in meta.get("g_vars", [])]
    if expected_gen:
        actual_gen = [(n, tuple(v.shape)) for n, v in model.generator.original_variables().items()]
        report.condition("GEN variables: names, shapes, order", actual_gen == expected_gen,
                         f"{len(actual_gen)} variables")
    loaded = converter.load(model, prefix)
    report.condition("checkpoint loads GEN and DIS 1:1 by original names",
                     set(loaded.loaded) == set(model.original_variables()),
                     f"{len(loaded.loaded)} loaded (moving statistics included), {len(loaded.skipped)} entries "
                     "skipped (the Variable_N perceptual copies)")
    _compare_perceptual_copies(report, model, prefix)
    batch = {key: tf.constant(data[key]) for key in BATCH_KEYS}

    # Forward pass of the train graph.
    x_hat, losses, logits = task.forward(model, batch)
    _relative(report, "fwd/G", as_g(x_hat).numpy(), data["fwd/G"])
    for name in ("D_logits", "DB_logits", "D_logits_"):
        _relative(report, f"fwd/{name}", logits[name].numpy(), data[f"fwd/{name}"])
    _compare_losses(report, "fwd", losses, data)
    report.condition("G values in (-1, 1)", bool(np.all(np.abs(x_hat.numpy()) < 1.0)))

    # One g_optim run, then one d_optim run (train_penn.py's order), with the task's optimisers.
    g_spec, d_spec = task.build_optimizers(model)
    g_before, g_grads, _ = _step(g_spec, lambda: task.forward(model, batch)[1])
    steps = _StepRecord(config.lr)
    steps.add(model.generator.original_variables(), g_before, g_grads)
    g_keras = [v.numpy() for v in g_spec.variables()]
    reference = _tf1_adam_reference(g_before, g_grads, config.lr, config.beta1)
    worst = max(float(np.max(np.abs(k - r)) / max(float(np.max(np.abs(r))), 1e-30)) for k, r in zip(g_keras, reference))
    report.bound("Keras 3 Adam step equals the TF1 AdamOptimizer step (G, max over variables, rel to max|var|)",
                 worst, ADAM_TOL, "Keras rounds 1 - beta2 in its v update and in its bias correction differently "
                 "(float64 0.001 vs 1 - float32(0.999)): steps of |lr| come out (1 - 6.4e-6) lr")
    _compare_losses(report, "after_g_step", task.forward(model, batch)[1], data)
    d_before, d_grads, _ = _step(d_spec, lambda: task.adversarial(model, batch))
    steps.add(model.discriminator.trainable_original_variables(), d_before, d_grads)
    x_hat, losses, _ = task.forward(model, batch)
    _relative(report, "after_g_then_d_step/G", as_g(x_hat).numpy(), data["after_g_then_d_step/G"])
    _compare_losses(report, "after_g_then_d_step", losses, data)
    by_name = model.original_variables()
    for key in sorted(data.files):
        if not key.startswith("weights_after_steps/"):
            continue
        name = _strip(key[len("weights_after_steps/"):])
        if name not in by_name:
            report.failure(key, "the port has no such variable")
            continue
        if name not in steps.before:  # not trained (the moving statistics): unchanged
            report.exact(key, by_name[name].numpy(), data[key], "never updated")
            continue
        steps.check(report, key, name, by_name[name].numpy(), data[key])

    _check_trainer_iteration(report, config, alexnet_weights, hourglass_params, prefix, data, steps)

    if "test/G" in data.files:
        generator = ImageAnalogyGenerator(config.n_joints, config.gf_dim, config.c_dim)
        converter.load(generator, prefix)  # GEN only: the test graph restores GEN from the train checkpoint
        test_g = as_g(generator(data["xt"][:1], data["pt"][:1], data["ptpn"][:1])).numpy()
        _relative(report, "test/G", test_g, data["test/G"], "test graph: generator only, batch 1")


def _strip(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


class _StepRecord:
    """The values before and the gradients of one Adam step per variable, to compare the weights after it.

    An entry whose gradient is rounding noise (``|g| <= NOISE_FLOOR * max |g|`` of its variable, or a variable
    whose largest gradient is below ``NOISE_FLOOR`` times its optimiser's: the conv biases in front of a
    batch-statistics BN, whose gradient is zero in exact arithmetic, and pose-encoder channels whose two branches
    cancel) moves by a full ``+-lr`` step of random sign, as Adam's first step is
    ``lr g / (|g| + eps')``: the original's value and the port's are both noise. Such entries are held to Adam's
    bound ``|w_after - w_before| <= lr`` in the port and in the golden; every other entry to ``GRADIENT_TOL``
    relative to the variable's largest golden magnitude."""

    NOISE_FLOOR = 1e-6

    def __init__(self, lr: float):
        self.lr = lr
        self.before: Dict[str, np.ndarray] = {}
        self.noise: Dict[str, np.ndarray] = {}

    def add(self, named_variables, before, grads) -> None:
        scale = max(float(np.max(np.abs(g))) for g in grads)
        for name, value, grad in zip(named_variables, before, grads):
            own = float(np.max(np.abs(grad)))
            self.before[name] = value
            self.noise[name] = (np.abs(grad) <= self.NOISE_FLOOR * own) | (own <= self.NOISE_FLOOR * scale)

    def errors(self, name, actual, expected):
        """``(max error of the clean entries rel to max |golden|, number of noise entries, largest step of a
        noise entry in units of lr, port or golden)``."""
        noise, before = self.noise[name], self.before[name]
        clean = ~noise
        scale = float(np.max(np.abs(expected))) or 1.0
        error = float(np.max(np.abs(actual - expected)[clean])) / scale if clean.any() else 0.0
        step = 0.0
        if noise.any():
            # |w - lr| is rounded to float32: allow 2 eps32 |w| beyond the lr step.
            rounding = 2.0 * EPS32 * np.abs(before[noise])
            step = max(0.0, float(np.max(np.abs(actual - before)[noise] - rounding)),
                       float(np.max(np.abs(expected - before)[noise] - rounding)))
        return error, int(noise.sum()), step / self.lr

    def check(self, report, key, name, actual, expected) -> None:
        noise = self.noise[name]
        if not noise.any():
            report.gradient(key, actual, expected, tol=GRADIENT_TOL)
            return
        error, count, step = self.errors(name, actual, expected)
        report.bound(key, error if step <= 1.0 + 1e-5 else float("inf"), GRADIENT_TOL,
                     f"{count}/{noise.size} entries with a rounding-noise gradient (Adam moves them +-lr: both "
                     f"within {step:.6f} lr); the others rel to max|golden|")


def _check_trainer_iteration(report, config, alexnet_weights, hourglass_params, prefix, data,
                             steps: _StepRecord) -> None:
    """The same iteration (G step, then D step, then the re-evaluated losses and the flags) through the one
    shared trainer, from the same checkpoint."""
    task = ImggenTask(config, alexnet_weights, hourglass_params)
    batch = {key: np.asarray(data[key], np.float32) for key in BATCH_KEYS}
    batch["images"] = ((np.stack([batch["xt"], batch["xtpn"]], 1) + 1.0) / 2.0).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="hierchvid_imggen_golden_") as model_dir:
        trainer = Trainer(task, TrainerConfig(model_dir=model_dir, num_steps=1, global_batch_size=config.batch_size,
                                              checkpoint_every=0, log_every=0, handle_sigterm=False),
                          tf.distribute.OneDeviceStrategy("/cpu:0"))
        converter.load(trainer.model, prefix)
        result = trainer.fit(lambda context: tf.data.Dataset.from_tensors(batch).repeat())
        trainer.summaries.flush()
    after = {key: result.losses[AFTER_PREFIX + key] for key in AFTER_KEYS}
    for key in AFTER_KEYS:
        golden_key = f"after_g_then_d_step/{key}"
        if golden_key in data.files:
            report.loss(f"trainer: post-update {key} (= {golden_key})", after[key], data[golden_key], tol=LOSS_TOL)
    by_name = trainer.model.original_variables()
    worst, worst_name, noisy, largest_step = 0.0, "", 0, 0.0
    for key in sorted(data.files):
        name = _strip(key[len("weights_after_steps/"):])
        if not key.startswith("weights_after_steps/") or name not in steps.before:
            continue
        error, count, step = steps.errors(name, by_name[name].numpy(), data[key])
        noisy, largest_step = noisy + count, max(largest_step, step)
        if error > worst:
            worst, worst_name = error, name
    report.bound("trainer: weights after one iteration (max over variables, rel to max|golden|)",
                 worst if largest_step <= 1.0 + 1e-5 else float("inf"), GRADIENT_TOL,
                 f"worst {worst_name}; {noisy} rounding-noise entries within {largest_step:.6f} lr")
    schedule = StickyGanSchedule(config.margin)
    schedule.update(float(data["after_g_then_d_step/d_loss_fake"]), float(data["after_g_then_d_step/d_loss_real"]))
    report.exact("trainer: update flags after the iteration [updateD, updateG]",
                 np.asarray(task.update_flags.numpy()), np.asarray(schedule.flags),
                 "the original's rule on the golden's re-evaluated d_loss_fake, d_loss_real")


# Inventories ------------------------------------------------------------------------------------------------------

def _entries(variables) -> list:
    return [(v["name"][:-2] if v["name"].endswith(":0") else v["name"], tuple(v["shape"])) for v in variables]


def inventory_config(key: str, entry: dict) -> ImggenConfig:
    shape = entry["G_shape"]
    variables = entry.get("g_vars") or entry["trainable_variables"]
    n_joints = dict(_entries(variables))["GEN/enc_pconv1_1/w"][2]
    gf_dim = dict(_entries(variables))[GEN_ANCHOR][3]
    dataset = "h36m" if key.startswith("h36m") or n_joints == 32 else "penn"
    return ImggenConfig.for_dataset(dataset, image_size=int(shape[1]), batch_size=int(shape[0]), n_joints=n_joints,
                                    gf_dim=gf_dim, df_dim=gf_dim)


def check_inventory_case(case: GoldenCase, report) -> None:
    inventory = json.loads(case.anchor.read_text())
    for key, entry in inventory.items():
        if not isinstance(entry, dict) or "G_shape" not in entry:
            continue
        config = inventory_config(key, entry)
        is_train = "g_vars" in entry
        model = ImggenModel(config, with_discriminator=is_train)
        generator = _entries(entry["g_vars"] if is_train else entry["trainable_variables"])
        actual = [(n, tuple(v.shape)) for n, v in model.generator.original_variables().items()]
        report.condition(f"{key}: GEN names, shapes, order", actual == generator, f"{len(actual)} variables")
        total = entry.get("g_total", entry.get("trainable_total"))
        report.exact(f"{key}: GEN parameter count", model.generator.param_count(), total,
                     f"port {model.generator.param_count():,}, original {total:,}")
        output = tuple(model({"xt": np.zeros((1, config.image_size, config.image_size, 3), np.float32),
                              "pt": np.zeros((1, config.image_size, config.image_size, config.n_joints), np.float32),
                              "ptpn": np.zeros((1, config.image_size, config.image_size, config.n_joints),
                                               np.float32)})["G"].shape)
        report.exact(f"{key}: G shape (batch 1) matches G_shape but for the batch", output[1:],
                     tuple(entry["G_shape"][1:]))
        if not is_train:
            report.condition(f"{key}: test graph has only GEN variables", entry.get("trainable_total") == total
                             and not entry.get("non_trainable_global_variables"))
            continue
        discriminator = model.discriminator
        trainable = [(n, tuple(v.shape)) for n, v in discriminator.trainable_original_variables().items()]
        report.condition(f"{key}: DIS trainable names, shapes, order", trainable == _entries(entry["dis_vars"]),
                         f"{len(trainable)} variables")
        report.exact(f"{key}: DIS parameter count", discriminator.param_count(), entry["dis_total"],
                     f"port {discriminator.param_count():,}, original {entry['dis_total']:,}")
        globals_ = [n[:-2] if n.endswith(":0") else n for n in entry.get("global_variable_names_GEN_DIS", [])]
        expected_globals = [n for n in globals_ if "/Adam" not in n]
        report.condition(f"{key}: GEN + DIS globals (moving statistics included; Adam slots are training state)",
                         list(model.original_variables()) == expected_globals,
                         f"{len(expected_globals)} variables, "
                         f"{sum(1 for n in globals_ if '/Adam' in n)} Adam slots")


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m vidpred_tf.papers.hierchvid.golden_imggen PATH``: run this module's cases alone."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "shared/golden/hierchvid"
    keras.utils.set_random_seed(0)
    return run_cases("hierchvid imggen", find_cases(path), check_case)


if __name__ == "__main__":
    raise SystemExit(main())
