"""GIF and MP4 writing and video reading through ffmpeg (ffmpeg-python), plus the float -> uint8 conversion.

The ffmpeg binary is the one on PATH, or else the static build shipped by the imageio-ffmpeg wheel. That build has
no ffprobe, so :func:`read_video` learns the frame size from the PPM headers of the decoded frames.
Files are written atomically: to a temporary name with the same extension in the target directory, then
``os.replace``.
"""

from __future__ import annotations

import errno
import os
import shutil
from typing import List

import ffmpeg
import numpy as np

from vidpred_tf.fileio import write_atomically


def ffmpeg_executable() -> str:
    """Path of the ffmpeg binary: ``ffmpeg`` on PATH, else imageio-ffmpeg's bundled one."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg  # noqa: PLC0415 - the fallback when no ffmpeg is on PATH
        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as err:
        raise RuntimeError(
            "no ffmpeg binary found: install ffmpeg on PATH or `pip install imageio-ffmpeg` "
            f"(which ships one); looking up imageio-ffmpeg failed with: {err}") from err


def to_uint8(frames) -> np.ndarray:
    """Frames as uint8: floats in [0, 1] are scaled by 255, rounded and clipped; uint8 passes through unchanged.

    The shape is kept, so grayscale ``[..., 1]`` frames stay one channel. Other dtypes are rejected.
    """
    array = np.asarray(frames)
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(f"to_uint8: frames must be float in [0, 1] or uint8; got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError("to_uint8: frames contain NaN or inf")
    return np.clip(np.round(array * 255.0), 0, 255).astype(np.uint8)


def _video_frames(frames, where: str) -> np.ndarray:
    """Validated ``uint8 [T, H, W, C]`` with C in (1, 3)."""
    array = to_uint8(frames)
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or min(array.shape) == 0:
        raise ValueError(f"{where}: frames must be [T, H, W, C] with T, H, W > 0 and C 1 or 3; "
                         f"got shape {array.shape}")
    return np.ascontiguousarray(array)


def _check_fps(fps, where: str) -> float:
    fps = float(fps)
    if not fps > 0:
        raise ValueError(f"{where}: fps must be positive; got {fps}")
    return fps


def _raw_input(frames: np.ndarray, fps: float):
    _, height, width, channels = frames.shape
    return ffmpeg.input("pipe:", format="rawvideo", pix_fmt="gray" if channels == 1 else "rgb24",
                        s=f"{width}x{height}", framerate=fps)


def _gif_stream(frames: np.ndarray, fps: float):
    # One palette computed over the whole clip gives far better colours than the default 256-colour web palette.
    source = _raw_input(frames, fps).split()
    palette = source[0].filter("palettegen")
    return ffmpeg.filter([source[1], palette], "paletteuse")


def _run(stream, frames: np.ndarray, where: str) -> bytes:
    try:
        stream = stream.global_args("-hide_banner").overwrite_output()
        stdout, _ = stream.run(cmd=ffmpeg_executable(), input=frames.tobytes(), capture_stdout=True,
                               capture_stderr=True)
    except ffmpeg.Error as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace").strip()
        if "No space left on device" in stderr or "Disk quota exceeded" in stderr:
            # A full disk, not an encoder problem: an OSError that says so, naming what was being written.
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), where) from None
        raise RuntimeError(f"ffmpeg failed on {where}:\n{stderr[-3000:]}") from None
    return stdout


def encode_gif(frames, fps=4) -> bytes:
    """The bytes of an animated GIF (looping) of ``frames [T, H, W, C]``; e.g. for TensorBoard image summaries."""
    frames = _video_frames(frames, "encode_gif")
    fps = _check_fps(fps, "encode_gif")
    stream = _gif_stream(frames, fps).output("pipe:", format="gif", loop=0)
    return _run(stream, frames, "GIF encoding")


def write_gif(path, frames, fps=4) -> None:
    """Write ``frames [T, H, W, C]`` (float in [0, 1] or uint8; 1 or 3 channels) as a looping GIF at ``path``."""
    where = f"write_gif({os.fspath(path)})"
    frames = _video_frames(frames, where)
    fps = _check_fps(fps, where)

    def write(temp_path):
        stream = _gif_stream(frames, fps).output(temp_path, format="gif", loop=0)
        _run(stream, frames, os.fspath(path))

    write_atomically(path, write)


def write_mp4(path, frames, fps=4, crf: int = 18) -> None:
    """Write ``frames [T, H, W, C]`` as an H.264 (libx264, yuv420p) MP4 at ``path``.

    yuv420p needs an even width and height: odd sizes get one black row/column added at the bottom/right.
    ``crf`` is x264's quality (0 = lossless luma, 23 = x264's default); 18 keeps thin digit strokes readable.
    """
    where = f"write_mp4({os.fspath(path)})"
    frames = _video_frames(frames, where)
    fps = _check_fps(fps, where)
    if not 0 <= crf <= 51:
        raise ValueError(f"{where}: crf must be in [0, 51]; got {crf}")
    _, height, width, _ = frames.shape
    if height % 2 or width % 2:
        frames = np.pad(frames, [(0, 0), (0, height % 2), (0, width % 2), (0, 0)])

    def write(temp_path):
        stream = _raw_input(frames, fps).output(temp_path, format="mp4", vcodec="libx264", pix_fmt="yuv420p",
                                                crf=crf, movflags="+faststart")
        _run(stream, frames, os.fspath(path))

    write_atomically(path, write)


def _parse_ppm_stream(data: bytes, path: str) -> np.ndarray:
    """Split ffmpeg's image2pipe output of binary PPM (P6) frames into ``uint8 [T, H, W, 3]``."""
    frames: List[np.ndarray] = []
    position = 0
    while position < len(data):
        fields = []
        # A P6 header is four whitespace-separated tokens (magic, width, height, maxval) then one whitespace byte.
        while len(fields) < 4:
            while position < len(data) and data[position:position + 1].isspace():
                position += 1
            if data[position:position + 1] == b"#":
                position = data.index(b"\n", position) + 1
                continue
            end = position
            while end < len(data) and not data[end:end + 1].isspace():
                end += 1
            if end == position:
                raise RuntimeError(f"read_video({path}): truncated frame header from ffmpeg")
            fields.append(data[position:end])
            position = end
        position += 1
        if fields[0] != b"P6" or fields[3] != b"255":
            raise RuntimeError(f"read_video({path}): unexpected frame header from ffmpeg: {fields}")
        width, height = int(fields[1]), int(fields[2])
        size = width * height * 3
        if position + size > len(data):
            raise RuntimeError(f"read_video({path}): truncated frame data from ffmpeg")
        frames.append(np.frombuffer(data, np.uint8, size, position).reshape(height, width, 3))
        position += size
    if not frames:
        raise RuntimeError(f"read_video({path}): ffmpeg decoded no video frames")
    if len({frame.shape for frame in frames}) != 1:
        raise RuntimeError(f"read_video({path}): frame size changes within the video: "
                           f"{sorted({frame.shape for frame in frames})}")
    return np.stack(frames)


def read_video(path) -> np.ndarray:
    """Decode every frame of the video or GIF at ``path`` into ``uint8 [T, H, W, 3]`` (RGB).

    Frames are passed through as decoded (no frame-rate conversion that would drop or duplicate frames).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_video: no such file: {path}")
    executable = ffmpeg_executable()
    # Each PPM frame carries its own width and height, which spares a separate probe of the stream.
    base = ffmpeg.input(path)

    def decode(**frame_rate_mode):
        stream = base.output("pipe:", format="image2pipe", vcodec="ppm", pix_fmt="rgb24", **frame_rate_mode)
        return stream.global_args("-hide_banner").run(cmd=executable, capture_stdout=True, capture_stderr=True)

    try:
        stdout, _ = decode(fps_mode="passthrough")
    except ffmpeg.Error as err:
        stderr = (err.stderr or b"").decode("utf-8", "replace").strip()
        if "fps_mode" not in stderr:
            raise RuntimeError(f"read_video: ffmpeg cannot decode {path}:\n{stderr[-3000:]}") from None
        # ffmpeg older than 5.1 knows the same setting only as -vsync.
        try:
            stdout, _ = decode(vsync="passthrough")
        except ffmpeg.Error as retry_err:
            stderr = (retry_err.stderr or b"").decode("utf-8", "replace").strip()
            raise RuntimeError(f"read_video: ffmpeg cannot decode {path}:\n{stderr[-3000:]}") from None
    return _parse_ppm_stream(stdout, path)
