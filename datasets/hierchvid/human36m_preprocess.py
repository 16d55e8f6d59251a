"""Human3.6M preprocessing of Villegas et al. 2017 (hierchvid; port of ``datasets/Human3.6M/preprocess.py``).

    python datasets/hierchvid/human36m_preprocess.py [DATA_DIR]    # default ./datasets/Human3.6M

Needs the D2_Positions ``.mat`` files (``cdf2mat.py`` makes them from the ``.cdf`` release) and ``imageio`` with
its ffmpeg plugin. For mode in (train, test), every ``.mp4`` of ``DATA_DIR/<mode>_list.txt`` (one path per line;
names hold spaces):

* ``data`` [N, 64] of ``MyPoseFeatures/D2_Positions/<name>.mat`` is reshaped to [N, 32, 2] (x, y in pixels);
* :func:`get_tube`: one box over all frames, padded by 20 and squared with *float* halves (its operands are floats),
  clipped to frame 0's size; joints shifted as in Penn Action (same corner quirk) and truncated to int32;
* ``<name>.npz`` beside the .mat: ``all_posey``, ``all_posex`` int32 [N, 32] and ``box`` int32 [x1, y1, x2, y2];
* ``Videos/<name>/NNNN.png`` for t < N: ``frame[y1:y2, x1:x2]`` in BGR, resized to 128 x 128 (cv2 bilinear).
"""

from __future__ import annotations

import os
import sys
from typing import List, Tuple

import cv2
import numpy as np

PAD = 20
IMAGE_SIZE = 128
MODES = ("train", "test")


def get_tube(posey: np.ndarray, posex: np.ndarray, image_shape, pad: float = PAD
             ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(posey, posex) int32 in crop pixels and the int32 box [x1, y1, x2, y2] of the squared joint box."""
    box = np.array([posex.min(), posey.min(), posex.max(), posey.max()])
    x1, x2, y1, y2 = box[0] - pad, box[2] + pad, box[1] - pad, box[3] + pad
    height, width = y2 - y1 + 1, x2 - x1 + 1
    if height > width:
        x1 = x1 - (height - width) / 2
        if x1 < 0:
            x1 = 0
        x2 = x2 + (height - width) / 2 + (height - width) % 2
        if x2 > image_shape[1]:
            x2 = image_shape[1]
    elif width > height:
        y1 = y1 - (width - height) / 2
        if y1 < 0:
            y1 = 0
        y2 = y2 + (width - height) / 2 + (width - height) % 2
        if y2 > image_shape[0]:
            y2 = image_shape[0]
    shifted_y = posey - y1 if y1 >= 0 else posey - box[1]
    shifted_x = posex - x1 if x1 >= 0 else posex - box[0]
    y1, x1 = max(y1, 0), max(x1, 0)
    return (shifted_y.astype(np.int32), shifted_x.astype(np.int32),
            np.array([x1, y1, x2, y2]).astype(np.int32))


def pose_path(video_path: str, extension: str) -> str:
    head, tail = video_path.split("Videos", 1)
    return head + "MyPoseFeatures/D2_Positions" + tail.split(".mp4")[0] + extension


def resolve(entry: str, data_dir: str) -> str:
    marker = "/Human3.6M/"
    padded = "/" + entry
    return os.path.join(data_dir, padded.split(marker, 1)[1]) if marker in padded else os.path.join(data_dir, entry)


def open_video(path: str):
    try:
        import imageio
    except ImportError as err:
        raise ImportError("human36m_preprocess needs imageio with the ffmpeg plugin (pip install imageio "
                          "imageio-ffmpeg)") from err
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: video does not exist")
    return imageio.get_reader(path, "ffmpeg")


def preprocess_video(video_path: str, image_size: int = IMAGE_SIZE, pad: float = PAD) -> np.ndarray:
    """Write one video's tube .npz and 128-px pngs; returns the box."""
    import scipy.io

    video = open_video(video_path)
    first = video.get_data(0)
    mat_path = pose_path(video_path, ".mat")
    if not os.path.isfile(mat_path):
        raise FileNotFoundError(f"{mat_path}: pose file does not exist (run cdf2mat.py first)")
    fields = scipy.io.loadmat(mat_path)
    if "data" not in fields:
        raise ValueError(f"{mat_path}: no variable 'data'")
    pose = np.reshape(fields["data"], [fields["data"].shape[0], 32, 2])
    all_posey, all_posex, box = get_tube(pose[:, :, 1], pose[:, :, 0], first.shape, pad)
    np.savez(pose_path(video_path, ".npz"), all_posey=all_posey, all_posex=all_posex, box=box)
    save_dir = video_path.split(".mp4")[0]
    os.makedirs(save_dir, exist_ok=True)
    for t in range(all_posey.shape[0]):
        frame = video.get_data(t)[box[1]:box[3], box[0]:box[2], ::-1]
        cv2.imwrite(os.path.join(save_dir, f"{t:04d}.png"), cv2.resize(frame, (image_size, image_size)))
    video.close()
    return box


def preprocess(data_dir: str = "./datasets/Human3.6M", modes=MODES) -> List[str]:
    done = []
    for mode in modes:
        with open(os.path.join(data_dir, mode + "_list.txt")) as handle:
            entries = [line.rstrip("\r") for line in handle.read().split("\n") if line.strip()]
        for entry in entries:
            video_path = resolve(entry, data_dir)
            print(video_path)
            preprocess_video(video_path)
            done.append(video_path)
    return done


def main(argv: List[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2 if len(argv) > 2 else 0
    preprocess(argv[1] if len(argv) == 2 else "./datasets/Human3.6M")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
