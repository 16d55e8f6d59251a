"""Make a preset folder from any checkpoint that ``vidpred predict`` loads.

    python -m vidpred_tf.presets.export --checkpoint CKPT_DIR_OR_PREFIX --name NAME --version 1.0.0 \\
        --description TEXT --flagfile FILE [--events_dir TB_DIR] --metrics_json FILE --output_root DIR

The checkpoint is loaded through :func:`vidpred_tf.inference.load_predictor` (so any adapter's checkpoints
work, trainer checkpoints included); the weights of its Keras model become ``NAME.weights.h5`` beside a copy of
its manifest (``checkpoint_format`` "keras_weights"), so the preset loads without the trainer's optimiser slots.
The flagfile (the exact command that trained it) is copied as ``train.flags``, the metrics JSON as
``metrics.json`` (its contract: :mod:`vidpred_tf.presets`; :func:`vidpred_tf.presets.check.write_preset_metrics`
writes it), and the TensorBoard loss scalars of ``--events_dir`` (default: the checkpoint's directory, where the
trainer writes them) are drawn as ``training_curve.png``.

Before the folder is moved into place the staged preset is loaded again and must predict what the checkpoint
predicts, reproduce the ``check`` metrics of the metrics JSON and stay under the size limit (10 MB, the limit of
presets shipped in the package), so a preset that exists is one that works. Everything is written into a hidden
staging folder beside the result and renamed into place at the end.
"""

from __future__ import annotations

import math
import os
import pathlib
import shutil
import sys
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from vidpred_tf.cli import Parser
from vidpred_tf.errors import InputError, report
from vidpred_tf.fileio import write_atomically, write_json
from vidpred_tf.manifest import MANIFEST_NAME
from vidpred_tf.presets import (
    CHECK_ATOL_SSIM,
    CHECK_RTOL_MSE,
    ENV_VAR,
    MAX_PRESET_BYTES,
    NAME_PATTERN,
    PRESET_FILE,
    VERSION_PATTERN,
    check_preset_files,
    folder_size,
    is_preset_spec,
    resolve_preset,
)
from vidpred_tf.quiet import import_tensorflow_quietly

FLAGFILE_NAME = "train.flags"
CURVE_NAME = "training_curve.png"
METRICS_NAME = "metrics.json"
EVENTS_GLOB = "events.out.tfevents.*"


# ------------------------------------------------------------------------------------------- training curve
def read_scalar_curves(events_dir, tags: Optional[Sequence[str]] = None) -> Dict[str, List[Tuple[int, float]]]:
    """``{label: [(step, value)]}`` of the scalar summaries in every event file under ``events_dir``.

    ``tags``: the tags to keep (default: every tag with "loss" in its name). TF2 ``tf.summary.scalar`` values
    (tensors of the scalars plugin) and TF1 ``simple_value`` ones are both read. A label is the tag, prefixed by
    the event file's sub-folder when there are several; when a resumed run wrote a step twice, the later value
    counts; a torn record ends the reading of its file, as in TensorBoard.
    """
    import tensorflow as tf

    events_dir = pathlib.Path(os.fspath(events_dir))
    files = sorted(events_dir.rglob(EVENTS_GLOB))
    folders = sorted({path.parent for path in files})
    curves: Dict[str, Dict[int, Tuple[float, float]]] = {}
    for path in files:
        run = path.parent.relative_to(events_dir).as_posix()
        try:
            for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
                event = tf.compat.v1.Event.FromString(record)
                for value in event.summary.value:
                    if tags is not None and value.tag not in tags:
                        continue
                    if tags is None and "loss" not in value.tag.lower():
                        continue
                    if value.HasField("simple_value"):
                        number = float(value.simple_value)
                    elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                        array = tf.make_ndarray(value.tensor)
                        if not np.issubdtype(array.dtype, np.number):
                            continue
                        number = float(array)
                    else:
                        continue
                    label = value.tag if len(folders) < 2 or run == "." else f"{run}/{value.tag}"
                    previous = curves.setdefault(label, {}).get(int(event.step))
                    if previous is None or event.wall_time >= previous[0]:
                        curves[label][int(event.step)] = (event.wall_time, number)
        except tf.errors.DataLossError:
            continue  # a torn last record (a run killed while writing): what came before it counts
    return {label: sorted((step, value) for step, (_, value) in points.items())
            for label, points in sorted(curves.items())}


