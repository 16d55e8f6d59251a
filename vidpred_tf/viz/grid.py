"""Ground truth vs prediction pictures: per-step comparison frames, batch tiles, GIFs and PNG strips.

Each time step becomes one picture: ground truth on top, the model's row below. In the model's row the context
frames (which the model was given) are the ground truth again, framed in green; predicted frames are framed in
red. The ground-truth row is framed in gray. Grayscale frames are shown as RGB.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from vidpred_tf.viz.video import to_uint8, write_atomically, write_gif

CONTEXT_COLOR = (0, 255, 0)
PREDICTION_COLOR = (255, 0, 0)
GROUND_TRUTH_COLOR = (128, 128, 128)


def _rgb_video(frames, name: str, rank: int) -> np.ndarray:
    array = to_uint8(frames)
    layout = "[T, H, W, C]" if rank == 4 else "[B, T, H, W, C]"
    if array.ndim != rank or array.shape[-1] not in (1, 3) or min(array.shape) == 0:
        raise ValueError(f"{name} must be {layout} with C 1 or 3 and no empty axis; got shape {array.shape}")
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return array


def _framed(frames: np.ndarray, color, border: int) -> np.ndarray:
    """``[..., H, W, 3]`` with a ``border``-pixel frame of ``color`` around every image."""
    pad = [(0, 0)] * (frames.ndim - 3) + [(border, border), (border, border), (0, 0)]
    framed = np.pad(frames, pad)
    framed[..., :border, :, :] = color
    framed[..., -border:, :, :] = color
    framed[..., :, :border, :] = color
    framed[..., :, -border:, :] = color
    return framed


def _check_alignment(gt: np.ndarray, pred: np.ndarray, context_length: int, batched: bool) -> None:
    time_axis = 1 if batched else 0
    length, pred_length = gt.shape[time_axis], pred.shape[time_axis]
    if not 0 <= context_length <= length:
        raise ValueError(f"context_length must be in [0, {length}] (the ground-truth length); got {context_length}")
    if not length - context_length <= pred_length <= length:
        raise ValueError(
            f"pred has {pred_length} frames; with {length} ground-truth frames and context_length "
            f"{context_length} it needs between {length - context_length} and {length} (predictions are aligned "
            f"with the end of the ground truth)")
    other_gt = gt.shape[:time_axis] + gt.shape[time_axis + 1:]
    other_pred = pred.shape[:time_axis] + pred.shape[time_axis + 1:]
    if other_gt != other_pred:
        raise ValueError(f"gt and pred differ in shape apart from time: gt {gt.shape}, pred {pred.shape}")


def comparison_frames(gt, pred, context_length: int, border: int = 2) -> np.ndarray:
    """``uint8 [T, 2H + 4*border, W + 2*border, 3]``: per time step, ground truth above the model's frame.

    ``gt`` is ``[T, H, W, C]``; ``pred`` is ``[T_pred, H, W, C]`` with ``T - context_length <= T_pred <= T``,
    aligned with the end of ``gt`` (so both the future frames only and a full-length output work). Frames are
    float in [0, 1] or uint8.
    """
    if border < 1:
        raise ValueError(f"border must be at least 1 pixel; got {border}")
    gt = _rgb_video(gt, "gt", 4)
    pred = _rgb_video(pred, "pred", 4)
    _check_alignment(gt, pred, context_length, batched=False)
    length = gt.shape[0]
    offset = length - pred.shape[0]
    top = _framed(gt, GROUND_TRUTH_COLOR, border)
    bottom = np.empty_like(top)
    if context_length:
        bottom[:context_length] = _framed(gt[:context_length], CONTEXT_COLOR, border)
    if context_length < length:
        bottom[context_length:] = _framed(pred[context_length - offset:], PREDICTION_COLOR, border)
    return np.concatenate([top, bottom], axis=1)


def comparison_batch(gt, pred, context_length: int, max_videos: int = 8, border: int = 2) -> np.ndarray:
    """``uint8 [T, 2H + 4*border, n*(W + 2*border), 3]``: the comparisons of the first ``n = min(B, max_videos)``
    videos of ``gt [B, T, H, W, C]`` and ``pred [B, T_pred, H, W, C]`` side by side."""
    if max_videos < 1:
        raise ValueError(f"max_videos must be at least 1; got {max_videos}")
    gt = _rgb_video(gt, "gt", 5)
    pred = _rgb_video(pred, "pred", 5)
    _check_alignment(gt, pred, context_length, batched=True)
    count = min(gt.shape[0], max_videos)
    tiles = [comparison_frames(gt[i], pred[i], context_length, border) for i in range(count)]
    return np.concatenate(tiles, axis=2)


def _comparison_any_rank(gt, pred, context_length: int, max_videos: int) -> np.ndarray:
    rank = np.ndim(gt)
    if rank == 4:
        return comparison_frames(gt, pred, context_length)
    if rank == 5:
        return comparison_batch(gt, pred, context_length, max_videos=max_videos)
    raise ValueError(f"gt must be [T, H, W, C] or [B, T, H, W, C]; got shape {np.shape(gt)}")


def write_comparison_gif(path, gt, pred, context_length: int, fps=4, max_videos: int = 8) -> None:
    """Animated GIF of :func:`comparison_frames` (one video) or :func:`comparison_batch` (``[B, T, ...]`` inputs)."""
    write_gif(path, _comparison_any_rank(gt, pred, context_length, max_videos), fps=fps)


def save_png(path, image) -> None:
    """Write an RGB(A) or grayscale ``image [H, W, C]`` / ``[H, W]`` (uint8, or float in [0, 1]) as a PNG."""
    path = os.fspath(path)
    array = to_uint8(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4) or min(array.shape) == 0:
        raise ValueError(f"save_png({path}): image must be [H, W] or [H, W, C] with C 1, 3 or 4; "
                         f"got shape {np.shape(image)}")
    if not path.lower().endswith(".png"):
        raise ValueError(f"save_png: path must end with .png; got {path}")
    # OpenCV stores channels in BGR(A) order.
    if array.shape[-1] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    elif array.shape[-1] == 4:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA)

    def write(temp_path):
        if not cv2.imwrite(temp_path, array):
            raise RuntimeError(f"save_png: OpenCV could not write {path}")

    write_atomically(path, write)


def comparison_strip_png(path, gt, pred, context_length: int, max_videos: int = 8) -> None:
    """One PNG with every time step of the comparison side by side (time runs left to right).

    For ``[B, T, ...]`` inputs the first ``max_videos`` videos are stacked top to bottom, one strip each.
    """
    rank = np.ndim(gt)
    if rank == 4:
        strips = [comparison_frames(gt, pred, context_length)]
    elif rank == 5:
        if max_videos < 1:
            raise ValueError(f"max_videos must be at least 1; got {max_videos}")
        count = min(np.shape(gt)[0], max_videos)
        strips = [comparison_frames(gt[i], pred[i], context_length) for i in range(count)]
    else:
        raise ValueError(f"gt must be [T, H, W, C] or [B, T, H, W, C]; got shape {np.shape(gt)}")
    rows = [np.concatenate(list(frames), axis=1) for frames in strips]
    save_png(path, np.concatenate(rows, axis=0))
