"""``vidpred predict`` / ``evaluate`` adapter of hierchvid: the two stages chained as the original's test scripts,
from a run folder.

hierchvid predicts from frames AND poses (the LSTM extrapolates the observed poses, the image generator draws each
future pose onto the last observed frame), while ``vidpred predict`` hands an adapter frames only. The least
surprising way to give it the poses is the manifest: a run folder holds ``vidpred_model.json`` (paper
"hierchvid", written by :func:`write_hierchvid_manifest` or ``python -m vidpred_tf.papers.hierchvid.predictor``)
whose config names

* ``lstm_checkpoint``: a folder of ``DET_LSTM.model-<N>`` TF1 checkpoints (``<models_dir>/<LSTM prefix>``; the
  LSTM's sizes are read from the folder's run name unless given),
* ``imggen_checkpoint``: a folder of ``IMGGEN.model-<N>`` TF1 checkpoints (``<models_dir>/<imggen prefix>``),
* ``poses``: an ``.npz`` with ``x``, ``y`` ``[T, L]`` in [0, 1] of the frame (x along the width, y along the height)
  and optionally ``visibility`` ``[T, L]`` (default all visible): the same keys as Penn Action's
  ``hourglass/NNNN.npz``, so that file serves as it is for the video ``frames/NNNN`` (``--resize stretch``, the
  crops are not square). Rows ``pose_start, pose_start + pose_step, ...`` are the poses of the context frames
  (match them to ``vidpred predict --start/--frame_step``);

paths relative to the run folder. Per prediction: the first ``seen_step`` (10) pose rows go through the LSTM
(``fut = horizon``), the outputs become heat maps on the model's frame (Penn: the 48 limb channels, a joint at
exactly the centre of the frame counting as masked, as the original's image test; H3.6M: the 32 joints at rounded
pixels), and every future frame is ``G(last context frame, its pose map, future pose map)`` (no recursion; BGR
inside, RGB outside). Every video of a batch gets the same poses: the poses belong to one video, so ``vidpred
evaluate`` over a dataset is only meaningful for that video.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import hierchvid as converter
from vidpred_tf.data import pose_maps
from vidpred_tf.data.hierchvid_files import load_npz
from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.inference import Predictor
from vidpred_tf.manifest import manifest_paper, manifest_path_for, read_manifest, write_manifest
from vidpred_tf.models.hierchvid.config import ImggenConfig
from vidpred_tf.models.hierchvid.imggen import ImggenModel
from vidpred_tf.models.hierchvid.lstm_task import MASK, SEQ
from vidpred_tf.models.hierchvid.pose_lstm import PRESETS, PoseLSTM
from vidpred_tf.papers.hierchvid.run_names import parse_lstm_run_name

PAPER = "hierchvid"
MODELS = ("hierchvid_penn", "hierchvid_h36m")
NUM_JOINTS = {"penn": pose_maps.PENN_NUM_JOINTS, "h36m": pose_maps.H36M_NUM_JOINTS}
DEFAULT_HORIZON = {"penn": 64, "h36m": 128}
LSTM_KEYS = ("num_layer", "lstm_units", "seen_step", "keep_prob")


def write_hierchvid_manifest(run_dir, *, dataset: str, lstm_checkpoint, imggen_checkpoint, poses,
                             image_size: int = 128, gf_dim: int = 64, horizon: Optional[int] = None,
                             pose_start: int = 0, pose_step: int = 1, lstm: Optional[dict] = None) -> str:
    """Write ``run_dir/vidpred_model.json`` naming the two checkpoint folders and the poses file (paths are
    stored as given: relative ones are taken relative to ``run_dir``). ``lstm`` overrides the LSTM sizes
    (num_layer, lstm_units, seen_step, keep_prob); by default they are parsed from the LSTM folder's run name."""
    if dataset not in NUM_JOINTS:
        raise InputError(f"--dataset={dataset!r} is not one of {', '.join(NUM_JOINTS)}")
    lstm = dict(lstm or _lstm_sizes_from_name(pathlib.Path(run_dir) / lstm_checkpoint, dataset))
    config = {"dataset": dataset, "lstm_checkpoint": os.fspath(lstm_checkpoint),
              "imggen_checkpoint": os.fspath(imggen_checkpoint), "poses": os.fspath(poses),
              "pose_start": int(pose_start), "pose_step": int(pose_step), "image_size": int(image_size),
              "gf_dim": int(gf_dim), "lstm": lstm}
    return write_manifest(run_dir, paper=PAPER, model_name=f"hierchvid_{dataset}", config=config,
                          image_size=int(image_size), channels=3, context_frames=int(lstm["seen_step"]),
                          horizon=int(horizon or DEFAULT_HORIZON[dataset]), stochastic=False,
                          checkpoint_format="tf1")


