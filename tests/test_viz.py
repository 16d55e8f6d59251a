"""GIF/MP4 round trips (read back by our reader and by PIL / OpenCV), comparison grids, PNGs and plots."""

import io
import os
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest
from PIL import Image

from vidpred_tf.viz import (
    comparison_batch,
    comparison_frames,
    comparison_strip_png,
    encode_gif,
    ffmpeg_executable,
    plot_metric_curves,
    read_video,
    save_png,
    to_uint8,
    write_comparison_gif,
    write_gif,
    write_mp4,
)
from vidpred_tf.viz import video as video_module

RED = np.array([255, 0, 0], np.uint8)
GREEN = np.array([0, 255, 0], np.uint8)


def _colour_clip(length=5, height=20, width=30):
    """Frames of a few flat colours with a moving white square; frames 2 and 3 (if any) repeat frame 1."""
    colours = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [200, 200, 30], [30, 200, 200]], np.uint8)
    frames = np.empty((length, height, width, 3), np.uint8)
    for step in range(length):
        frames[step] = colours[step % len(colours)]
        frames[step, 4:10, 3 * step:3 * step + 6] = 255
    # Repeated frames must stay separate frames in the file.
    frames[2:4] = frames[1]
    return frames


def _gif_frames_with_pil(source):
    image = Image.open(source)
    frames = []
    for index in range(image.n_frames):
        image.seek(index)
        frames.append(np.asarray(image.convert("RGB")))
    return image, np.stack(frames)


def test_ffmpeg_executable_prefers_path_then_imageio(monkeypatch):
    executable = ffmpeg_executable()
    assert os.access(executable, os.X_OK)
    import imageio_ffmpeg

    monkeypatch.setattr(video_module.shutil, "which", lambda name: None)
    assert ffmpeg_executable() == imageio_ffmpeg.get_ffmpeg_exe()

    def missing():
        raise RuntimeError("no binary for this platform")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(RuntimeError, match="no ffmpeg binary found.*no binary for this platform"):
        ffmpeg_executable()


def test_to_uint8_rounds_clips_and_passes_uint8_through():
    floats = np.array([-0.2, 0.0, 100.4 / 255, 100.6 / 255, 1.0, 1.3])
    np.testing.assert_array_equal(to_uint8(floats), [0, 0, 100, 101, 255, 255])
    assert to_uint8(floats).dtype == np.uint8
    already = np.arange(24, dtype=np.uint8).reshape(2, 3, 4, 1)
    np.testing.assert_array_equal(to_uint8(already), already)
    assert to_uint8(np.zeros((2, 3, 4, 1), np.float32)).shape == (2, 3, 4, 1)
    with pytest.raises(TypeError, match="got dtype int32"):
        to_uint8(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="NaN or inf"):
        to_uint8(np.array([0.5, np.nan]))


def test_gif_round_trip_through_our_reader_and_pil(tmp_path):
    frames = _colour_clip()
    path = tmp_path / "clip.gif"
    write_gif(path, frames, fps=4)
    assert os.listdir(tmp_path) == ["clip.gif"]

    decoded = read_video(path)
    assert decoded.shape == (5, 20, 30, 3) and decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - frames).max() <= 3

    image, pil_frames = _gif_frames_with_pil(path)
    assert image.n_frames == 5 and image.size == (30, 20)
    assert image.info["loop"] == 0 and image.info["duration"] == 250
    assert np.abs(pil_frames.astype(int) - decoded).max() <= 1


