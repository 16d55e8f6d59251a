"""Golden check of the SAVP port (``python -m vidpred_tf.golden savp shared/golden/savp``).

Cases are found by their files, whatever the folders and files are called (``LAYOUTS``):

* model cases (a folder holding ``golden.npz`` + ``case.json`` + a TF1 checkpoint ``<prefix>.index`` /
  ``<prefix>.data-*``): the model is built from ``case.json`` (``resolved_hparams``, ``image_shape``,
  ``use_state``), in mode 'train'; the variables the checkpoint FILE lists (less the Adam slots and step
  counters) must be exactly the model's, and ``case.json``'s ``checkpoint_variables`` (Adam slots included)
  must be the model's variables plus two Adam slots per trainable variable; the checkpoint is loaded through the
  converter (1:1, strict); ``in/*`` are fed and every ``rand/NN`` draw replaces the port's own, matched by
  the op name ``case.json`` records for it (so another case with other draws or another config is found and run);
  then every generator output ``out/*``, the discriminator outputs of both passes (``out/discrim_*`` and
  ``out_post/discrim_*``), every loss term (``d_losses/*``, ``g_losses/*``, ``g_losses_post/*``), the totals and
  the gradients ``ggrad/*`` (of ``g_loss_post``) and ``dgrad/*`` (of ``d_loss``) are compared, and the loss
  weights must equal the recorded ``loss_weights``.
* inventory cases (every ``*.json`` holding ``generator_trainable``, e.g. ``inventory/kth__ours_savp.json``):
  the configuration (``config.model``, ``resolved_hparams``, image shape, ``use_state``) is built in mode 'train'
  and must create the same trainable generator and discriminator variables (names, shapes, creation order),
  the same non-trainable ``u`` vectors and the recorded parameter counts.

Tolerances (issue #10): outputs 1e-4 abs, losses 1e-4 rel, gradients 1e-3 relative to the variable's max |grad|.
The KL is a sum of terms that cancel: bounded by float32 rounding of its terms (``common.rounding_bound``). A conv
bias that an instance norm follows has an exact gradient of 0, which both sides record as float noise (~1e-9):
held to 1e-6 absolute instead.
"""

from __future__ import annotations

import json
import re
from typing import Dict, List

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import savp as converter
from vidpred_tf.convert.tf1 import DEFAULT_SKIP
from vidpred_tf.golden.common import GoldenCase, Layout, find_layout_cases, gaussian_kl_terms
from vidpred_tf.models.savp import losses as savp_losses
from vidpred_tf.models.savp.model import build_model, resolve_model_hparams
from vidpred_tf.models.savp.task import time_major

CHECKPOINT_INDEX, CHECKPOINT_DATA = "*.index", "*.data-*"
MODEL_LAYOUT = Layout("model", "golden.npz", companions=(
    ("case.json", "the case's config, draws and variable list"), (CHECKPOINT_INDEX, "the TF1 checkpoint's index"),
    (CHECKPOINT_DATA, "the TF1 checkpoint's data")))
INVENTORY_LAYOUT = Layout("inventory", "*.json", exclude=("case.json", "summary.json"))
LAYOUTS = (MODEL_LAYOUT, INVENTORY_LAYOUT)
GRADIENT_TOL = 1e-3
# The gradient of a bias that an instance norm follows is exactly 0; the recorded values are float noise (~1e-9).
ZERO_GRAD_TOL = 1e-6
ACTION_DIM, STATE_DIM = 4, 3  # the BAIR action-conditioned inputs the goldens and inventories were made with


def find_cases(path) -> List[GoldenCase]:
    """The cases at ``path`` by file layout. A ``*.json`` that is not an inventory (no ``generator_trainable``)
    is not a case."""
    cases = find_layout_cases(path, LAYOUTS)
    return [case for case in cases if case.kind != "inventory" or _is_inventory(case.anchor)]


