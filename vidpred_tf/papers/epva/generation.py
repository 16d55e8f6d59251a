"""The original ``generation.ipynb`` of EPVA as functions (``notebooks/generation.ipynb`` calls them).

The notebook's cells: a deterministic reader of the test records, ``get_flags`` presets for the three published
human models, ``get_images`` (PREDICT-mode outputs of a checkpoint) and ``save_imgs`` (PNG dumps). Kept as in the
original: the ``gt_images`` file index shifted by -1 (``frame-1.png`` ..), so that GT frame k+1 and prediction k share
a name; the per-image min-max rescale to 0..255 of ``scipy.misc.imsave`` on float arrays (``bytescale``; the
faithful default, ``rescale=False`` writes the [0, 1] values as they are); the output folder names. Fixed: the
original's ``get_images`` ignored its ``model_dir`` argument and read a global; here the argument is used.
Added: one GIF per run beside its frames.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Dict, Iterable, Mapping, Optional

import cv2
import numpy as np
import tensorflow as tf

from vidpred_tf.convert import epva as converter
from vidpred_tf.data.epva_records import epva_dataset
from vidpred_tf.errors import InputError
from vidpred_tf.inference import resolve_checkpoint, restore_weights
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork
from vidpred_tf.viz.grid import save_png
from vidpred_tf.viz.video import write_gif

# The notebook's three cells: model folder (under pretrained_models/) -> flag overrides of get_flags("human").
PUBLISHED_MODELS: Dict[str, Dict[str, object]] = {
    "epva_gan": {"model_dir": "epva_wgan_human", "model_mode": "epva_gan", "enc_pred_use_l2norm": True,
                 "enc_size": 64, "pred_noise_std": 1.0, "sequence_length": 256, "use_legacy_vars": False},
    "epva": {"model_dir": "epva_human", "model_mode": "epva", "enc_pred_use_l2norm": False, "enc_size": 64,
             "pred_noise_std": 0.0, "sequence_length": 64, "use_legacy_vars": False},
    "e2e": {"model_dir": "e2e_human", "model_mode": "e2e", "enc_pred_use_l2norm": False, "enc_size": 32,
            "pred_noise_std": 0.0, "sequence_length": 64, "use_legacy_vars": True},
}
# The notebook's output folders, per cell: output key -> folder name under its base_dir.
OUTPUT_FOLDERS: Dict[str, Dict[str, str]] = {
    "epva_gan": {"van_out_all": "human_epva_wgan_frames", "mask_out_all": "human_epva_wgan_masks",
                 "gt_images": "human_gt"},
    "epva": {"van_out_all": "human_epva"},
    "e2e": {"van_out_all": "human_e2e"},
}
PREDICT_KEYS = ("gt_images", "van_out_all", "mask_out_all", "van_on_enc_all")

def get_flags(dataset_type: str, **overrides) -> Dict[str, object]:
    """The notebook's ``get_flags``: evaluation flags of ``dataset_type`` ('human' or 'robot') plus overrides."""
    flags: Dict[str, object] = {"is_training": False, "use_tpu": False, "use_image_summary": False,
                                "dataset_type": dataset_type, "enc_keep_prob": 1.0, "van_keep_prob": 1.0}
    if dataset_type == "robot":
        flags.update(sequence_length=20, skip_num=1, context_frames=2, use_legacy_vars=True)
    elif dataset_type == "human":
        flags.update(sequence_length=256, skip_num=2, context_frames=5, use_legacy_vars=False)
    else:
        raise InputError(f"get_flags: dataset_type must be 'human' or 'robot'; got {dataset_type!r}")
    flags.update(overrides)
    return flags


def published_flags(model: str, **overrides) -> Dict[str, object]:
    """Flags of one of the notebook's cells (``epva_gan``, ``epva``, ``e2e``), without its ``model_dir``."""
    if model not in PUBLISHED_MODELS:
        raise InputError(f"unknown published model {model!r}; choose one of {', '.join(PUBLISHED_MODELS)}")
    preset = {k: v for k, v in PUBLISHED_MODELS[model].items() if k != "model_dir"}
    return get_flags("human", **{**preset, **overrides})


def frames_after_skip(flags: Mapping[str, object]) -> int:
    """Frames per example the reader yields: ``sequence_length // skip_num`` (256 skip 2 -> 128)."""
    return int(flags["sequence_length"]) // int(flags["skip_num"])


def bytescale(image: np.ndarray) -> np.ndarray:
    """``scipy.misc.imsave``'s rescale of a float image: min-max over the whole image (all channels) to 0..255,
    rounded half up; a constant image becomes 0."""
    image = np.asarray(image, np.float64)
    low, high = image.min(), image.max()
    scale = 255.0 / ((high - low) or 1.0)
    return (np.clip((image - low) * scale, 0, 255) + 0.5).astype(np.uint8)


