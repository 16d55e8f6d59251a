"""Penn Action preprocessing of Villegas et al. 2017 (hierchvid; port of ``datasets/PennAction/preprocess.py``).

    python datasets/hierchvid/penn_action_preprocess.py [DATA_DIR]    # default ./datasets/PennAction

For mode in (train, test), every video of ``DATA_DIR/<mode>_list.txt`` (lines ``./datasets/PennAction/frames/NNNN``,
``./datasets/PennAction`` standing for DATA_DIR):

* ``labels/NNNN.mat`` is loaded; its ``bbox`` rows are rounded to int32 (the last row repeated once when there are
  more jpgs than rows) and united into one box ``[min x1, min y1, max x2, max y2]``, padded by 5 and made square
  with integer halves (``(h - w) // 2`` on one side, the rest on the other), clipped to the image;
* the joints are shifted by the crop's corner, except that a corner that went negative before clipping shifts
  them by the unpadded box corner instead (quirk of the original, kept: those joints are off by the clipped part);
* ``frames/NNNN/######_cropped.png`` = ``img[y1:y2, x1:x2]`` (BGR, not resized) and ``labels/NNNN.npz`` = every
  field of the .mat with ``bbox`` rows replaced by the crop box and ``x``, ``y`` by crop pixels.
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Tuple

import cv2
import numpy as np

PAD = 5
MODES = ("train", "test")


def square_crop(box, pad: int, image_height: int, image_width: int) -> Tuple[int, int, int, int]:
    """(x1, y1, x2, y2) of the padded, squared crop; x1/y1 may still be negative (the caller clips them)."""
    x1, y1, x2, y2 = int(box[0]) - pad, int(box[1]) - pad, int(box[2]) + pad, int(box[3]) + pad
    height, width = y2 - y1 + 1, x2 - x1 + 1
    if height > width:
        x1 = max(x1 - (height - width) // 2, 0)
        x2 = min(x2 + (height - width) // 2 + (height - width) % 2, image_width)
    elif width > height:
        y1 = max(y1 - (width - height) // 2, 0)
        y2 = min(y2 + (width - height) // 2 + (width - height) % 2, image_height)
    return x1, y1, x2, y2


def shift_joints(posex, posey, box, x1: int, y1: int):
    """Joints in crop pixels, with the original's fallback to the unpadded corner when x1 / y1 < 0."""
    return posex - (x1 if x1 >= 0 else box[0]), posey - (y1 if y1 >= 0 else box[1])


def resolve(entry: str, data_dir: str) -> str:
    marker = "/PennAction/"
    padded = "/" + entry
    return os.path.join(data_dir, padded.split(marker, 1)[1]) if marker in padded else os.path.join(data_dir, entry)


def preprocess_video(frames_dir: str, labels_dir: str, pad: int = PAD) -> Dict[str, np.ndarray]:
    """Crop one video's jpgs and write its labels .npz; returns the saved fields."""
    import scipy.io

    video = os.path.basename(frames_dir.rstrip("/"))
    mat_path = os.path.join(labels_dir, video + ".mat")
    if not os.path.isfile(mat_path):
        raise FileNotFoundError(f"{mat_path}: label file does not exist")
    fields = scipy.io.loadmat(mat_path)
    for key in ("bbox", "x", "y", "visibility"):
        if key not in fields:
            raise ValueError(f"{mat_path}: no field {key!r}")
    posex, posey = fields["x"], fields["y"]
    names = sorted(name for name in os.listdir(frames_dir) if name.endswith(".jpg"))
    bboxes = fields["bbox"].round().astype(np.int32)
    if len(names) > bboxes.shape[0]:
        bboxes = np.concatenate([bboxes, bboxes[-1][None]], axis=0)
    if len(names) > bboxes.shape[0] or len(names) > posex.shape[0]:
        raise ValueError(f"{mat_path}: {bboxes.shape[0]} bbox rows and {posex.shape[0]} pose rows for "
                         f"{len(names)} frames in {frames_dir}")
    box = np.array([bboxes[:, 0].min(), bboxes[:, 1].min(), bboxes[:, 2].max(), bboxes[:, 3].max()], np.int32)
    for j, name in enumerate(names):
        image = cv2.imread(os.path.join(frames_dir, name))
        if image is None:
            raise ValueError(f"{os.path.join(frames_dir, name)}: cannot be decoded as an image")
        x1, y1, x2, y2 = square_crop(box, pad, image.shape[0], image.shape[1])
        posex[j], posey[j] = shift_joints(posex[j], posey[j], box, x1, y1)
        x1, y1 = max(x1, 0), max(y1, 0)
        bboxes[j] = np.array([x1, y1, x2, y2])
        cv2.imwrite(os.path.join(frames_dir, name.split(".")[0] + "_cropped.png"), image[y1:y2, x1:x2])
    fields["bbox"], fields["x"], fields["y"] = bboxes, posex, posey
    np.savez(os.path.join(labels_dir, video + ".npz"), **fields)
    return fields


def preprocess(data_dir: str = "./datasets/PennAction", modes=MODES, pad: int = PAD) -> List[str]:
    """Preprocess every video of ``<mode>_list.txt``; returns the frame directories done."""
    done = []
    for mode in modes:
        list_path = os.path.join(data_dir, mode + "_list.txt")
        with open(list_path) as handle:
            lines = [line.split()[0] for line in handle.read().split("\n") if line.strip()]
        for i, line in enumerate(lines):
            frames_dir = resolve(line, data_dir)
            preprocess_video(frames_dir, os.path.join(data_dir, "labels"), pad)
            done.append(frames_dir)
            print(f"{i}/{len(lines)} {mode} processed")
    return done


def main(argv: List[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2 if len(argv) > 2 else 0
    preprocess(argv[1] if len(argv) == 2 else "./datasets/PennAction")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