def _lstm_sizes_from_name(folder: pathlib.Path, dataset: str) -> dict:
    parsed = parse_lstm_run_name(pathlib.Path(folder).resolve().name, dataset, flag="the LSTM checkpoint folder")
    return {key: parsed[key] for key in LSTM_KEYS}


def _resolve(base: pathlib.Path, path: str) -> pathlib.Path:
    path = pathlib.Path(path)
    return path if path.is_absolute() else base / path


def read_poses(path: pathlib.Path, num_joints: int):
    """``(x, y, visibility)`` [T, L] float64 of a poses .npz (visibility ones when absent)."""
    arrays = load_npz(path, ("x", "y"))
    x, y = np.asarray(arrays["x"], np.float64), np.asarray(arrays["y"], np.float64)
    if x.ndim != 2 or x.shape[1] != num_joints or x.shape != y.shape:
        raise InputError(f"{path}: 'x' and 'y' must be [frames, {num_joints}]; got {x.shape}, {y.shape}")
    with np.load(path) as archive:
        visibility = np.asarray(archive["visibility"], np.float32) if "visibility" in archive.files else \
            np.ones(x.shape, np.float32)
    if visibility.shape != x.shape:
        raise InputError(f"{path}: 'visibility' must be {x.shape}; got {visibility.shape}")
    return x, y, visibility


class HierchvidPredictor(Predictor):
    """The pose LSTM and the image generator of one run folder, with its observed poses."""

    paper = PAPER

    def __init__(self, manifest: dict, folder: pathlib.Path):
        config = manifest["config"]
        self.dataset = str(config["dataset"])
        if self.dataset not in NUM_JOINTS:
            raise InputError(f"{manifest_path_for(folder)}: dataset {self.dataset!r} is not penn or h36m")
        self.model_name = str(manifest["model_name"])
        size = int(config["image_size"])
        self.image_size, self.channels, self.stochastic = (size, size), 3, False
        self.default_horizon = int(manifest["horizon"])
        lstm = config["lstm"]
        self.lstm_config = PRESETS[self.dataset](**{key: lstm[key] for key in LSTM_KEYS})
        self.context_frames = self.lstm_config.seen_step
        lstm_dir = _resolve(folder, config["lstm_checkpoint"])
        imggen_dir = _resolve(folder, config["imggen_checkpoint"])
        self.checkpoint = f"{lstm_dir} + {imggen_dir}"
        joints = NUM_JOINTS[self.dataset]
        x, y, visibility = read_poses(_resolve(folder, config["poses"]), joints)
        rows = int(config.get("pose_start", 0)) + int(config.get("pose_step", 1)) * np.arange(self.context_frames)
        if rows[-1] >= x.shape[0]:
            raise InputError(f"{config['poses']}: {x.shape[0]} pose rows; the context needs rows {rows.tolist()}")
        self.seq = np.concatenate([2 * x[rows] - 1., 2 * y[rows] - 1.], axis=1).astype(np.float32)[None]
        self.mask = visibility[rows].astype(np.float32)[None]
        self.lstm = PoseLSTM(self.lstm_config)
        self.lstm({SEQ: self.seq, MASK: self.mask}, fut_step=1)
        _load(self.lstm, lstm_dir, "DET_LSTM")
        self.imggen_config = ImggenConfig.for_dataset(self.dataset, image_size=size, batch_size=1,
                                                      gf_dim=int(config.get("gf_dim", 64)))
        self.keras_model = ImggenModel(self.imggen_config, with_discriminator=False)
        channels = self.imggen_config.n_joints
        self.keras_model.generate(np.zeros((1, size, size, 3), np.float32),
                                  np.zeros((1, size, size, channels), np.float32),
                                  np.zeros((1, size, size, channels), np.float32))
        _load(self.keras_model, imggen_dir, "IMGGEN")

    def future_pose_maps(self, horizon: int) -> np.ndarray:
        """[seen + horizon, H, W, J] heat maps of the observed and predicted poses on the model's frame."""
        output = np.asarray(self.lstm({SEQ: self.seq, MASK: self.mask}, fut_step=horizon))[0]
        height, width = self.image_size
        joints = NUM_JOINTS[self.dataset]
        # The original's joints.npy: ((out + 1) / 2) * 128, then scaled to the crop, here the frame itself.
        x = (output[:, :joints] + 1.) / 2. * width
        y = (output[:, joints:] + 1.) / 2. * height
        maps = []
        for t in range(output.shape[0]):
            if self.dataset == "penn":
                visible = 1.0 - ((x[t] == width / 2.) * (y[t] == height / 2.)).astype(np.float32)
                maps.append(pose_maps.penn_limb_map(x[t], y[t], visible, (height, width)))
            else:
                maps.append(pose_maps.h36m_joint_map(np.round(x[t]), np.round(y[t]), (height, width)))
        return np.nan_to_num(np.stack(maps)).astype(np.float32)

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        batch, length = context.shape[:2]
        if length != self.context_frames:
            raise InputError(f"hierchvid model {self.model_name} ({self.checkpoint}) takes {self.context_frames} "
                             f"context frames (its LSTM's seen_step); got {length}")
        maps = self.future_pose_maps(int(horizon))
        seen = self.context_frames
        xt = np.asarray(context[:, -1, :, :, ::-1], np.float32) * 2. - 1.  # RGB [0, 1] -> BGR [-1, 1]
        pt = np.repeat(maps[seen - 1][None], batch, axis=0)
        future = []
        for t in range(int(horizon)):
            ptpn = np.repeat(maps[seen + t][None], batch, axis=0)
            x_hat = np.asarray(self.keras_model.generate(xt, pt, ptpn))
            future.append((x_hat[..., ::-1] + 1.) / 2.)
        return np.clip(np.stack(future, axis=1), 0.0, 1.0).astype(np.float32)


