"""Frechet Video Distance (Unterthiner et al. 2018), as google-research ``frechet_video_distance``.

* ``preprocess_for_i3d``: frames resized to 224x224 with TF1's bilinear resize (``resize_bilinear``:
  no half-pixel centres, no antialiasing, the reference's call), gray tiled to RGB, values scaled to [-1, 1];
  at least 16 frames.
* ``i3d_embeddings``: the I3D Kinetics-400 logits averaged over time (the hub module's
  ``RGB/inception_i3d/Mean``), inference-mode batch norm.
* ``frechet_distance``: ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrt(S_a S_b))`` in float64 with unbiased
  covariances (as tfgan's ``frechet_classifier_distance_from_activations``).

The reference feeds the hub module batches of exactly 16 videos; inference batch norm makes each embedding
independent of its batch, so ``batch_size`` here only trades memory for speed.
"""

from __future__ import annotations

from typing import Union

import keras
import numpy as np
import tensorflow as tf

from vidpred_tf.metrics.i3d import load_i3d_weights

I3D_RESOLUTION = 224
MIN_FRAMES = 16


def preprocess_for_i3d(videos, min_frames: int = MIN_FRAMES, resolution: int = I3D_RESOLUTION) -> tf.Tensor:
    """``[B, T, H, W, C]`` videos -> float32 ``[B, T, 224, 224, 3]`` in [-1, 1].

    ``uint8`` input is read as 0..255, floating input must lie in [0, 1]; ``C`` is 1 (tiled to RGB) or 3.
    """
    videos = tf.convert_to_tensor(videos)
    if videos.shape.rank != 5:
        raise ValueError(f"FVD videos must be [batch, frames, height, width, channels], got shape "
                         f"{tuple(videos.shape)}")
    batch, frames, height, width, channels = videos.shape
    if frames is not None and frames < min_frames:
        raise ValueError(f"FVD needs at least {min_frames} frames per video (the I3D convention), got {frames}")
    if channels not in (1, 3):
        raise ValueError(f"FVD videos need 1 (gray) or 3 (RGB) channels, got {channels}")
    if videos.dtype == tf.uint8:
        frames_01 = tf.cast(videos, tf.float32) / 255.0
    elif videos.dtype.is_floating:
        low, high = float(tf.reduce_min(videos)), float(tf.reduce_max(videos))
        if low < -1e-3 or high > 1.0 + 1e-3:
            raise ValueError(f"FVD float videos must be in [0, 1] (uint8 for 0..255), got values in "
                             f"[{low:.4g}, {high:.4g}]")
        frames_01 = tf.cast(videos, tf.float32)
    else:
        raise ValueError(f"FVD videos must be uint8 or float in [0, 1], got dtype {videos.dtype.name}")
    shape = tf.shape(frames_01)
    flat = tf.reshape(frames_01, tf.concat([[-1], shape[2:]], axis=0))
    if (height, width) != (resolution, resolution):
        flat = tf.raw_ops.ResizeBilinear(images=flat, size=[resolution, resolution], align_corners=False,
                                         half_pixel_centers=False)
    if channels == 1:
        flat = tf.tile(flat, [1, 1, 1, 3])
    resized = tf.reshape(flat, tf.stack([shape[0], shape[1], resolution, resolution, 3]))
    return resized * 2.0 - 1.0


def i3d_embeddings(model, videos, batch_size: int = 16) -> np.ndarray:
    """``[N, num_classes]`` float32 embeddings of ``[N, T, H, W, C]`` videos (preprocessed here, per batch)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    count = int(videos.shape[0])
    if count == 0:
        raise ValueError("FVD: no videos to embed")
    chunks = []
    for start in range(0, count, batch_size):
        batch = preprocess_for_i3d(videos[start:start + batch_size])
        chunks.append(np.asarray(model(batch, training=False), dtype=np.float32))
    return np.concatenate(chunks, axis=0)


def _trace_sqrt_product(sigma_a: np.ndarray, sigma_b: np.ndarray) -> float:
    """``tr(sqrt(S_a S_b))`` for covariance matrices."""
    try:
        from scipy import linalg  # noqa: PLC0415 - optional: a NumPy eigendecomposition without it
    except ImportError:
        linalg = None
    if linalg is not None:
        product = sigma_a @ sigma_b
        root = linalg.sqrtm(product)
        if not np.all(np.isfinite(root)):
            # A singular product (fewer samples than dimensions) can defeat sqrtm; a tiny ridge fixes it.
            ridge = 1e-6 * np.eye(sigma_a.shape[0])
            root = linalg.sqrtm((sigma_a + ridge) @ (sigma_b + ridge))
        if np.iscomplexobj(root):
            # Round-off gives S_a S_b tiny negative eigenvalues, hence tiny imaginary parts: drop them.
            scale = max(1.0, float(np.max(np.abs(root.real))))
            if np.max(np.abs(root.imag)) > 1e-3 * scale:
                raise ArithmeticError(f"FVD: sqrtm(S_a S_b) has a large imaginary part "
                                      f"{np.max(np.abs(root.imag)):.3g}; the covariances are not valid")
            root = root.real
        return float(np.trace(root))
    # Without scipy: tr(sqrt(S_a S_b)) = tr(sqrt(A S_b A)) with A = sqrt(S_a), all symmetric (eigh only).
    def symmetric_sqrt(matrix):
        values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
        return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
    root_a = symmetric_sqrt(sigma_a)
    return float(np.trace(symmetric_sqrt(root_a @ sigma_b @ root_a)))


def frechet_distance(emb_a, emb_b) -> float:
    """Frechet distance between Gaussians fitted to ``[N, D]`` and ``[M, D]`` samples (float64)."""
    emb_a = np.asarray(emb_a, dtype=np.float64)
    emb_b = np.asarray(emb_b, dtype=np.float64)
    for label, emb in (("first", emb_a), ("second", emb_b)):
        if emb.ndim != 2:
            raise ValueError(f"frechet_distance: {label} embeddings must be [samples, dims], got {emb.shape}")
        if emb.shape[0] < 2:
            raise ValueError(f"frechet_distance: {label} embeddings need at least 2 samples for a covariance, "
                             f"got {emb.shape[0]}")
        if not np.all(np.isfinite(emb)):
            raise ValueError(f"frechet_distance: {label} embeddings contain NaN or inf")
    if emb_a.shape[1] != emb_b.shape[1]:
        raise ValueError(f"frechet_distance: embedding sizes differ, {emb_a.shape[1]} vs {emb_b.shape[1]}")
    mu_a, mu_b = emb_a.mean(axis=0), emb_b.mean(axis=0)
    sigma_a = np.atleast_2d(np.cov(emb_a, rowvar=False, ddof=1))
    sigma_b = np.atleast_2d(np.cov(emb_b, rowvar=False, ddof=1))
    mean_term = float(np.sum((mu_a - mu_b) ** 2))
    trace_term = float(np.trace(sigma_a) + np.trace(sigma_b)) - 2.0 * _trace_sqrt_product(sigma_a, sigma_b)
    return mean_term + trace_term


def fvd(real, fake, model: Union["keras.Model", str], batch_size: int = 16) -> float:
    """FVD between two sets of videos ``[N, T>=16, H, W, C]`` (uint8, or float in [0, 1]).

    ``model``: a built ``InceptionI3d`` with Kinetics-400 weights, or the path of the port's ``.weights.h5``
    (:func:`vidpred_tf.metrics.i3d.load_i3d_weights`; ``vidpred_tf.convert.i3d.load_i3d`` reads the originals).
    """
    source = model
    if source is None:
        raise ValueError("fvd needs the I3D network: pass model= (an InceptionI3d) or a weights path "
                         "(convert the TF-Hub module with python -m vidpred_tf.convert.i3d)")
    if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
        source = load_i3d_weights(source)
    return frechet_distance(i3d_embeddings(source, real, batch_size), i3d_embeddings(source, fake, batch_size))
