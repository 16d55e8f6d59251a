"""MSPred's evaluation pictures: framewise metric plots, hierarchical prediction figures, their per-level frame
PNGs (``gif_resources``), the combined hierarchical GIF and the 6 x 8 paper grid.

Layouts follow the original ``lib/visualizations.py`` and ``05_assemble_figs.py``. Every figure is built on
``matplotlib.figure.Figure`` with the Agg canvas (pyplot and the user's backend are never touched) and every file
is written atomically. Arrays are channels-last: frames ``[T, H, W, C]`` in [0, 1], level maps ``[T, H, W, K]``.

Structure types (the original datasets' ``STRUCT_TYPE``) say how a level-1/2 map is drawn:

* ``BLOB_HEATMAP`` (Moving MNIST): the channel sum clipped to [0, 1], saved with matplotlib's default colormap;
* ``KEYPOINT_BLOBS`` (KTH, SynpickVP level 2): each channel's arg-max (if >= 0.03) re-drawn as a coloured
  Gaussian blob (sigma 1, or 4 for a single channel) on white, framed in black;
* ``SEGMENTATION_MAPS`` (SynpickVP level 1): the arg-max class painted in a fixed colour per class over the frame,
  class 0 (background) in seashell.
"""

from __future__ import annotations

import math
import os
from typing import Dict, List, Mapping, Optional, Sequence, Union

import matplotlib
import matplotlib.image
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from vidpred_tf.data.heatmaps import HeatmapGenerator
from vidpred_tf.fileio import write_atomically
from vidpred_tf.viz.video import write_gif

STRUCT_TYPES = ("BLOB_HEATMAP", "KEYPOINT_BLOBS", "SEGMENTATION_MAPS")
# Each dataset's STRUCT_TYPE: how its level-1 and level-2 maps are drawn.
DATASET_STRUCT_TYPES = {
    "moving_mnist": ("BLOB_HEATMAP", "BLOB_HEATMAP"),
    "custom_moving_mnist": ("BLOB_HEATMAP", "BLOB_HEATMAP"),
    "kth": ("KEYPOINT_BLOBS", "KEYPOINT_BLOBS"),
    "synpick": ("SEGMENTATION_MAPS", "KEYPOINT_BLOBS"),
}
# Colour per keypoint channel / class, in the original's order (CSS colour names).
COLORS = ("blue", "green", "olive", "red", "yellow", "purple", "orange", "cyan", "brown", "pink", "darkorange",
          "goldenrod", "forestgreen", "springgreen", "aqua", "royalblue", "navy", "darkviolet", "plum", "magenta",
          "slategray", "maroon", "gold", "peachpuff", "silver", "aquamarine", "indianred", "greenyellow",
          "darkcyan", "sandybrown")
MIN_CONFIDENCE = 0.03
# Which objects invert_colors paints the summed RGB blob image as (the original's sun, earth and moon colours).
_INVERT_COLORS = ((0.961, 0.29, 0.05), (0.05, 0.09, 0.961), (0.10, 0.895, 0.219))


def dataset_struct_types(dataset_name: str) -> List[str]:
    """The structure types of levels 1 and 2 of ``dataset_name`` (blob heat maps for a dataset not listed)."""
    return list(DATASET_STRUCT_TYPES.get(dataset_name, ("BLOB_HEATMAP", "BLOB_HEATMAP")))


def _figure(width_inches: float, height_inches: float, dpi: float = 100.0) -> Figure:
    figure = Figure(figsize=(width_inches, height_inches), dpi=dpi)
    FigureCanvasAgg(figure)
    return figure


def _save_figure(figure: Figure, path, dpi: Optional[float] = None) -> None:
    path = os.fspath(path)
    write_atomically(path, lambda temp_path: figure.savefig(temp_path, format="png", dpi=dpi or figure.dpi))


def imsave(path, image) -> None:
    """``matplotlib.image.imsave`` atomically: RGB(A) images as they are, 2-D images through the default
    colormap scaled to their own min..max (what the original's ``plt.imsave`` calls did)."""
    path = os.fspath(path)
    array = np.asarray(image)
    write_atomically(path, lambda temp_path: matplotlib.image.imsave(temp_path, array, format="png"))


def figure_to_array(figure: Figure) -> np.ndarray:
    """The rendered figure as uint8 RGB ``[H, W, 3]``."""
    canvas = figure.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