def test_grayscale_gif_and_float_frames(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.random((3, 12, 14, 1))
    path = tmp_path / "gray.gif"
    write_gif(path, gray, fps=7)
    decoded = read_video(path)
    assert decoded.shape == (3, 12, 14, 3)
    expected = to_uint8(gray)[..., 0]
    for channel in range(3):
        assert np.abs(decoded[..., channel].astype(int) - expected).max() <= 2


def test_encode_gif_returns_an_animated_gif():
    data = encode_gif(_colour_clip(), fps=4)
    assert data[:6] == b"GIF89a"
    image, frames = _gif_frames_with_pil(io.BytesIO(data))
    assert image.n_frames == 5 and frames.shape == (5, 20, 30, 3)


def test_mp4_round_trip_pads_odd_sizes(tmp_path):
    length, height, width = 6, 21, 33
    rows, columns = np.mgrid[0:height, 0:width]
    frames = np.empty((length, height, width, 3), np.uint8)
    for step in range(length):
        frames[step, ..., 0] = 4 * columns + 10 * step
        frames[step, ..., 1] = 8 * rows
        frames[step, ..., 2] = 120
    path = tmp_path / "clip.mp4"
    write_mp4(path, frames, fps=5)
    assert os.listdir(tmp_path) == ["clip.mp4"]

    decoded = read_video(path)
    assert decoded.shape == (length, 22, 34, 3)
    assert np.abs(decoded[:, :height, :width].astype(float) - frames).mean() < 4.0

    capture = cv2.VideoCapture(str(path))
    count = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        assert bgr.shape == (22, 34, 3)
        count += 1
    capture.release()
    assert count == length


def test_writers_replace_existing_files_and_leave_no_temporaries(tmp_path):
    path = tmp_path / "clip.gif"
    path.write_bytes(b"old contents")
    write_gif(path, _colour_clip(length=2))
    assert read_video(path).shape[0] == 2
    assert os.listdir(tmp_path) == ["clip.gif"]


def test_writer_errors_name_the_path(tmp_path, monkeypatch):
    missing_dir = tmp_path / "missing" / "clip.gif"
    with pytest.raises(FileNotFoundError, match="missing/clip.gif"):
        write_gif(missing_dir, _colour_clip(length=2))
    with pytest.raises(ValueError, match=r"write_mp4\(.*bad.mp4\): frames must be \[T, H, W, C\].*\(4, 4, 3\)"):
        write_mp4(tmp_path / "bad.mp4", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="fps must be positive"):
        write_gif(tmp_path / "bad.gif", _colour_clip(length=2), fps=0)

    # An ffmpeg that fails: its stderr and our path come back, and the temporary file is gone.
    fake = tmp_path / "fake_ffmpeg"
    fake.write_text("#!/bin/sh\necho 'fake encoder exploded' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(video_module, "ffmpeg_executable", lambda: str(fake))
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match=r"(?s)ffmpeg failed on .*out.mp4.*fake encoder exploded"):
        write_mp4(target, _colour_clip(length=2))
    assert sorted(os.listdir(tmp_path)) == ["fake_ffmpeg"]


def test_read_video_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.mp4"):
        read_video(tmp_path / "nothing.mp4")
    garbage = tmp_path / "garbage.gif"
    garbage.write_bytes(b"this is not a video at all" * 10)
    with pytest.raises(RuntimeError, match=r"read_video: ffmpeg cannot decode .*garbage.gif"):
        read_video(garbage)


def _gray_video(length, seed, height=10, width=12):
    # Gray content (r == g == b) can never be pure red or green, so those colours come from the borders only.
    return np.random.default_rng(seed).random((length, height, width, 1))


def _border_pixels(cell, border):
    mask = np.ones(cell.shape[:2], bool)
    mask[border:-border, border:-border] = False
    return cell[mask]


@pytest.mark.parametrize("future_only", [True, False])
def test_comparison_frames_layout_and_border_colours(future_only):
    length, context, height, width, border = 6, 2, 10, 12, 2
    gt = _gray_video(length, seed=1)
    pred = _gray_video(length - context if future_only else length, seed=2)
    grid = comparison_frames(gt, pred, context_length=context, border=border)
    cell_height, cell_width = height + 2 * border, width + 2 * border
    assert grid.shape == (length, 2 * cell_height, cell_width, 3) and grid.dtype == np.uint8

    gt_rgb = np.repeat(to_uint8(gt), 3, axis=-1)
    pred_rgb = np.repeat(to_uint8(pred), 3, axis=-1)
    for step in range(length):
        top, bottom = grid[step, :cell_height], grid[step, cell_height:]
        is_red = np.all(grid[step] == RED, axis=-1)
        np.testing.assert_array_equal(top[border:-border, border:-border], gt_rgb[step])
        if step < context:
            assert not is_red.any()
            assert np.all(_border_pixels(bottom, border) == GREEN)
            np.testing.assert_array_equal(bottom[border:-border, border:-border], gt_rgb[step])
        else:
            assert is_red.sum() == _border_pixels(bottom, border).shape[0]
            assert np.all(_border_pixels(bottom, border) == RED)
            expected = pred_rgb[step - context] if future_only else pred_rgb[step]
            np.testing.assert_array_equal(bottom[border:-border, border:-border], expected)


def test_comparison_frames_rejects_misaligned_predictions():
    gt = _gray_video(6, seed=1)
    with pytest.raises(ValueError, match="pred has 3 frames; with 6 ground-truth frames and context_length 2"):
        comparison_frames(gt, gt[:3], context_length=2)
    with pytest.raises(ValueError, match="context_length must be in"):
        comparison_frames(gt, gt, context_length=7)


def test_comparison_batch_tiles_at_most_max_videos():
    gt = np.stack([_gray_video(5, seed=seed) for seed in range(3)])
    pred = np.stack([_gray_video(3, seed=10 + seed) for seed in range(3)])
    tiles = comparison_batch(gt, pred, context_length=2, max_videos=2)
    single = comparison_frames(gt[1], pred[1], context_length=2)
    assert tiles.shape == (5, single.shape[1], 2 * single.shape[2], 3)
    np.testing.assert_array_equal(tiles[:, :, single.shape[2]:], single)


def test_comparison_gif_and_strip_png(tmp_path):
    gt = np.stack([_gray_video(4, seed=seed) for seed in range(2)])
    pred = np.stack([_gray_video(2, seed=5 + seed) for seed in range(2)])
    gif_path = tmp_path / "compare.gif"
    write_comparison_gif(gif_path, gt, pred, context_length=2, fps=4)
    decoded = read_video(gif_path)
    assert decoded.shape == (4, 28, 32, 3)
    # The red frame of a predicted step survives the GIF palette; context steps have no red.
    assert np.abs(decoded[3, 14, 0].astype(int) - RED).max() <= 8
    assert not np.any(np.all(np.abs(decoded[:2].astype(int) - RED) <= 8, axis=-1))

    png_path = tmp_path / "strip.png"
    comparison_strip_png(png_path, gt[0], pred[0], context_length=2)
    strip = np.asarray(Image.open(png_path))
    assert Image.open(png_path).mode == "RGB"
    np.testing.assert_array_equal(strip, np.concatenate(list(comparison_frames(gt[0], pred[0], 2)), axis=1))
    batch_path = tmp_path / "strips.png"
    comparison_strip_png(batch_path, gt, pred, context_length=2)
    assert Image.open(batch_path).size == (4 * 16, 2 * 28)
    assert sorted(os.listdir(tmp_path)) == ["compare.gif", "strip.png", "strips.png"]


def test_save_png_keeps_rgb_order_and_modes(tmp_path):
    image = np.zeros((4, 5, 3), np.uint8)
    image[0, 0] = RED
    image[3, 4] = (0, 0, 255)
    save_png(tmp_path / "rgb.png", image)
    loaded = Image.open(tmp_path / "rgb.png")
    assert loaded.mode == "RGB" and loaded.size == (5, 4)
    np.testing.assert_array_equal(np.asarray(loaded), image)

    save_png(tmp_path / "gray.png", np.full((3, 2), 0.5))
    gray = Image.open(tmp_path / "gray.png")
    assert gray.mode == "L" and np.all(np.asarray(gray) == 128)
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 100
    save_png(tmp_path / "rgba.png", rgba)
    assert Image.open(tmp_path / "rgba.png").mode == "RGBA"
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "rgba.png")), rgba)
    with pytest.raises(ValueError, match="must end with .png"):
        save_png(tmp_path / "image.jpg", image)
    assert sorted(os.listdir(tmp_path)) == ["gray.png", "rgb.png", "rgba.png"]