def _is_inventory(path) -> bool:
    try:
        return "generator_trainable" in json.loads(path.read_text())
    except (OSError, ValueError):
        return False


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one savp case (golden.npz + case.json + a TF1 checkpoint, "
                                          "or an inventory JSON)")
            return
        case = found[0]
    if case.kind == "model":
        check_model_case(case, report)
    else:
        check_inventory_case(case, report)


def _model_for(model_name: str, resolved: dict, image_shape, use_state: bool, mode: str = "train"):
    hparams = resolve_model_hparams(model_name, resolved)
    action_dim, state_dim = (ACTION_DIM, STATE_DIM) if use_state else (0, 0)
    return build_model(model_name, hparams, image_shape, action_dim, state_dim, mode=mode)


# Inventories ---------------------------------------------------------------------------------------------------

def check_inventory_case(case: GoldenCase, report) -> None:
    inventory = json.loads(case.anchor.read_text())
    config = inventory["config"]
    model = _model_for(config["model"], config["resolved_hparams"], config["image_shape"], config["use_state"])
    variables = model.original_variables()
    trainable = [(n, tuple(v.shape)) for n, v in variables.items() if v.trainable]
    non_trainable = [(n, tuple(v.shape)) for n, v in variables.items() if not v.trainable]
    for part, recorded in (("generator", inventory["generator_trainable"]),
                           ("discriminator", inventory["discriminator_trainable"])):
        expected = [(v["name"], tuple(v["shape"])) for v in recorded]
        actual = [item for item in trainable if item[0].startswith(part + "/")]
        differing = ([item for item in expected if item not in actual]
                     + [item for item in actual if item not in expected])
        report.condition(f"{part}: trainable names and shapes in the original's order", expected == actual,
                         f"{len(actual)} variables" + (f"; differing: {differing[:3]}" if differing else ""))
        count = model.parameter_count(part) if part == "generator" or model.discriminator is not None else 0
        report.exact(f"{part}: parameter count", count, inventory[f"{part}_param_count"],
                     f"port {count:,}, original {inventory[f'{part}_param_count']:,}")
    expected_u = [(v["name"], tuple(v["shape"])) for v in inventory["non_trainable_global"]
                  if v["name"] != "global_step"]
    report.condition("non-trainable spectral-norm u vectors", expected_u == non_trainable,
                     f"{len(non_trainable)} u vectors")


# Model cases ---------------------------------------------------------------------------------------------------

def checkpoint_prefix(case: GoldenCase) -> str:
    index = case.file(CHECKPOINT_INDEX)
    return str(index.with_name(index.name[: -len(".index")]))


_DISCRIMINATOR_DRAW = re.compile(r"^discriminator(_1)?/(encoder(?:_1)?/)?(real|fake)/random_uniform(_1)?$")


def draws_from_case(meta: dict, golden) -> List[Dict[str, np.ndarray]]:
    """``rand/NN`` by the op that drew it -> [generator draws, D pass 1 draws, D pass 2 draws] in the port's names.

    Generator: the posterior eps (``generator/encoder/random_normal``), the prior eps and the samples' eps (the
    first and second ``generator/random_normal*``), and the scheduled-sampling multinomials in unroll order
    (posterior, prior, samples when nz > 0; the only unroll otherwise). Discriminator:
    ``discriminator[_1]/[encoder[_1]/](real|fake)/random_uniform[_1]`` -> pass 1 or 2, ``[enc_]real|fake``,
    ``t_sample`` (first) or ``t_start`` (``_1``)."""
    generator, passes = {}, [{}, {}]
    normals, multinomials = [], []
    for draw in meta["random_draws_in_creation_order"]:
        value, op = golden[draw["key"]], draw["op_name"]
        match = _DISCRIMINATOR_DRAW.match(op)
        if match:
            role = ("enc_" if match.group(2) else "") + match.group(3)
            passes[1 if match.group(1) else 0][f"{role}/{'t_start' if match.group(4) else 't_sample'}"] = value
        elif op.startswith("generator/encoder/random_normal"):
            generator["eps_enc"] = value
        elif draw["kind"] == "random_normal":
            normals.append(value)
        elif draw["kind"] == "multinomial":
            multinomials.append(value)
        else:
            raise ValueError(f"case.json: random draw {draw['key']} from op {op!r} is not one the port knows")
    for name, value in zip(("eps_prior", "eps_samples"), normals):
        generator[name] = value
    names = ("sampling_enc", "sampling", "sampling_samples") if "eps_enc" in generator else ("sampling",)
    for name, value in zip(names, multinomials):
        generator[name] = value
    return [generator] + passes