def _load(model, folder: pathlib.Path, what: str) -> None:
    if not folder.is_dir() or tf.train.latest_checkpoint(str(folder)) is None:
        raise MissingInputError(f"{folder}: no {what} TF1 checkpoint (a folder with a 'checkpoint' file)")
    converter.load(model, str(folder))


def detect(path: pathlib.Path) -> bool:
    return manifest_paper(path) == PAPER


def load(path: pathlib.Path) -> HierchvidPredictor:
    manifest = read_manifest(path)
    folder = manifest_path_for(path).parent
    return HierchvidPredictor(manifest, folder)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m vidpred_tf.papers.hierchvid.predictor --run_dir RUN --dataset penn --lstm_checkpoint
    models/PENNACTION_DET_LSTM_... --imggen_checkpoint models/PENNACTION_ANALOGY_... --poses
    datasets/PennAction/hourglass/0001.npz``: write the run folder's manifest (then ``vidpred predict
    --checkpoint RUN ...``)."""
    parser = argparse.ArgumentParser(prog="python -m vidpred_tf.papers.hierchvid.predictor",
                                     description="Write the vidpred_model.json of a hierchvid run folder.")
    parser.add_argument("--run_dir", required=True)
    parser.add_argument("--dataset", choices=sorted(NUM_JOINTS), default="penn")
    parser.add_argument("--lstm_checkpoint", required=True, help="folder of DET_LSTM.model-<N> (absolute or "
                        "relative to --run_dir)")
    parser.add_argument("--imggen_checkpoint", required=True, help="folder of IMGGEN.model-<N>")
    parser.add_argument("--poses", required=True, help=".npz with x, y [T, L] in [0, 1] and visibility")
    parser.add_argument("--pose_start", type=int, default=0)
    parser.add_argument("--pose_step", type=int, default=1)
    parser.add_argument("--image_size", type=int, default=128)
    parser.add_argument("--gf_dim", type=int, default=64)
    parser.add_argument("--horizon", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        path = write_hierchvid_manifest(args.run_dir, dataset=args.dataset, lstm_checkpoint=args.lstm_checkpoint,
                                        imggen_checkpoint=args.imggen_checkpoint, poses=args.poses,
                                        image_size=args.image_size, gf_dim=args.gf_dim, horizon=args.horizon,
                                        pose_start=args.pose_start, pose_step=args.pose_step)
    except InputError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