# ------------------------------------------------------------------------------------------- metric plots
def plot_framewise_metric(path, values: Sequence[float], frame_numbers: Sequence[int], title: str,
                          xlabel: str = "Frame") -> None:
    """The original's ``visualize_metric``: a line plus dots of ``values`` against the predicted frame numbers."""
    values = np.asarray(values, dtype=np.float64)
    frame_numbers = np.asarray(frame_numbers)
    if values.ndim != 1 or values.shape != frame_numbers.shape:
        raise ValueError(f"plot_framewise_metric({os.fspath(path)}): need one value per frame number; got "
                         f"{values.shape} values and {frame_numbers.shape} frame numbers")
    figure = _figure(6.4, 4.8)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(frame_numbers, values, linewidth=3)
    axes.scatter(frame_numbers, values)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    _save_figure(figure, path)


# ------------------------------------------------------------------------------------------- drawing helpers
def add_border(image, color: str, pad: int = 2, extend: bool = True) -> np.ndarray:
    """``[H, W]`` or ``[H, W, C]`` image -> float RGB with a ``pad``-pixel ``color`` frame (outside the image
    when ``extend``, else painted over its outer pixels)."""
    array = np.squeeze(np.asarray(image, dtype=np.float64))
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    height, width = array.shape[:2]
    rgb = array if array.ndim == 3 else np.repeat(array[..., None], 3, axis=-1)
    out_h, out_w = (height + 2 * pad, width + 2 * pad) if extend else (height, width)
    framed = np.empty((out_h, out_w, 3))
    framed[:] = to_rgb(color)
    inner = rgb if extend else rgb[pad:height - pad, pad:width - pad]
    framed[pad:out_h - pad, pad:out_w - pad] = inner[..., :3]
    return framed


def _invert_colors(image_chw: np.ndarray) -> np.ndarray:
    """The original's ``invert_colors``: white minus each of the 3 channels tinted as one of three objects."""
    result = np.ones(image_chw.shape)
    for c in range(3):
        for channel, color in enumerate(_INVERT_COLORS):
            result[c] -= (1.0 - color[c]) * image_chw[channel]
    return np.clip(result, 0.0, 1.0)


def blob_heatmap_image(maps) -> np.ndarray:
    """``[H, W, K]`` -> ``[H, W]``: the channel sum clipped to [0, 1]."""
    return np.clip(np.sum(np.asarray(maps, dtype=np.float64), axis=-1), 0.0, 1.0)


def keypoint_blobs_image(maps) -> np.ndarray:
    """``[H, W, K]`` -> RGB ``[H + 2, W + 2, 3]``: coloured blobs at the confident arg-maxima, black frame."""
    maps = np.asarray(maps, dtype=np.float64)
    height, width, num_kpoints = maps.shape
    keypoints = [(0.0, 0.0)] * num_kpoints
    for k in range(num_kpoints):
        y, x = np.unravel_index(np.argmax(maps[..., k]), (height, width))
        if maps[y, x, k] >= MIN_CONFIDENCE:
            keypoints[k] = (x / width, y / height)
    sigma = 1.0 if num_kpoints > 1 else 4.0
    blobs = np.asarray(HeatmapGenerator((height, width), num_kpoints, sigma=sigma)(keypoints), dtype=np.float64)
    colored = np.zeros((num_kpoints, 3, height, width))
    for k in range(num_kpoints):
        colored[k] = blobs[..., k][None] * np.asarray(to_rgb(COLORS[k % len(COLORS)]))[:, None, None]
    summed = np.clip(colored.sum(axis=0), 0.0, 1.0)
    return add_border(_invert_colors(summed).transpose(1, 2, 0), color="black", pad=1)


def segmentation_image(maps, frame) -> np.ndarray:
    """``[H, W, K]`` class scores over an RGB ``frame [H, W, 3]`` -> RGB ``[H, W, 3]`` with every pixel painted
    in its arg-max class colour (class 0 in seashell)."""
    classes = np.argmax(np.asarray(maps), axis=-1)
    image = np.array(frame, dtype=np.float64, copy=True)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    for cls in range(np.shape(maps)[-1]):
        image[classes == cls, :3] = to_rgb("seashell" if cls == 0 else COLORS[cls])
    return image


def structured_image(maps, struct_type: str, frame=None) -> np.ndarray:
    """One level-1/2 map drawn as its dataset's structure type says (see the module docstring)."""
    if struct_type == "BLOB_HEATMAP":
        return blob_heatmap_image(maps)
    if struct_type == "KEYPOINT_BLOBS":
        return keypoint_blobs_image(maps)
    if struct_type == "SEGMENTATION_MAPS":
        if frame is None:
            raise ValueError("SEGMENTATION_MAPS are drawn over a frame; none was given")
        return segmentation_image(maps, frame)
    raise ValueError(f"unknown structure type {struct_type!r}; known: {list(STRUCT_TYPES)}")


def _display(image: np.ndarray) -> np.ndarray:
    array = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
    return array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array


# ------------------------------------------------------------------------------------------- 04: figures
def hierarchical_figure(path, gt_frames, level_maps: Mapping[int, np.ndarray], frame_numbers: Mapping[int, Sequence],
                        context: int, struct_types: Union[str, Sequence[str]],
                        frames_dir: Optional[str] = None) -> None:
    """The original's ``visualize_hierarch_preds(save_frames=True)``: 3 rows (level 2 on top, level 0 below),
    ``context + len(level_maps[0])`` columns of 3 x 3 inches.

    ``gt_frames [T, H, W, C]`` is the whole ground-truth sequence; ``level_maps[0]`` the level-0 frames to show
    after the context (predicted, or the targets for the ``_gt`` figure), ``level_maps[1/2]`` the level maps at
    the frames ``frame_numbers[h]``. With ``frames_dir`` every drawn picture is also saved as
    ``frames_dir/hier_<h>/img_<column:02d>.png`` (what 05_assemble_figs reads back).
    """
    gt_frames = np.asarray(gt_frames)
    num_rows = 3
    num_cols = context + len(level_maps[0])
    figure = _figure(3 * num_cols, 3 * num_rows)
    axes = figure.subplots(num_rows, num_cols, squeeze=False)
    if frames_dir is not None:
        for level in range(num_rows):
            os.makedirs(os.path.join(frames_dir, f"hier_{level}"), exist_ok=True)
    for row in range(num_rows):
        level = num_rows - 1 - row
        maps = level_maps[level]
        numbers = frame_numbers[level]
        for column in range(context + len(maps)):
            axis = axes[row, column]
            if column < context:
                if level != 0:
                    continue
                frame_number, image = column, gt_frames[column]
            else:
                frame_number = int(numbers[column - context])
                image = maps[column - context] if level == 0 else gt_frames[frame_number]
            image = _display(image)
            axis.set_title(f"Frame {frame_number}", fontsize=25)
            saved = None
            if level == 0:
                axis.imshow(image, cmap="gray")
                saved = image
            else:
                if isinstance(struct_types, str):
                    struct_type = struct_types
                else:
                    struct_type = struct_types[level - 1]
                saved = structured_image(maps[column - context], struct_type, frame=image)
                axis.imshow(saved, alpha=0.4 if struct_type == "BLOB_HEATMAP" else None)
            if frames_dir is not None and saved is not None:
                imsave(os.path.join(frames_dir, f"hier_{level}", f"img_{column:02d}.png"), saved)
    figure.tight_layout()
    for axis in figure.axes:
        axis.axis("off")
    _save_figure(figure, path)


def sequence_figure(path, frames, context: int, num_cols: int = 8) -> None:
    """The original's ``visualize_preds``: frames in rows of ``num_cols`` (3 x 3 inches each), context frames
    framed in green and predictions in red (used for models without level outputs)."""
    frames = np.asarray(frames)
    num_rows = int(math.ceil(len(frames) / num_cols))
    figure = _figure(3 * num_cols, 3 * num_rows)
    axes = figure.subplots(num_rows, num_cols, squeeze=False)
    for index, frame in enumerate(frames):
        image = add_border(_display(frame), color="green" if index < context else "red")
        axes[index // num_cols, index % num_cols].imshow(image, cmap="gray")
    for axis in figure.axes:
        axis.axis("off")
    figure.tight_layout()
    _save_figure(figure, path)


# ------------------------------------------------------------------------------------------- 05: assembly
def read_sequence(directory) -> List[np.ndarray]:
    """The original's ``read_seq``: every .png/.jpg of ``directory`` in name order, as float RGB ``[H, W, 3]``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"frame folder {directory} does not exist (run 04_generate_figs.py first)")
    names = sorted(name for name in os.listdir(directory) if name[-4:] in (".png", ".jpg", "jpeg"))
    images = []
    for name in names:
        image = matplotlib.image.imread(os.path.join(directory, name))
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / 255.0
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        images.append(image[..., :3])
    return images


# The paper-grid layout per dataset (05_assemble_figs.py): level names, which context frames the bottom row shows,
# figure size in inches, subplot margins and text offsets. Other datasets get a generic layout (a port addition).
GRID_NAMES = {"kth": ("Human Poses", "Body Position"), "synpick": ("Segmentation", "Gripper Position")}
GRID_CONTEXT_FRAMES = {"kth": (0, 4, 8), "synpick": (0, 2, 3)}
GRID_SIZE = {"kth": (10, 8), "synpick": (12, 6)}
GRID_FRAME_TEXT_X = {"kth": -0.16, "synpick": 0.3}
GRID_TEXT_OFFSET = 0.4
_GRID_MARGINS = dict(left=0.0, bottom=0.15, right=1.0, top=1.0, wspace=0.01, hspace=0.1)


def grid_layout(dataset_name: str, context: int) -> dict:
    """Names, bottom-row context frames, size and frame-label offset of the 6 x 8 grid for a dataset."""
    if dataset_name in GRID_NAMES:
        return {"names": GRID_NAMES[dataset_name], "context_frames": GRID_CONTEXT_FRAMES[dataset_name],
                "size": GRID_SIZE[dataset_name], "frame_text_x": GRID_FRAME_TEXT_X[dataset_name]}
    return {"names": ("Level 1", "Level 2"), "context_frames": (0, context // 2, context - 1), "size": (10, 8),
            "frame_text_x": -0.16}


def check_grid_sequences(sequences: Mapping[int, tuple], dataset_name: str, context: int) -> dict:
    """The grid layout of ``dataset_name``, after checking that ``sequences`` can fill it: at least 5 images per
    level and ground-truth frames at the layout's context positions. Raises ValueError naming what is short."""
    layout = grid_layout(dataset_name, context)
    for level in range(3):
        for which, images in zip(("ground-truth", "predicted"), sequences[level]):
            if len(images) < 5:
                raise ValueError(f"combined grid: level {level} {which} has {len(images)} images; needs >= 5")
    gt_frames = sequences[0][0]
    if max(layout["context_frames"]) >= len(gt_frames):
        raise ValueError(f"combined grid for {dataset_name!r} shows context frames {list(layout['context_frames'])} "
                         f"but level 0 has only {len(gt_frames)} ground-truth images (context {context})")
    return layout


def combined_grid_figure(path, sequences: Mapping[int, tuple], dataset_name: str, context: int) -> None:
    """The 6 x 8 paper grid of 05_assemble_figs.py. ``sequences[h] = (gt_images, pred_images)`` as read back
    from ``gif_resources`` (level 0 holds context + predicted frames, levels 1/2 the predicted maps).

    Rows: predicted / ground-truth level 2, predicted / ground-truth level 1, predicted frames, then 3 context
    frames and the last 5 ground-truth frames; the last 5 of every sequence fill columns 3..7.
    """
    layout = check_grid_sequences(sequences, dataset_name, context)
    figure = _figure(*layout["size"])
    axes = figure.subplots(6, 8, squeeze=False)
    for j in range(5):
        axes[0, 3 + j].imshow(sequences[2][1][-5 + j])
        axes[1, 3 + j].imshow(sequences[2][0][-5 + j])
        axes[2, 3 + j].imshow(sequences[1][1][-5 + j])
        axes[3, 3 + j].imshow(sequences[1][0][-5 + j])
        axes[4, 3 + j].imshow(sequences[0][1][-5 + j])
    gt_frames = sequences[0][0]
    bottom_row = [gt_frames[k] for k in layout["context_frames"]] + list(gt_frames[-5:])
    for j in range(8):
        axes[5, j].imshow(bottom_row[j])
    for axis in figure.axes:
        axis.axis("off")
        axis.set_aspect("auto")
    low_name, high_name = layout["names"]
    font = dict(family="serif", size=20)
    axes[0, 1].text(x=GRID_TEXT_OFFSET, y=GRID_TEXT_OFFSET / 2, s=f"Predicted\n{high_name}", fontdict=font)
    axes[1, 1].text(x=GRID_TEXT_OFFSET, y=GRID_TEXT_OFFSET / 2, s=f"Ground-Truth\n{high_name}", fontdict=font)
    axes[2, 1].text(x=GRID_TEXT_OFFSET, y=GRID_TEXT_OFFSET / 2, s=f"Predicted\n{low_name}", fontdict=font)
    axes[3, 1].text(x=GRID_TEXT_OFFSET, y=GRID_TEXT_OFFSET / 2, s=f"Ground-Truth\n{low_name}", fontdict=font)
    axes[4, 1].text(x=layout["frame_text_x"], y=GRID_TEXT_OFFSET, s="Predicted Frames", fontdict=font)
    axes[5, 1].text(x=-GRID_TEXT_OFFSET, y=-2 * GRID_TEXT_OFFSET, s="Context Frames",
                    transform=axes[5, 1].transAxes, fontdict=font)
    axes[5, 5].text(x=-GRID_TEXT_OFFSET, y=-2 * GRID_TEXT_OFFSET, s="Ground-Truth Frames",
                    transform=axes[5, 5].transAxes, fontdict=font)
    figure.subplots_adjust(**_GRID_MARGINS)
    _save_figure(figure, path)


def hierarchical_gif_frames(sequences: Mapping[int, tuple], context: int, periods: Sequence[int],
                            names: Sequence[str] = ("Ground-Truth", "Predicted"), pad: int = 2) -> np.ndarray:
    """The frames of the original's ``make_gif_hierarch``: a 3 x 2 grid (level 0 at the bottom; ground truth
    left, prediction right) on a 4 x 5 inch, 120 dpi canvas, one picture per frame
    ``0 .. len(level-1 maps) * max(periods) + context - 1``. Context frames (green) show the ground-truth frame
    in every row; afterwards level h shows map ``(i - context) // periods[h]`` (red), clamped to the last.
    Returns uint8 ``[N, 600, 480, 3]``.

    Like the original's FuncAnimation, one figure is laid out once and its pictures are updated frame by frame
    (building a figure per frame is ten times slower).
    """
    num_levels = len(sequences)
    num_frames = len(sequences[1][0]) * (max(periods) if periods else 1) + context
    figure = _figure(4, 5, dpi=120)
    axes = figure.subplots(num_levels, 2, squeeze=False)
    shown_images: Dict[tuple, matplotlib.image.AxesImage] = {}
    pictures = []
    for i in range(num_frames):
        for level in range(num_levels):
            gt_images, pred_images = sequences[level]
            if i < context:
                shown = (sequences[0][0][i], sequences[0][0][i])
            else:
                index = i if level == 0 else (i - context) // periods[level]
                index = min(index, len(gt_images) - 1)
                shown = (gt_images[index], pred_images[index])
            row = axes[num_levels - 1 - level]
            for column, image in enumerate(shown):
                axis = row[column]
                # The original compares against "Ground-truth" (lower-case t), so only context frames are green.
                color = "green" if (names[column] == "Ground-truth" or i < context) else "red"
                framed = add_border(_display(image), color=color, pad=pad)
                key = (level, column)
                if key not in shown_images or shown_images[key].get_array().shape != framed.shape:
                    shown_images[key] = axis.imshow(framed)
                else:
                    shown_images[key].set_data(framed)
                axis.set_title(f"Frame {i}", fontsize=18)
                if i == 0:
                    axis.set_xticks([])
                    axis.set_yticks([])
                    if level == 0:
                        axis.set_xlabel(names[column].replace("_", " "), fontsize=18)
                    else:
                        axis.axis("off")
        if i == 0:
            figure.tight_layout()
        pictures.append(figure_to_array(figure))
    return np.stack(pictures)


def write_hierarchical_gif(path, sequences: Mapping[int, tuple], context: int, periods: Sequence[int],
                           names: Sequence[str] = ("Ground-Truth", "Predicted"), pad: int = 2,
                           interval_ms: int = 100) -> None:
    """:func:`hierarchical_gif_frames` as a looping GIF, one picture every ``interval_ms`` milliseconds."""
    write_gif(path, hierarchical_gif_frames(sequences, context, periods, names, pad), fps=1000.0 / interval_ms)


def frames_by_level(directory, levels: int = 3) -> Dict[int, List[np.ndarray]]:
    """``{h: read_sequence(directory/hier_<h>)}`` for one ``gif_resources/seq_<i>[_gt]`` folder."""
    return {level: read_sequence(os.path.join(os.fspath(directory), f"hier_{level}")) for level in range(levels)}