def test_plot_metric_curves_writes_an_rgba_png(tmp_path):
    path = tmp_path / "psnr.png"
    plot_metric_curves(path, {"best": [30.0, 28.5, 27.0], "avg": np.array([29.0, 27.0, 25.5, 24.0])}, "psnr",
                       first_step=3, ylabel="PSNR (dB)")
    image = Image.open(path)
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (640, 400)
    # Not a blank canvas: the lines and text make many distinct colours.
    assert len(np.unique(np.asarray(image).reshape(-1, 4), axis=0)) > 10
    assert os.listdir(tmp_path) == ["psnr.png"]
    with pytest.raises(ValueError, match="no curves given"):
        plot_metric_curves(tmp_path / "empty.png", {}, "psnr")
    with pytest.raises(ValueError, match=r"curve 'bad' must be a non-empty \[T\] array; got shape \(2, 2\)"):
        plot_metric_curves(tmp_path / "bad.png", {"bad": np.zeros((2, 2))}, "mse")


def test_importing_and_plotting_leave_pyplot_and_the_backend_alone(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        import matplotlib
        matplotlib.use("svg")
        import vidpred_tf.viz as viz
        viz.plot_metric_curves({str(tmp_path / 'p.png')!r}, {{"a": [1.0, 2.0]}}, "mse")
        assert "matplotlib.pyplot" not in sys.modules
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr
