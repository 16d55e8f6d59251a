"""The E3D-LSTM study's test protocol (``trainer.test`` of the original), model-agnostic.

For every batch of the test reader (image space ``[B, T, H, W, C]``, B = ``batch_size * num_towers``), the
prediction function returns patched predictions whose last ``T - Tin`` frames are compared with the last
``T - Tin`` true frames, each prediction clipped to [0, 1]:

* MSE: ``sum((x - clip(gx))^2)`` over the whole batch per frame; printed per sequence, i.e. divided by
  ``n_batches * batch_size * num_towers`` (a sum over pixels, not a mean);
* SSIM: ``skimage.metrics.structural_similarity(x[b], gx[b], data_range=2.0, channel_axis=-1)`` (the old
  ``compare_ssim`` default for float images) for the first ``batch_size`` samples only (the first tower's),
  averaged over ``batch_size * n_batches``;
* PSNR: on ``uint8(x * 255)`` (truncation), per image ``20 log10(255) - 10 log10(mean squared error)``, mean
  over the batch, averaged over batches.

It prints what the original printed (a timestamped ``test...`` line, ``mse per seq: v`` and one line per frame,
then the same for ``psnr per frame`` and ``ssim per frame``) and, for the first ``num_save_samples`` batches,
writes ``gen_frm_dir/<save_name>/<batch_id>/gtNN.png`` (all T true frames of sample 0) and ``pdNN.png``
(NN = Tin+1..T, its predictions), each written atomically.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Callable, Iterable, List, Optional

import cv2
import numpy as np
import tensorflow as tf
from skimage.metrics import structural_similarity

from vidpred_tf.fileio import write_atomically
from vidpred_tf.models.e3d.preprocess import reshape_patch, reshape_patch_back

# The old skimage compare_ssim used the dtype range of float images, [-1, 1].
SSIM_DATA_RANGE = 2.0


@dataclasses.dataclass
class EvaluationResult:
    """Per-frame metrics (index 0 = frame Tin+1) and what was printed."""

    mse_per_seq: float
    mse_per_frame: np.ndarray
    psnr: float
    psnr_per_frame: np.ndarray
    ssim: float
    ssim_per_frame: np.ndarray
    num_batches: int
    lines: List[str]
    files: List[str]

    def scalars(self) -> dict:
        """Summary scalars for TensorBoard."""
        values = {"mse_per_seq": self.mse_per_seq, "psnr": self.psnr, "ssim": self.ssim}
        for i, (m, p, s) in enumerate(zip(self.mse_per_frame, self.psnr_per_frame, self.ssim_per_frame)):
            values[f"mse_frame_{i + 1:02d}"] = float(m)
            values[f"psnr_frame_{i + 1:02d}"] = float(p)
            values[f"ssim_frame_{i + 1:02d}"] = float(s)
        return values


def batch_psnr(generated_uint8: np.ndarray, truth_uint8: np.ndarray) -> float:
    """Mean over the batch of the per-image PSNR of two uint8 batches ``[B, H, W(, C)]``."""
    axes = tuple(range(1, generated_uint8.ndim))
    pixels = float(np.size(generated_uint8[0]))
    diff = generated_uint8.astype(np.int32) - truth_uint8.astype(np.int32)
    mse = np.sum(diff ** 2, axis=axes, dtype=np.float32) / pixels
    return float(np.mean(20 * np.log10(255) - 10 * np.log10(mse)))


def write_png_atomic(path: str, image: np.ndarray) -> None:
    """``cv2.imwrite`` semantics (uint8, 1 or 3 channels), via a temporary file and ``os.replace``."""
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode image of shape {image.shape} for {path}")

    def write(temp_path: str) -> None:
        with open(temp_path, "wb") as stream:
            stream.write(encoded.tobytes())

    write_atomically(path, write)


def evaluate(predict: Callable[[np.ndarray], np.ndarray], batches: Iterable[np.ndarray], *, input_length: int,
             total_length: int, patch_size: int, batch_size: int, num_towers: int = 1,
             gen_frm_dir: Optional[str] = None, save_name="test_result", num_save_samples: int = 10,
             print_fn: Optional[Callable[[str], None]] = print) -> EvaluationResult:
    """Run the original's test protocol.

    Args:
      predict: patched images ``[B, T, h, w, C0]`` -> patched predictions ``[B, >= T-Tin, h, w, C0]`` (the last
        ``T - Tin`` frames are used: pass the model's ``out_ims`` or all of ``gen_all``), with the test-mode
        all-zero sampling mask.
      batches: image-space float32 batches ``[B, T, H, W, C]`` in [0, 1], B = ``batch_size * num_towers``.
      batch_size: per-tower batch size (the SSIM uses only the first ``batch_size`` samples of each batch).
      num_towers: number of towers / replicas the batch is split over.
      gen_frm_dir: root of the PNG output (``None``: write nothing).
      save_name: sub-folder name (the iteration during training, ``test_result`` in test mode).
      print_fn: where the lines go (``None``: not printed; they are in the result anyway).
    """
    output_length = total_length - input_length
    lines: List[str] = []

    def emit(text: str):
        lines.append(text)
        if print_fn is not None:
            print_fn(text)

    emit(datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S") + " test...")
    result_dir = None
    if gen_frm_dir is not None:
        result_dir = os.path.join(os.fspath(gen_frm_dir), str(save_name))
        os.makedirs(result_dir, exist_ok=True)

    mse_sums = [np.float32(0.0)] * output_length
    total_mse = np.float32(0.0)
    ssim_sums = [0.0] * output_length
    psnr_sums = [0.0] * output_length
    files: List[str] = []
    num_batches = 0
    for images in batches:
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 5 or images.shape[1] != total_length:
            raise ValueError(f"evaluate: expected test batches [B, {total_length}, H, W, C]; got {images.shape}")
        if images.shape[0] != batch_size * num_towers:
            raise ValueError(f"evaluate: batch of {images.shape[0]} sequences, expected batch_size {batch_size} "
                             f"x num_towers {num_towers}")
        num_batches += 1
        patched_predictions = np.asarray(predict(reshape_patch(images, patch_size)))
        predictions = reshape_patch_back(patched_predictions[:, -output_length:], patch_size)
        truth = images[:, -output_length:]
        for i in range(output_length):
            x = truth[:, i]
            gx = np.clip(predictions[:, i], 0, 1)
            mse = np.square(x - gx).sum()
            mse_sums[i] = mse_sums[i] + mse
            total_mse = total_mse + mse
            for b in range(batch_size):
                ssim_sums[i] += structural_similarity(x[b], gx[b], data_range=SSIM_DATA_RANGE, channel_axis=-1)
            psnr_sums[i] += batch_psnr(np.uint8(gx * 255), np.uint8(x * 255))

        if result_dir is not None and num_batches <= num_save_samples:
            batch_dir = os.path.join(result_dir, str(num_batches))
            os.makedirs(batch_dir, exist_ok=True)
            for i in range(total_length):
                name = f"gt{i + 1:02d}.png"
                write_png_atomic(os.path.join(batch_dir, name), np.uint8(images[0, i] * 255))
                files.append(os.path.join(str(save_name), str(num_batches), name))
            for i in range(output_length):
                name = f"pd{i + input_length + 1:02d}.png"
                write_png_atomic(os.path.join(batch_dir, name), np.uint8(np.clip(predictions[0, i], 0, 1) * 255))
                files.append(os.path.join(str(save_name), str(num_batches), name))

    if num_batches == 0:
        raise ValueError("evaluate: the test reader served no batch (fewer sequences than two batches? the "
                         "original never serves the last full batch)")
    sequences = num_batches * batch_size * num_towers
    mse_per_frame = np.array([m / sequences for m in mse_sums], dtype=np.float32)
    mse_per_seq = np.float32(total_mse / sequences)
    emit("mse per seq: " + str(mse_per_seq))
    for value in mse_per_frame:
        emit(str(value))
    psnr_per_frame = np.asarray(psnr_sums, dtype=np.float32) / num_batches
    emit("psnr per frame: " + str(np.mean(psnr_per_frame)))
    for value in psnr_per_frame:
        emit(str(value))
    ssim_per_frame = np.asarray(ssim_sums, dtype=np.float32) / (batch_size * num_batches)
    emit("ssim per frame: " + str(np.mean(ssim_per_frame)))
    for value in ssim_per_frame:
        emit(str(value))
    return EvaluationResult(mse_per_seq=float(mse_per_seq), mse_per_frame=mse_per_frame,
                            psnr=float(np.mean(psnr_per_frame)), psnr_per_frame=psnr_per_frame,
                            ssim=float(np.mean(ssim_per_frame)), ssim_per_frame=ssim_per_frame,
                            num_batches=num_batches, lines=lines, files=files)


def model_predict_fn(model, config) -> Callable[[np.ndarray], np.ndarray]:
    """A ``predict`` for ``evaluate`` from an ``E3DLSTM`` of ``config``: test mode (no mask), returns the last
    T-Tin frames."""
    @tf.function(reduce_retracing=True)
    def run(images):
        return model(images, None, training=False)[:, -config.output_length:]

    def predict(patched: np.ndarray) -> np.ndarray:
        return run(tf.convert_to_tensor(patched, tf.float32)).numpy()

    return predict
