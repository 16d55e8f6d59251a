"""``vidpred predict`` / ``evaluate`` adapter of EPVA: a folder with a ``vidpred_model.json`` of paper "epva"
(:func:`write_epva_manifest`) beside either the port's trainer checkpoints (``prediction_train`` writes them into
``--event_log_dir``) or an original TF1 checkpoint (``model.ckpt-N``, loaded through
:func:`vidpred_tf.convert.epva.load`; ``checkpoint_format`` "tf1").

The model runs as the original's PREDICT mode: keep probabilities 1.0, the predictor fed its own encodings after
``context_frames``; the future frames are the VAN outputs ``van_out_all`` (output k is frame k+1). ``vidpred
predict`` has frames only: the actions and joint poses the network takes are zeros (the e2e/epva predictions do not
read them; the pose heads, which do, are not part of the frame prediction)."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import epva as converter
from vidpred_tf.errors import InputError
from vidpred_tf.inference import Predictor, resolve_checkpoint, restore_weights
from vidpred_tf.manifest import manifest_paper, read_manifest, write_manifest
from vidpred_tf.models.epva.config import MODES, EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork

MODELS = MODES
PAPER = "epva"
IMAGE_SIZE = (64, 64)


def write_epva_manifest(directory, config: EPVAConfig, sequence_length: int,
                        checkpoint_format: str = "trainer") -> str:
    """The manifest of a directory of checkpoints of ``config`` ("trainer" or "tf1" checkpoints)."""
    if checkpoint_format not in ("trainer", "tf1", "keras_weights"):
        raise InputError(f"write_epva_manifest: checkpoint_format must be trainer, tf1 or keras_weights; "
                         f"got {checkpoint_format!r}")
    return write_manifest(directory, paper=PAPER, model_name=config.model_mode, config=dataclasses.asdict(config),
                          image_size=IMAGE_SIZE, channels=3, context_frames=config.context_frames,
                          horizon=int(sequence_length) - config.context_frames,
                          stochastic=config.pred_noise_std > 0, checkpoint_format=checkpoint_format)


def config_from_manifest(manifest: dict, where) -> EPVAConfig:
    fields = {f.name for f in dataclasses.fields(EPVAConfig)}
    unknown = sorted(set(manifest["config"]) - fields)
    if unknown:
        raise InputError(f"{where}: unknown EPVAConfig fields {unknown}")
    config = EPVAConfig(**manifest["config"])
    # Evaluation: the original's eval commands leave out the keep probabilities (default 1.0).
    return dataclasses.replace(config, enc_keep_prob=1.0, van_keep_prob=1.0)


def _dummy_batch(config: EPVAConfig, images: np.ndarray) -> dict:
    batch, length = images.shape[:2]
    return {"images": tf.constant(images, tf.float32),
            "actions": tf.zeros((batch, length, config.pose_dim), tf.float32),
            "joint_poses": tf.zeros((batch, length, config.joint_pos_dim + config.pose_dim), tf.float32)}


class EPVAPredictor(Predictor):
    """An EPVA-family network; stochastic when it adds predictor noise (``pred_noise_std > 0``, EPVA-GAN)."""

    paper = PAPER

    def __init__(self, config: EPVAConfig, checkpoint: str, checkpoint_format: str, horizon: int):
        self.config = config
        self.model_name = config.model_mode
        self.checkpoint = checkpoint
        self.context_frames = config.context_frames
        self.default_horizon = horizon
        self.image_size = IMAGE_SIZE
        self.channels = 3
        self.stochastic = config.pred_noise_std > 0
        self.keras_model = EPVANetwork(config)
        # Variables are created on the first call (the network is length-agnostic: a Python unroll over T).
        self.keras_model(_dummy_batch(config, np.zeros((1, config.context_frames + 1, 64, 64, 3), np.float32)),
                         training=False, seed=tf.constant([0, 0], tf.int32))
        if checkpoint_format == "tf1":
            converter.load(self.keras_model, checkpoint)
        else:
            restore_weights(self.keras_model, checkpoint)

    def predict(self, context: np.ndarray, horizon: int, seed: int = 0) -> np.ndarray:
        batch, length = context.shape[:2]
        if length != self.context_frames:
            raise InputError(f"EPVA model {self.model_name} ({self.checkpoint}) takes {self.context_frames} "
                             f"context frames; got {length}")
        images = np.concatenate([context, np.zeros((batch, horizon) + context.shape[2:], np.float32)], axis=1)
        outputs = self.keras_model(_dummy_batch(self.config, images), training=False,
                                   seed=tf.constant([seed, 0], tf.int32))
        # van_out_all[:, k] is frame k + 1: the future frames are outputs context-1 .. context+horizon-2.
        future = np.asarray(outputs["van_out_all"])[:, length - 1:length - 1 + horizon]
        return np.clip(future, 0.0, 1.0)


def detect(path: pathlib.Path) -> bool:
    return manifest_paper(path) == PAPER


def load(path: pathlib.Path) -> EPVAPredictor:
    manifest = read_manifest(path)
    checkpoint_format = manifest.get("checkpoint_format", "trainer")
    if checkpoint_format == "tf1":
        folder = pathlib.Path(path) if pathlib.Path(path).is_dir() else pathlib.Path(path).parent
        checkpoint = tf.train.latest_checkpoint(str(folder)) if pathlib.Path(path).is_dir() else str(path)
        if checkpoint is None:
            # A converter export has no 'checkpoint' index file: one prefix is unambiguous.
            prefixes = sorted(folder.glob("*.index"))
            if len(prefixes) != 1:
                raise InputError(f"checkpoint directory {folder} holds no TF1 checkpoint (no 'checkpoint' index "
                                 f"file and {len(prefixes)} .index files)")
            checkpoint = str(prefixes[0])[:-len(".index")]
    else:
        checkpoint = resolve_checkpoint(path)
    return EPVAPredictor(config_from_manifest(manifest, path), checkpoint, checkpoint_format,
                         int(manifest["horizon"]))
