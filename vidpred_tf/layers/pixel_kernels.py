"""Per-pixel motion kernels (Finn et al. 2016's DNA transform): each output pixel is a convex combination of
the input pixels in a ``k x k`` window around it, with weights predicted per pixel.

A kernel concentrated on the centre tap copies the frame; one concentrated on tap ``(dy, dx)`` moves content by
``(-dy, -dx)`` pixels. Softmax-normalised kernels keep the output inside the range of the input, so a model
built on them predicts sharp frames from its first step instead of learning to draw digits.
"""

from __future__ import annotations

import tensorflow as tf


def extract_windows(images: tf.Tensor, kernel_size: int) -> tf.Tensor:
    """``images [B, H, W, C]`` -> ``[B, H, W, C, k*k]``: the ``k x k`` window around every pixel, zero-padded at
    the border, taps in row-major order (tap ``i`` is offset ``(i // k - k // 2, i % k - k // 2)``)."""
    if kernel_size % 2 != 1:
        raise ValueError(f"kernel_size must be odd; got {kernel_size}")
    half = kernel_size // 2
    height, width = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [half, half], [half, half], [0, 0]])
    # k*k shifted views of the padded frame: memory traffic only, where a convolution with one-hot kernels
    # would spend k*k multiply-adds per tap.
    return tf.stack([padded[:, dy:dy + height, dx:dx + width, :]
                     for dy in range(kernel_size) for dx in range(kernel_size)], axis=-1)


def apply_pixel_kernels(images: tf.Tensor, kernels: tf.Tensor) -> tf.Tensor:
    """``images [B, H, W, C]`` moved by per-pixel ``kernels [B, H, W, k*k]`` (one kernel for all channels, taps
    in the order of :func:`extract_windows`) -> ``[B, H, W, C]``."""
    taps = kernels.shape[-1]
    kernel_size = int(round(taps ** 0.5))
    if kernel_size * kernel_size != taps:
        raise ValueError(f"kernels must have k*k taps on the last axis; got {taps}")
    windows = extract_windows(images, kernel_size)
    return tf.reduce_sum(windows * kernels[:, :, :, None, :], axis=-1)


def apply_separable_pixel_kernels(images: tf.Tensor, kernels_y: tf.Tensor, kernels_x: tf.Tensor) -> tf.Tensor:
    """``images [B, H, W, C]`` moved by per-pixel separable kernels: the ``k x k`` kernel at a pixel is the outer
    product of ``kernels_y [B, H, W, k]`` (taps for row offsets ``-k//2 .. k//2``) and ``kernels_x`` (columns).

    Applied as a vertical pass then a horizontal one, ``2k`` shifted views instead of ``k*k``: any whole-pixel
    translation inside the window is still one tap of each, at a fraction of the memory traffic (which is what
    the full kernels cost on a CPU). Exactly, ``out[y, x] = sum_dx kx[y, x, dx] * sum_dy ky[y, x+dx, dy] *
    img[y+dy, x+dx]``: the row kernel is read at the pixel the horizontal pass takes from, which equals the outer
    product wherever the kernels are locally constant (as the motion of a rigid object is).
    """
    size = kernels_y.shape[-1]
    if size % 2 != 1 or kernels_x.shape[-1] != size:
        raise ValueError(f"separable kernels need the same odd tap count on both axes; got {size} and "
                         f"{kernels_x.shape[-1]}")
    half = size // 2
    height, width = images.shape[1], images.shape[2]
    rows = tf.pad(images, [[0, 0], [half, half], [0, 0], [0, 0]])
    moved = tf.add_n([kernels_y[..., dy:dy + 1] * rows[:, dy:dy + height] for dy in range(size)])
    columns = tf.pad(moved, [[0, 0], [0, 0], [half, half], [0, 0]])
    return tf.add_n([kernels_x[..., dx:dx + 1] * columns[:, :, dx:dx + width] for dx in range(size)])