def plot_training_curve(path, curves: Dict[str, List[Tuple[int, float]]], title: str) -> None:
    """A PNG of the loss curves against the training step (log scale when every value is positive)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError(f"plot_training_curve({path}): no curves given")
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    values = []
    for label, points in curves.items():
        steps, numbers = zip(*points)
        values.extend(numbers)
        axes.plot(steps, numbers, marker="o" if len(points) < 30 else None, markersize=3, label=label)
    finite = [v for v in values if math.isfinite(v)]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 10:
        axes.set_yscale("log")
    axes.set_xlabel("training step")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel("loss")
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    write_atomically(path, lambda temp_path: figure.savefig(temp_path, format="png", dpi=100))


# --------------------------------------------------------------------------------------------------- export
def _default_events_dir(checkpoint: pathlib.Path) -> pathlib.Path:
    return checkpoint if checkpoint.is_dir() else checkpoint.parent


def _same_predictions(source, staged) -> Optional[float]:
    """The largest difference between the two predictors on one random context (None when they agree)."""
    from vidpred_tf.inference import run_predictor

    height, width = source.image_size
    context = np.random.default_rng(0).random((1, source.context_frames, height, width, source.channels))
    context = context.astype(np.float32)
    expected = run_predictor(source, context, source.default_horizon)
    got = run_predictor(staged, context, source.default_horizon)
    difference = float(np.max(np.abs(expected - got)))
    return None if difference <= 1e-5 else difference


def _verify_check(stage: pathlib.Path, metrics_path: pathlib.Path) -> None:
    from vidpred_tf.presets.check import evaluate_preset_check, read_metrics_json

    recorded = read_metrics_json(stage / METRICS_NAME)["check"]["metrics"]
    got = evaluate_preset_check(stage)["metrics"]
    problems = []
    for name in ("copy_last_mse", "mse"):
        if name in recorded and not np.isclose(got[name], recorded[name], rtol=CHECK_RTOL_MSE, atol=0.0):
            problems.append(f"{name} {got[name]:.6g} (recorded {recorded[name]:.6g})")
    for name in ("copy_last_ssim_tf", "ssim_tf"):
        if name in recorded and not abs(got[name] - recorded[name]) <= CHECK_ATOL_SSIM:
            problems.append(f"{name} {got[name]:.6g} (recorded {recorded[name]:.6g})")
    if problems:
        raise InputError(f"--metrics_json {metrics_path}: the preset does not reproduce its check metrics: "
                         f"{'; '.join(problems)} (were they written for this checkpoint?)")


def _move_into_place(stage: pathlib.Path, final: pathlib.Path, overwrite: bool) -> None:
    if not final.exists():
        os.replace(stage, final)
        return
    if not overwrite:
        raise InputError(f"preset folder {final} exists already (pass overwrite=True / --overwrite to replace it)")
    old = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
    os.replace(final, old / final.name)
    try:
        os.replace(stage, final)
    except BaseException:
        os.replace(old / final.name, final)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def export_preset(checkpoint, *, name: str, version: str, description: str, flagfile, output_root,
                  metrics_json=None, events_dir=None, training_curve: bool = True,
                  max_bytes: Optional[int] = MAX_PRESET_BYTES, overwrite: bool = False,
                  verify: bool = True) -> pathlib.Path:
    """Write the preset ``output_root/name/`` of ``checkpoint`` (directory, prefix, ``.weights.h5`` or another
    preset's ``preset:`` spec) and return its folder.

    ``metrics_json``: the test metrics (None writes ``"metrics": null``, for a user's own preset only);
    ``events_dir``: TensorBoard event files of the training run (default: the checkpoint's directory);
    ``training_curve=False`` writes ``"training_curve": null`` (a converted original without its events).
    ``max_bytes``: the size limit (None: none; presets shipped in the package must stay under 10 MB).
    ``verify``: reload the staged preset and compare its predictions with the checkpoint's and its check metrics
    with the metrics JSON. ``InputError`` (one line, naming the culprit) for every refusal.
    """
    from vidpred_tf.inference import load_predictor
    from vidpred_tf.manifest import read_manifest

    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError(f"--name {name!r}: use letters, digits, '_', '-' and '.' (it goes after 'preset:')")
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise InputError(f"--version {version!r}: expected MAJOR.MINOR.PATCH such as 1.0.0")
    if not description or not str(description).strip():
        raise InputError("--description is empty; say what the preset is (model, data, training)")
    flagfile = pathlib.Path(os.fspath(flagfile))
    if not flagfile.is_file():
        raise InputError(f"--flagfile {flagfile} does not exist")
    metrics_path = None if metrics_json is None else pathlib.Path(os.fspath(metrics_json))
    if metrics_path is not None:
        from vidpred_tf.presets.check import read_metrics_json

        if not metrics_path.is_file():
            raise InputError(f"--metrics_json {metrics_path} does not exist")
        read_metrics_json(metrics_path)
    output_root = pathlib.Path(os.fspath(output_root)).expanduser()
    if output_root.exists() and not output_root.is_dir():
        raise InputError(f"--output_root {output_root} is a file, not a directory")
    if (output_root / name).exists() and not overwrite:
        raise InputError(f"preset folder {output_root / name} exists already (pass overwrite=True / --overwrite to "
                         f"replace it)")
    source = resolve_preset(checkpoint) if is_preset_spec(checkpoint) else pathlib.Path(os.fspath(checkpoint))
    curves = None
    if training_curve:
        events = _default_events_dir(source) if events_dir is None else pathlib.Path(os.fspath(events_dir))
        if not events.is_dir():
            raise InputError(f"--events_dir {events} is not a directory")
        curves = read_scalar_curves(events)
        if not curves:
            raise InputError(f"--events_dir {events}: no loss scalars in its event files ({EVENTS_GLOB}); give the "
                             f"training run's TensorBoard folder (or --no_training_curve)")

    manifest = read_manifest(source)
    if manifest is None:
        raise InputError(f"--checkpoint {checkpoint}: a preset needs a checkpoint with a {MANIFEST_NAME} beside it "
                         f"(vidpred demo and the paper scripts write one; MSPred experiments have none)")
    predictor = load_predictor(source)
    model = predictor.keras_model
    if model is None:
        raise InputError(f"--checkpoint {checkpoint}: the {predictor.paper} predictor exposes no Keras model "
                         f"(Predictor.keras_model) whose weights a preset could hold")

    from vidpred_tf.fileio import save_keras_weights

    output_root.mkdir(parents=True, exist_ok=True)
    stage = pathlib.Path(tempfile.mkdtemp(prefix=f".{name}.staging-", dir=output_root))
    # The staged folder is named like its preset, because preset.json must match its folder when it is checked.
    checked = stage / name
    try:
        checked.mkdir()
        save_keras_weights(model, checked / f"{name}.weights.h5")
        write_json(checked / MANIFEST_NAME, dict(manifest, checkpoint_format="keras_weights"))
        shutil.copyfile(flagfile, checked / FLAGFILE_NAME)
        if curves is not None:
            plot_training_curve(checked / CURVE_NAME, curves, f"{name} {version}: training loss")
        if metrics_path is not None:
            shutil.copyfile(metrics_path, checked / METRICS_NAME)
        write_json(checked / PRESET_FILE, {
            "name": name, "version": version, "description": str(description).strip(),
            "paper": predictor.paper, "model_name": predictor.model_name, "weights": f"{name}.weights.h5",
            "flagfile": FLAGFILE_NAME, "training_curve": CURVE_NAME if curves is not None else None,
            "metrics": METRICS_NAME if metrics_path is not None else None,
        })
        size = folder_size(checked)
        if max_bytes is not None and size > max_bytes:
            raise InputError(f"preset {name} would hold {size / 2**20:.2f} MB, over the {max_bytes / 2**20:g} MB "
                             f"limit (weights {(checked / f'{name}.weights.h5').stat().st_size / 2**20:.2f} MB)")
        check_preset_files(checked, max_bytes)
        if verify:
            difference = _same_predictions(predictor, load_predictor(checked))
            if difference is not None:
                raise RuntimeError(f"preset {name}: the exported weights predict differently from {checkpoint} "
                                   f"(max difference {difference:.3g}); the predictor's keras_model is not the "
                                   f"whole model")
            if metrics_path is not None:
                _verify_check(checked, metrics_path)
        _move_into_place(checked, output_root / name, overwrite)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return output_root / name


# -------------------------------------------------------------------------------------------- command line
def build_parser():
    parser = Parser("python -m vidpred_tf.presets.export", "make a preset folder (vidpred --checkpoint "
                    "preset:NAME) from a checkpoint", epilog=__doc__.split("\n\n", 2)[-1])
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory, prefix, .weights.h5 or preset:NAME")
    parser.add_argument("--name", required=True, help="preset name (letters, digits, _ - .)")
    parser.add_argument("--version", required=True, help="MAJOR.MINOR.PATCH, e.g. 1.0.0")
    parser.add_argument("--description", required=True, help="one line: model, data, training")
    parser.add_argument("--flagfile", required=True, help="absl flagfile of the command that trained it")
    parser.add_argument("--metrics_json", default=None,
                        help="test metrics (vidpred_tf.presets.check.write_preset_metrics); required unless "
                             "--no_metrics")
    parser.add_argument("--no_metrics", action="store_true", help="a preset without metrics (user folders only)")
    parser.add_argument("--events_dir", default=None,
                        help="TensorBoard folder of the training run (default: the checkpoint's directory)")
    parser.add_argument("--no_training_curve", action="store_true",
                        help="no training curve (e.g. a converted checkpoint of an original)")
    parser.add_argument("--output_root", required=True, help="folder that receives NAME/ (e.g. vidpred_tf/presets)")
    parser.add_argument("--max_mb", type=float, default=MAX_PRESET_BYTES / 2**20,
                        help="size limit in MB (presets shipped in the package: 10); 0 for none")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing NAME/ folder")
    parser.add_argument("--no_verify", action="store_true",
                        help="skip reloading the preset and reproducing its check metrics")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    prog = "python -m vidpred_tf.presets.export"
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.metrics_json is None and not args.no_metrics:
        return report(prog, "--metrics_json is required (or --no_metrics for a preset of your own)")
    import_tensorflow_quietly()
    try:
        folder = export_preset(
            args.checkpoint, name=args.name, version=args.version, description=args.description,
            flagfile=args.flagfile, output_root=args.output_root,
            metrics_json=None if args.no_metrics else args.metrics_json, events_dir=args.events_dir,
            training_curve=not args.no_training_curve, max_bytes=int(args.max_mb * 2**20) if args.max_mb > 0 else None,
            overwrite=args.overwrite, verify=not args.no_verify)
    except (InputError, FileNotFoundError) as err:
        return report(prog, str(err))
    print(f"preset {args.name} {args.version}: {folder} ({folder_size(folder) / 2**20:.2f} MB); load it with "
          f"--checkpoint preset:{args.name} (with {folder.parent} in ${ENV_VAR} unless it is "
          f"vidpred_tf/presets or ~/.vidpred/presets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