def _as_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def save_imgs(runs: Iterable[Mapping[str, np.ndarray]], folder, key: str, rescale: bool = True,
              gif: bool = True, fps: float = 4) -> pathlib.Path:
    """Write ``<folder>/<run>/frame<k>.png`` for output ``key`` of each run (a per-example dict of
    :func:`get_images`); ``gt_images`` indices start at -1. ``rescale``: the original's per-image min-max
    (``bytescale``); else the [0, 1] values clipped. ``gif``: also ``<folder>/<run>.gif``. Returns ``folder``."""
    folder = pathlib.Path(folder)
    shift = -1 if key == "gt_images" else 0
    for run_index, run in enumerate(runs):
        if key not in run:
            raise InputError(f"save_imgs: run {run_index} has no output {key!r} (it has: {', '.join(run)})")
        frames = np.asarray(run[key])
        run_dir = folder / str(run_index)
        run_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for index, frame in enumerate(frames):
            frame = _as_rgb(frame)
            pixels = bytescale(frame) if rescale else (np.clip(frame, 0, 1) * 255 + 0.5).astype(np.uint8)
            save_png(run_dir / f"frame{index + shift}.png", pixels)
            written.append(pixels)
        if gif and written:
            write_gif(folder / f"{run_index}.gif", np.stack(written), fps=fps)
    return folder


def build_network(flags: Mapping[str, object], **config_overrides):
    """An ``EPVANetwork`` of the flags (eval: keep probabilities 1.0)."""
    values = {**flags, **config_overrides, "enc_keep_prob": 1.0, "van_keep_prob": 1.0}
    return EPVANetwork(EPVAConfig.from_flags(values))


def deterministic_reader(file_pattern, flags: Mapping[str, object], batch_size: int = 8):
    """The notebook's ``get_input_fn_queue_determ``: the records in order, one pass, no augmentation."""
    return epva_dataset(file_pattern, str(flags["dataset_type"]), int(flags["sequence_length"]),
                        int(flags["skip_num"]), int(batch_size), pose_dim=int(flags.get("pose_dim", 5)),
                        joint_pos_dim=int(flags.get("joint_pos_dim", 7)), shuffle=False)


def _is_original_checkpoint(checkpoint: str) -> bool:
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    return any(name.startswith("timestep/") for name in names)


def load_network(model_dir, flags: Mapping[str, object], **config_overrides):
    """The network of ``flags``, restored from ``model_dir`` (the argument: the original read a global here).
    ``model_dir`` may hold the port's trainer checkpoints, a ``.weights.h5`` or an original TF1
    ``model.ckpt-N`` (names ``timestep/...``, read through :mod:`vidpred_tf.convert.epva`)."""
    network = build_network(flags, **config_overrides)
    frames = int(flags["context_frames"]) + 1
    config = network_config(network)
    warm = {"images": tf.zeros((1, frames, 64, 64, 3)), "actions": tf.zeros((1, frames, config.pose_dim)),
            "joint_poses": tf.zeros((1, frames, config.joint_pos_dim + config.pose_dim))}
    network(warm, training=False, seed=tf.constant([0, 0], tf.int32))  # creates the variables
    checkpoint = resolve_checkpoint(model_dir)
    if not checkpoint.endswith(".weights.h5") and _is_original_checkpoint(checkpoint):
        converter.load(network, checkpoint)
    else:
        restore_weights(network, checkpoint)
    return network


def network_config(network):
    """The EPVAConfig a network was built with."""
    return network.config


def predict_batch(network, batch: Mapping[str, np.ndarray], seed: Optional[int] = 0) -> Dict[str, np.ndarray]:
    """The PREDICT-mode outputs of one batch: ``gt_images`` [B,T,...] and the network's outputs, masks tiled to
    three channels."""
    stateless = None if seed is None else np.array([seed, 0], np.int32)
    outputs = network(dict(batch), training=False, seed=stateless)
    result = {"gt_images": np.asarray(batch["images"])}
    for key in PREDICT_KEYS[1:]:
        result[key] = np.asarray(outputs[key])
    result["mask_out_all"] = np.repeat(result["mask_out_all"], 3, axis=-1)
    return result


def get_images(network, dataset, num_to_eval: int = 1000) -> list:
    """The notebook's ``get_images`` on a built, restored ``network`` (the original built it from a global
    model directory, ignoring its argument; here the caller passes the model): per-example dicts of
    :data:`PREDICT_KEYS` over the deterministic ``dataset``, up to ``num_to_eval`` examples."""
    examples = []
    for batch in dataset:
        outputs = predict_batch(network, {k: np.asarray(v) for k, v in batch.items()})
        for i in range(outputs["gt_images"].shape[0]):
            examples.append({k: v[i] for k, v in outputs.items()})
            if len(examples) >= num_to_eval:
                return examples
    return examples


@dataclasses.dataclass
class Run:
    """What one notebook cell wrote: output key -> folder."""
    folders: Dict[str, pathlib.Path]


def save_cell(examples, model: str, base_dir, rescale: bool = True) -> Run:
    """Write one cell's outputs under ``base_dir`` in the original's folder names (:data:`OUTPUT_FOLDERS`)."""
    folders = {}
    for key, name in OUTPUT_FOLDERS[model].items():
        folders[key] = save_imgs(examples, pathlib.Path(base_dir) / name, key, rescale=rescale)
    return Run(folders)


def png_strip(frames) -> bytes:
    """Frames side by side as PNG bytes (the notebook's inline display)."""
    strip = np.concatenate([_as_rgb(np.asarray(f)) for f in frames], axis=1)
    if strip.dtype != np.uint8:
        strip = (np.clip(strip, 0, 1) * 255 + 0.5).astype(np.uint8)
    ok, data = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("png_strip: OpenCV could not encode the frames")
    return data.tobytes()
