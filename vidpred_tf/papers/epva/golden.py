"""Golden check of the EPVA port (``python -m vidpred_tf.golden epva shared/golden/epva``).

Cases are found by their files, whatever the folders and files are called (``LAYOUTS``), in PATH and every
folder below it:

* model cases: a folder holding a TF1 checkpoint (``<prefix>.index`` + ``<prefix>.data-*``), an ``*.npz`` of
  inputs/outputs and a ``*.json`` meta file (argv, van_first_depth, vgg_width_divisor). The config is built from
  the meta file's argv, the checkpoint is loaded by original names, the inputs and the standard-normal predictor
  noise are fed; every ``out_*``, every ``loss_*`` (GAN logits and losses with the fed alpha) is compared; for
  train cases one optimiser step as the original (TF1 Adam, per-tensor clip_by_norm, the mode's loss) is taken
  and ``after_step_loss_*``, ``after_step_var__*`` (with the Adam slots m, v) compared.
* inventory cases: every ``*.json`` whose entries hold ``trainable_variables`` + ``effective_flags`` (one entry
  per configuration): each configuration is built; names, shapes, order and the parameter count of the model
  variables (training-only ``Variable``/``Variable_1`` left out) must match.
* reader cases: ``vidpred_tf.papers.epva.golden_reader`` (READER_LAYOUT, check_reader_case).

Tolerances: outputs 1e-4 abs, losses 1e-4 rel, variables after a step 1e-3 relative to their max.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Dict, List

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.golden.common import GoldenCase, Layout, find_layout_cases
from vidpred_tf.models.epva import losses as epva_losses
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork
from vidpred_tf.papers.epva import golden_reader

MODEL_LAYOUT = Layout("model", "*.index", companions=(
    ("{stem}.data-*", "the TF1 checkpoint's data"), ("*.npz", "the inputs and outputs"),
    ("*.json", "the case's meta file (argv, sizes)")))
INVENTORY_LAYOUT = Layout("inventory", "*.json")
LAYOUTS = [MODEL_LAYOUT, INVENTORY_LAYOUT, golden_reader.READER_LAYOUT]
GRADIENT_TOL = 1e-3
TRAINING_ONLY = ("Variable", "Variable_1")
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def find_cases(path) -> List[GoldenCase]:
    path = pathlib.Path(path)
    folders = [path] if path.is_file() else [path] + sorted(
        pathlib.Path(root) / d for root, dirs, _ in os.walk(path) for d in dirs)
    seen, cases = set(), []
    for folder in folders:
        found = (find_layout_cases(folder, LAYOUTS) if folder.is_file()
                 else [c for c in find_layout_cases(folder, LAYOUTS) if c.directory == folder])
        for case in found:
            if case.anchor in seen:
                continue
            if case.kind == "inventory" and not _is_inventory(case.anchor):
                continue
            seen.add(case.anchor)
            if case.kind == "model":  # named after its folder, not the checkpoint prefix
                case = dataclasses.replace(case, name=case.directory.name)
            cases.append(case)
    return cases


def _is_inventory(path) -> bool:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and any(isinstance(v, dict) and "trainable_variables" in v
                                          and "effective_flags" in v for v in data.values())


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one epva case")
            return
        case = found[0]
    if case.missing:
        report.failure("case layout", case.missing_text())
        return
    if case.kind == "model":
        check_model_case(case, report)
    elif case.kind == "inventory":
        check_inventory_case(case, report)
    else:
        golden_reader.check_reader_case(case, report)


def parse_argv(argv) -> Dict[str, object]:
    """absl-style ``--flag value`` / ``--flag=value`` / ``--flag`` / ``--noflag`` into a dict."""
    flags: Dict[str, object] = {}
    known = EPVAConfig.__dataclass_fields__
    i = 0
    while i < len(argv):
        item = argv[i][2:]
        if "=" in item:
            key, value = item.split("=", 1)
            flags[key] = value
            i += 1
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            flags[item] = argv[i + 1]
            i += 2
        else:
            if item.startswith("no") and item[2:] in known and isinstance(known[item[2:]].default, bool):
                flags[item[2:]] = False
            else:
                flags[item] = True
            i += 1
    return flags


def config_from_meta(meta: dict) -> EPVAConfig:
    argv = meta["argv"]
    if isinstance(argv, str):
        argv = json.loads(argv.replace("'", '"'))
    flags = parse_argv(argv)
    flags["van_first_depth"] = meta.get("van_first_depth", 64)
    flags["vgg_width_divisor"] = meta.get("vgg_width_divisor", 1)
    return EPVAConfig.from_flags(flags), flags


# Inventories ---------------------------------------------------------------------------------------------------

def check_inventory_case(case: GoldenCase, report) -> None:
    inventory = json.loads(case.anchor.read_text())
    for key, entry in inventory.items():
        if not (isinstance(entry, dict) and "trainable_variables" in entry):
            continue
        config = EPVAConfig.from_flags(entry["effective_flags"])
        network = EPVANetwork(config)
        actual = [(n, tuple(v.shape)) for n, v in network.original_variables()]
        expected = [(v["name"], tuple(v["shape"])) for v in entry["trainable_variables"]
                    if v["name"] not in TRAINING_ONLY]
        differing = [x for x in expected if x not in actual] + [x for x in actual if x not in expected]
        report.condition(f"{key}: names, shapes, order", actual == expected,
                         f"{len(actual)} variables" + (f"; differing: {differing[:3]}" if differing else ""))
        count = sum(int(np.prod(s)) for _, s in actual)
        recorded = sum(int(np.prod(s)) for _, s in expected)
        report.exact(f"{key}: parameter count", count, recorded, f"port {count:,}, original {recorded:,}")


# Model cases ---------------------------------------------------------------------------------------------------

def _load(network, prefix):
    reader = tf.train.load_checkpoint(prefix)
    shapes = reader.get_variable_to_shape_map()
    missing = []
    for name, variable in network.original_variables():
        if name not in shapes:
            missing.append(name)
            continue
        variable.assign(reader.get_tensor(name))
    extra = sorted(set(shapes) - {n for n, _ in network.original_variables()} - {"global_step", *TRAINING_ONLY})
    return missing, extra


def _mode_loss(losses, config):
    if config.model_mode == "epva":
        return losses["epva_loss"]
    if config.model_mode == "e2epose_oneop":
        return ((losses["pose_from_enc_loss_quant/total_loss"] + losses["pose_from_pred_loss_quant/total_loss"])
                * config.pose_weight + losses["van_loss/loss"])
    return losses["van_loss/loss"]


def _tf1_adam_step(variables, grads, slots, lr, step):
    """TF1 AdamOptimizer, step ``step`` (1-based): lr_t = lr sqrt(1-b2^t)/(1-b1^t), eps outside the sqrt."""
    lr_t = lr * np.sqrt(1 - ADAM_BETA2 ** step) / (1 - ADAM_BETA1 ** step)
    for variable, grad in zip(variables, grads):
        m, v = slots[id(variable)]
        m.assign(ADAM_BETA1 * m + (1 - ADAM_BETA1) * grad)
        v.assign(ADAM_BETA2 * v + (1 - ADAM_BETA2) * tf.square(grad))
        variable.assign_sub(lr_t * m / (tf.sqrt(v) + ADAM_EPS))


def check_model_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.file("*.json").read_text())
    data = np.load(case.file("*.npz"))
    config, flags = config_from_meta(meta)
    network = EPVANetwork(config)
    index = case.file("*.index")
    missing, extra = _load(network, str(index.with_name(index.name[: -len(".index")])))
    report.condition("checkpoint holds exactly the model's variables", not missing and not extra,
                     f"{len(network.original_variables())} variables"
                     + (f"; missing {missing[:3]}" if missing else "") + (f"; extra {extra[:3]}" if extra else ""))
    batch = {"images": data["in_images"], "actions": data["in_actions"], "joint_poses": data["in_joint_poses"]}
    noise = [tf.constant(data[k]) for k in sorted(data.files) if k.startswith("in_pred_noise_std_normal_")]
    alpha = tf.constant(data["in_wgan_gp_alpha"]) if "in_wgan_gp_alpha" in data.files else None

    def forward(global_step):
        outputs = network(batch, pred_noise=noise or None)
        losses = epva_losses.compute_losses(outputs, batch, config, global_step)
        if network.discriminator is not None and alpha is not None:
            gan = epva_losses.gan_losses(network, outputs, config, alpha, losses["enc_pred_loss/loss"])
            outputs.update({k: v for k, v in gan.items() if k.startswith("discrim_") and v.shape.rank == 2})
            losses.update({k: v for k, v in gan.items() if v.shape.rank == 0})
        return outputs, losses

    outputs, losses = forward(0)
    for key in sorted(data.files):
        if key.startswith("out_"):
            name = key[4:]
            if name not in outputs:
                report.failure(key, "the port has no such output")
                continue
            report.output(key, outputs[name].numpy(), data[key])
    _compare_losses(report, "loss_", losses, data)

    if "train_op_return" not in data.files:
        return
    lr = float(flags.get("all_learning_rate", 1e-5))
    clip = float(flags.get("clip_gradient_norm", 0.0))
    variables = [v for _, v in network.original_variables()]
    with tf.GradientTape() as tape:
        outputs, losses = forward(0)
        loss = _mode_loss(losses, config)
    report.loss("train_op_return", loss.numpy(), data["train_op_return"])
    grads = tape.gradient(loss, variables)
    grads = [tf.zeros_like(v) if g is None else g for v, g in zip(variables, grads)]
    if clip > 0:
        grads = [tf.clip_by_norm(g, clip) for g in grads]
    slots = {id(v): (tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables}
    copies = [keras.Variable(v.numpy()) for v in variables]
    _tf1_adam_step(variables, grads, slots, lr, 1)
    # The trainer uses Keras 3 Adam: its first step must equal TF1's (eps outside the sqrt, bias-corrected lr).
    keras.optimizers.Adam(lr, beta_1=ADAM_BETA1, beta_2=ADAM_BETA2, epsilon=ADAM_EPS).apply(grads, copies)
    worst = max(float(np.abs(c.numpy() - v.numpy()).max() / max(np.abs(v.numpy()).max(), 1e-30))
                for c, v in zip(copies, variables))
    report.bound("Keras 3 Adam step equals the TF1 Adam step (max over variables, rel to max|var|)", worst, 1e-5)
    _, after = forward(1)
    _compare_losses(report, "after_step_loss_", after, data)
    by_name = dict(network.original_variables())
    for key in sorted(data.files):
        if not key.startswith("after_step_var__"):
            continue
        name = key[len("after_step_var__"):].replace("__", "/")
        slot = None
        for suffix, index_ in (("/Adam_1", 1), ("/Adam", 0)):
            if name.endswith(suffix):
                name, slot = name[: -len(suffix)], index_
                break
        if name not in by_name:
            report.failure(key, "the port has no such variable")
            continue
        value = by_name[name] if slot is None else slots[id(by_name[name])][slot]
        report.gradient(key, value.numpy(), data[key], tol=GRADIENT_TOL)


def _compare_losses(report, prefix, losses, data):
    for key in sorted(data.files):
        if not key.startswith(prefix) or (prefix == "loss_" and key.startswith("after_step")):
            continue
        name = key[len(prefix):].replace("__", "/")
        if name not in losses:
            report.failure(key, "the port computes no such loss")
            continue
        report.loss(key, np.asarray(losses[name]), data[key])
