"""Golden check of the hierchvid pose LSTM (``DET_LSTM``), part of ``python -m vidpred_tf.golden hierchvid PATH``.

Cases are found by what their files hold, whatever they are called (``LAYOUTS``, ``find_cases``), in PATH and
every folder below it:

* numeric LSTM cases: a ``*.json`` describing an LSTM run (its ``trainable_variables`` hold ``lm_enc/Matrix``, and
  it gives ``seen`` and ``fut``), an ``*.npz`` holding ``seq``, ``mask`` and ``train_output`` (the json's
  namesake when there is one, else the only such npz of the folder) and the TF1 checkpoint of ``DET_LSTM`` (the
  json's ``checkpoint`` entry when it exists, else the only checkpoint holding ``lm_enc/Matrix`` in the folder or
  one of its sub-folders). The checkpoint is loaded by original names (``vidpred_tf.convert.hierchvid``), then
  ``train_output``, ``loss_before``, ``grad_global_norm_before_clip``, one step of the task's optimiser (TF1
  RMSProp after clipping to global norm 25: ``loss_after_one_step``, ``output_after_one_step``,
  ``after_step/<var>``, ``slot_after_step/<var>/optimizer[_1]``) and the test-mode ``test_output`` are compared.
* inventories: a ``*.json`` whose entries hold ``trainable_variables`` with ``lm_enc/Matrix`` and the
  ``seq_placeholder`` shape (one entry per configuration and mode): names, shapes, order, parameter count, the
  output shape, and the training-only globals (step + two RMSProp slots per variable, what the converter skips).

Tolerance: 1e-5 (outputs, weights and slots absolute; scalar losses relative), the README's float32 CPU bound.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
from typing import Dict, List

import numpy as np
import tensorflow as tf

from vidpred_tf.checkpoint_check import checkpoint_reader
from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.golden.common import GoldenCase, Layout, run_cases
from vidpred_tf.models.hierchvid.lstm_task import MASK, SEQ, PoseLSTMTask, recons_loss
from vidpred_tf.models.hierchvid.pose_lstm import PoseLSTM, PoseLSTMConfig
from vidpred_tf.training.optimizers import TF1RMSProp

LSTM_LAYOUT = Layout("lstm", "*.json", companions=(
    ("{stem}.npz", "the inputs and outputs: seq, mask, train_output, ..."),
    ("*.index", "the TF1 checkpoint of DET_LSTM, beside the json or in a sub-folder")))
INVENTORY_LAYOUT = Layout("lstm_inventory", "*.json")
LAYOUTS = [LSTM_LAYOUT, INVENTORY_LAYOUT]
LSTM_TOL = 1e-5
ENCODER_NAME = "lm_enc/Matrix"
KERNEL = re.compile(r"/cell_(\d+)/basic_lstm_cell/kernel$")
NPZ_KEYS = (SEQ, MASK, "train_output")


def _strip(name: str) -> str:
    return name[:-2] if name.endswith(":0") else name


def _read_json(path: pathlib.Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _has_encoder(variables) -> bool:
    return isinstance(variables, list) and any(isinstance(v, dict) and _strip(str(v.get("name"))) == ENCODER_NAME
                                               for v in variables)


def is_lstm_case(data) -> bool:
    """A json describing a numeric DET_LSTM case."""
    return (isinstance(data, dict) and _has_encoder(data.get("trainable_variables"))
            and "seen" in data and "fut" in data)


def is_lstm_inventory(data) -> bool:
    """A json of DET_LSTM variable inventories (entries with trainable_variables and seq_placeholder)."""
    return isinstance(data, dict) and any(isinstance(v, dict) and _has_encoder(v.get("trainable_variables"))
                                          and "seq_placeholder" in v for v in data.values())


def _npz_keys(path: pathlib.Path) -> set:
    try:
        with np.load(path) as data:
            return set(data.files)
    except (OSError, ValueError):
        return set()


def _lstm_checkpoints(folder: pathlib.Path) -> List[pathlib.Path]:
    """``.index`` files in ``folder`` and its direct sub-folders whose checkpoint holds ``lm_enc/Matrix``."""
    found = []
    for index in sorted(folder.glob("*.index")) + sorted(folder.glob("*/*.index")):
        try:
            _, shapes = checkpoint_reader(str(index)[: -len(".index")])
        except (ValueError, OSError):
            continue
        if ENCODER_NAME in shapes:
            found.append(index)
    return found


def _lstm_case(json_path: pathlib.Path, data: dict) -> GoldenCase:
    folder = json_path.parent
    files = {LSTM_LAYOUT.anchor: json_path}
    missing = []
    namesake = json_path.with_suffix(".npz")
    if namesake.is_file() and set(NPZ_KEYS) <= _npz_keys(namesake):
        files["{stem}.npz"] = namesake
    else:
        candidates = [p for p in sorted(folder.glob("*.npz")) if set(NPZ_KEYS) <= _npz_keys(p)]
        if len(candidates) == 1:
            files["{stem}.npz"] = candidates[0]
        else:
            missing.append(f"one .npz holding {', '.join(NPZ_KEYS)} in {folder} (found {len(candidates)})")
    named = data.get("checkpoint")
    named_index = folder / f"{named}.index" if isinstance(named, str) else None
    if named_index is not None and named_index.is_file():
        files["*.index"] = named_index
    else:
        checkpoints = _lstm_checkpoints(folder)
        if len(checkpoints) == 1:
            files["*.index"] = checkpoints[0]
        else:
            missing.append(f"one TF1 checkpoint holding {ENCODER_NAME} in {folder} or a sub-folder "
                           f"(found {len(checkpoints)})")
    return GoldenCase(json_path.stem, LSTM_LAYOUT.kind, folder, json_path, files, tuple(missing))


def find_cases(path) -> List[GoldenCase]:
    """The LSTM cases and LSTM inventories at ``path`` (a file: the cases it belongs to) and below it."""
    path = pathlib.Path(path)
    if path.is_file():
        target = path.resolve()
        return [case for case in find_cases(path.parent) if case.directory == path.parent
                and any(f.resolve() == target for f in case.files.values())]
    if not path.is_dir():
        return []
    folders = [path] + sorted(pathlib.Path(root) / d for root, dirs, _ in os.walk(path) for d in dirs)
    cases = []
    for folder in folders:
        for json_path in sorted(folder.glob("*.json")):
            data = _read_json(json_path)
            if is_lstm_case(data):
                cases.append(_lstm_case(json_path, data))
            elif is_lstm_inventory(data):
                cases.append(GoldenCase(json_path.stem, INVENTORY_LAYOUT.kind, folder, json_path,
                                        {INVENTORY_LAYOUT.anchor: json_path}))
    return cases


def check_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one hierchvid LSTM case ({len(found)} found)")
            return
        case = found[0]
    if case.missing:
        report.failure("case layout", case.missing_text())
        return
    if case.kind == LSTM_LAYOUT.kind:
        check_lstm_case(case, report)
    else:
        check_inventory_case(case, report)


# Numeric case -----------------------------------------------------------------------------------------------------

def _layers(variables) -> int:
    return sum(1 for v in variables if KERNEL.search(_strip(v["name"])))


def config_from_meta(meta: dict) -> PoseLSTMConfig:
    return PoseLSTMConfig(lm_size=int(meta["lm"]), num_layer=_layers(meta["trainable_variables"]),
                          lstm_units=int(meta["units"]), seen_step=int(meta["seen"]), fut_step=int(meta["fut"]),
                          keep_prob=float(meta.get("keep_prob", 1.0)))


def _names_and_shapes(model) -> list:
    return [(name, tuple(v.shape)) for name, v in model.original_variables().items()]


def check_lstm_case(case: GoldenCase, report) -> None:
    meta = json.loads(case.anchor.read_text())
    data = np.load(case.file("{stem}.npz"))
    config = config_from_meta(meta)
    task = PoseLSTMTask(config, learning_rate=float(meta.get("lr", 1e-3)))
    model = task.build_model()
    expected = [(_strip(v["name"]), tuple(v["shape"])) for v in meta["trainable_variables"]]
    report.condition("trainable variables: names, shapes, order", _names_and_shapes(model) == expected,
                     f"{len(expected)} variables")
    index = case.file("*.index")
    prefix = str(index)[: -len(".index")]
    loaded = converter.load(model, prefix)
    report.condition("checkpoint loads 1:1 by original names", len(loaded.loaded) == len(expected),
                     f"{len(loaded.loaded)} loaded, {len(loaded.skipped)} training-state entries skipped")
    batch = {SEQ: tf.constant(data[SEQ]), MASK: tf.constant(data[MASK])}
    seen, fut = config.seen_step, int(data["train_output"].shape[1]) - config.seen_step

    output = model(batch, fut_step=fut, training=True)
    report.output("train_output", output.numpy(), data["train_output"], tol=LSTM_TOL)
    report.exact("train_output steps < seen equal mask2 * seq", output.numpy()[:, :seen],
                 (np.concatenate([data[MASK], data[MASK]], -1) * data[SEQ])[:, :seen])

    spec = task.build_optimizers(model)[0]
    variables = list(spec.variables())
    with tf.GradientTape() as tape:
        loss = recons_loss(model(batch, fut_step=fut, training=True), batch[SEQ], batch[MASK], seen)
    report.loss("loss_before", loss.numpy(), data["loss_before"], tol=LSTM_TOL)
    gradients = tape.gradient(loss, variables)
    report.loss("grad_global_norm_before_clip", tf.linalg.global_norm(gradients).numpy(),
                data["grad_global_norm_before_clip"], tol=LSTM_TOL)
    clipped, _ = tf.clip_by_global_norm(gradients, spec.clip_norm)
    optimizer = spec.optimizer
    optimizer.build(variables)
    fresh = [np.concatenate([np.ravel(s.numpy()) for s in optimizer.slots(v)]) for v in variables]
    converter.load_rmsprop_slots(model, optimizer, prefix)
    restored = [np.concatenate([np.ravel(s.numpy()) for s in optimizer.slots(v)]) for v in variables]
    report.condition("the checkpoint's RMSProp slots are the port's initial slots (ms 1, mom 0)",
                     all(np.array_equal(a, b) for a, b in zip(fresh, restored)))
    optimizer.apply_gradients(zip(clipped, variables))

    after = model(batch, fut_step=fut, training=True)
    report.loss("loss_after_one_step", recons_loss(after, batch[SEQ], batch[MASK], seen).numpy(),
                data["loss_after_one_step"], tol=LSTM_TOL)
    report.output("output_after_one_step", after.numpy(), data["output_after_one_step"], tol=LSTM_TOL)
    by_name = model.original_variables()
    for key in sorted(data.files):
        if key.startswith("after_step/"):
            name = key[len("after_step/"):]
            value = by_name[name].numpy() if name in by_name else None
        elif key.startswith("slot_after_step/"):
            name, _, slot = key[len("slot_after_step/"):].rpartition("/")
            value = (optimizer.slots(by_name[name])[converter.RMSPROP_SLOTS.index(slot)].numpy()
                     if name in by_name and slot in converter.RMSPROP_SLOTS else None)
        else:
            continue
        if value is None:
            report.failure(key, "the port has no such variable or slot")
            continue
        report.output(key, value, data[key], tol=LSTM_TOL)

    if "test_output" in data.files:
        # The test graph: batch 1, only the seen steps fed, the checkpoint's weights (before the step).
        test_model = PoseLSTM(config)
        converter.load(test_model, prefix)
        test_batch = {SEQ: data[SEQ][:1, :seen], MASK: data[MASK][:1, :seen]}
        steps = int(data["test_output"].shape[1]) - seen
        report.output("test_output", test_model(test_batch, fut_step=steps).numpy(), data["test_output"],
                      tol=LSTM_TOL, detail=f"fut_step={steps}")


# Inventories ------------------------------------------------------------------------------------------------------

def inventory_config(entry: dict, seen_step: int = PoseLSTMConfig.seen_step) -> tuple:
    """``(config, batch, input steps, is_train)`` of one inventory entry. A train graph feeds seen + fut steps, a
    test graph the seen ones; the train entries do not record ``seen`` itself: the original default (10) is used."""
    variables = entry["trainable_variables"]
    kernel = next(v for v in variables if KERNEL.search(_strip(v["name"])))
    batch, length, width = (int(d) for d in entry["seq_placeholder"])
    out_length = int(entry["output_shape"][1])
    is_train = bool(entry.get("non_trainable_global_variables"))
    seen = seen_step if is_train else length
    config = PoseLSTMConfig(lm_size=width // 2, num_layer=_layers(variables), lstm_units=int(kernel["shape"][1]) // 4,
                            seen_step=seen, fut_step=out_length - seen)
    return config, batch, length, is_train


def _output_shape(model: PoseLSTM, batch: int, length: int, fut_step: int) -> tuple:
    """The static output shape, from a traced graph (nothing runs)."""
    config = model.config
    function = tf.function(lambda seq, mask: model({SEQ: seq, MASK: mask}, fut_step=fut_step))
    concrete = function.get_concrete_function(tf.TensorSpec([batch, length, config.input_size], tf.float32),
                                              tf.TensorSpec([batch, length, config.lm_size], tf.float32))
    return tuple(concrete.structured_outputs.shape)


def check_inventory_case(case: GoldenCase, report) -> None:
    inventory = json.loads(case.anchor.read_text())
    for key, entry in inventory.items():
        if not (isinstance(entry, dict) and _has_encoder(entry.get("trainable_variables"))):
            continue
        config, batch, length, is_train = inventory_config(entry)
        model = PoseLSTM(config)
        actual = _names_and_shapes(model)
        expected = [(_strip(v["name"]), tuple(v["shape"])) for v in entry["trainable_variables"]]
        differing = [x for x in expected if x not in actual] + [x for x in actual if x not in expected]
        report.condition(f"{key}: names, shapes, order", actual == expected,
                         f"{len(actual)} variables" + (f"; differing: {differing[:3]}" if differing else ""))
        count = sum(int(np.prod(s)) for _, s in actual)
        report.exact(f"{key}: parameter count", count, int(entry["trainable_total"]),
                     f"port {count:,}, original {int(entry['trainable_total']):,}")
        report.exact(f"{key}: output shape", _output_shape(model, batch, length, config.fut_step),
                     tuple(entry["output_shape"]), f"seen {config.seen_step}, fut {config.fut_step}")
        if is_train:
            _check_training_globals(report, key, model, entry)


def _check_training_globals(report, key: str, model: PoseLSTM, entry: dict) -> None:
    """The train graph's other globals are the step and the RMSProp slots (mean square, momentum) of each
    variable, with the shapes of the port's ``TF1RMSProp`` slots; the converter skips all of them."""
    optimizer = TF1RMSProp()
    mapping = model.original_variables()
    optimizer.build(list(mapping.values()))
    ported: Dict[str, tuple] = {converter.STEP_NAME: ()}
    for name, variable in mapping.items():
        for slot_name, slot in zip(converter.RMSPROP_SLOTS, optimizer.slots(variable)):
            ported[f"{name}/{slot_name}"] = tuple(slot.shape)
    recorded = {_strip(v["name"]): tuple(v["shape"]) for v in entry["non_trainable_global_variables"]}
    report.condition(f"{key}: training-only globals are the step and the port's RMSProp slots",
                     recorded == ported, f"{len(recorded)} recorded, {len(ported)} in the port")
    patterns = [re.compile(p) for p in converter.skip_patterns(model)]
    unskipped = sorted(n for n in recorded if not any(p.search(n) for p in patterns))
    report.condition(f"{key}: the converter skips every training-only global", not unskipped,
                     f"not skipped: {unskipped[:3]}" if unskipped else "")
    total = sum(int(np.prod(s)) for s in ported.values()) + sum(int(np.prod(v.shape)) for v in mapping.values())
    report.exact(f"{key}: global total", total, int(entry["global_total"]))


def run(path, print_fn=print) -> int:
    """Check every LSTM case under ``path`` (stand-alone, until the paper's combined golden module exists)."""
    return run_cases("hierchvid-lstm", find_cases(path), check_case, print_fn)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1] if len(sys.argv) > 1 else "../shared/golden/hierchvid"))