def _bias_before_instance_norm(name: str, variables) -> bool:
    """``.../<layer>/<conv op>/bias`` where ``.../<layer>/InstanceNorm/beta`` exists (the norm follows the conv)."""
    parts = name.split("/")
    if parts[-1] != "bias" or len(parts) < 3:
        return False
    return "/".join(parts[:-2] + ["InstanceNorm", "beta"]) in variables


def _as_time_major_output(value):
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def check_model_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.file("case.json").read_text())
    golden = np.load(case.file("golden.npz"))
    resolved = meta["resolved_hparams"]
    model = _model_for("savp", resolved, meta["image_shape"], bool(meta["use_state"]))
    hparams = model.hparams
    variables = model.original_variables()

    # What the checkpoint file and the recorded list hold.
    prefix = checkpoint_prefix(case)
    skip = [re.compile(p) for p in DEFAULT_SKIP]
    in_file = {name: tuple(shape) for name, shape in tf.train.list_variables(prefix)
               if not any(p.search(name) for p in skip)}
    ported = {name: tuple(v.shape) for name, v in variables.items()}
    only_file, only_model = sorted(set(in_file) - set(ported))[:3], sorted(set(ported) - set(in_file))[:3]
    report.condition("checkpoint file holds exactly the model's variables (names and shapes)", in_file == ported,
                     f"{len(in_file)} in the file, {len(ported)} in the model; only in file: {only_file}; "
                     f"only in model: {only_model}")
    recorded = {name for name, _ in meta["checkpoint_variables"]}
    slots = {f"{name}/{slot}" for name, v in variables.items() if v.trainable for slot in ("Adam", "Adam_1")}
    counters = {name for name in recorded if re.match(r"^(global_step|beta[12]_power(_\d+)?)$", name)}
    report.condition("recorded checkpoint_variables = model variables + 2 Adam slots each + step counters",
                     recorded == set(ported) | slots | counters,
                     f"{len(recorded)} recorded, {len(ported)} variables, {len(slots)} slots, {len(counters)} counters")
    converter.load(model, prefix)

    step = tf.constant(int(meta["global_step"]), tf.int64)
    inputs = time_major({key[3:]: tf.constant(golden[key]) for key in golden.files if key.startswith("in/")})
    generator_draws, pass1_draws, pass2_draws = [
        {k: tf.constant(v) for k, v in d.items()} for d in draws_from_case(meta, golden)]
    seed = tf.constant([0, 0], tf.int32)
    discriminator = model.discriminator
    g_vars = [variables[k[len("ggrad/"):]] for k in golden.files if k.startswith("ggrad/")]
    d_vars = [variables[k[len("dgrad/"):]] for k in golden.files if k.startswith("dgrad/")]
    with tf.GradientTape(persistent=True) as tape:
        gen_outputs = dict(model.generator(inputs, step=step, seed=seed, draws=generator_draws))
        d_out = dict(discriminator(inputs, gen_outputs, seed=seed, draws=pass1_draws)) if discriminator else {}
        d_post = dict(discriminator(inputs, gen_outputs, seed=seed, draws=pass2_draws)) if discriminator else {}
        outputs = {**gen_outputs, **d_out}
        d_losses = savp_losses.discriminator_losses(hparams, inputs, outputs, step)
        g_losses = savp_losses.generator_losses(hparams, inputs, outputs, step)
        g_losses_post = (savp_losses.generator_losses(hparams, inputs, {**gen_outputs, **d_post}, step)
                         if d_post else g_losses)
        d_loss = savp_losses.weighted_total(d_losses)
        g_loss = savp_losses.weighted_total(g_losses)
        g_loss_post = savp_losses.weighted_total(g_losses_post)

    for key in golden.files:
        if key.startswith("out/"):
            name = key[4:]
            actual = outputs.get(name)
            if actual is None and name == "learning_rate":
                actual = savp_losses.learning_rate(hparams)(step)
            if actual is None and name == "kl_weight":
                actual = savp_losses.kl_weight(hparams, step)
            if actual is None:
                report.failure(f"out/{name}", "the port does not produce this output")
                continue
            report.output(key, _as_time_major_output(actual), golden[key])
        elif key.startswith("out_post/"):
            name = key[len("out_post/"):]
            if name not in d_post:
                report.failure(key, "the port's post pass does not produce this output")
                continue
            report.output(key, _as_time_major_output(d_post[name]), golden[key])

    weights = {}
    for group, losses in (("d_losses", d_losses), ("g_losses", g_losses), ("g_losses_post", g_losses_post)):
        for name, (loss, weight) in losses.items():
            key = f"{group}/{name}"
            if group != "g_losses_post":
                weights[key] = float(weight)
            if key not in golden.files:
                report.failure(key, "the port computes a loss term the original did not record")
                continue
            if name == "gen_kl_loss":
                mu, log_sigma_sq = golden["out/zs_mu_enc"], golden["out/zs_log_sigma_sq_enc"]
                terms = gaussian_kl_terms(mu, log_sigma_sq, scale=1.0 / (mu.shape[0] * mu.shape[1]))
                report.cancelling_sum(key, float(loss), float(golden[key]), terms)
            else:
                report.loss(key, float(loss), float(golden[key]))
        for key in golden.files:
            if key.startswith(group + "/") and key.split("/", 1)[1] not in losses:
                report.failure(key, "a loss term of the original the port does not compute")
    for key, value in (("d_loss", d_loss), ("g_loss", g_loss), ("g_loss_post", g_loss_post)):
        report.loss(key, float(value), float(golden[key]))
    recorded_weights = {k: float(v) for k, v in meta["loss_weights"].items()}
    report.condition("loss weights as the original used them", weights == recorded_weights,
                     f"port {weights} vs original {recorded_weights}" if weights != recorded_weights else
                     f"{len(weights)} weights")

    for prefix_key, loss, wrt in (("ggrad/", g_loss_post, g_vars), ("dgrad/", d_loss, d_vars)):
        if not wrt:
            continue
        grads = tape.gradient(loss, wrt)
        keys = [k for k in golden.files if k.startswith(prefix_key)]
        for key, grad in zip(keys, grads):
            expected = golden[key]
            actual = np.zeros_like(expected) if grad is None else grad.numpy()
            name = key[len(prefix_key):]
            if _bias_before_instance_norm(name, variables):
                error = float(np.max(np.abs(actual - expected)))
                report.bound(key, error, ZERO_GRAD_TOL,
                             f"a conv bias under an instance norm has gradient exactly 0 (the norm removes each "
                             f"channel's mean); both sides are float noise: |port| {np.max(np.abs(actual)):.1e}, "
                             f"|original| {np.max(np.abs(expected)):.1e}, held to an absolute {ZERO_GRAD_TOL:g}")
                continue
            scale = float(np.max(np.abs(expected))) or 1.0
            report.gradient(key, actual / scale, expected / scale, tol=GRADIENT_TOL,
                            detail=f"relative to max |grad| {scale:.3e}")
    del tape
