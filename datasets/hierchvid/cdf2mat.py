"""Human3.6M D2_Positions ``.cdf`` -> ``.mat`` (variable ``data`` [N, 64]), the Python form of the original's
``datasets/Human3.6M/cdf2mat.m``:

    python datasets/hierchvid/cdf2mat.py [DATA_DIR]    # default ./datasets/Human3.6M

For every subject S1..S11 present, each ``S<k>/MyPoseFeatures/D2_Positions/*.cdf`` gets a ``.mat`` beside it holding
its first variable's first record (MATLAB's ``cdfread(...){1}``; ``Pose`` [N, 64] in the release). Reading CDF needs
the ``cdflib`` package (``pip install cdflib``), imported only when a file is converted.
"""

from __future__ import annotations

import os
import sys
from typing import List

import numpy as np

SUBJECTS = range(1, 12)


def read_cdf_data(path: str) -> np.ndarray:
    """The first variable of a CDF file as a 2-D [N, 64] array."""
    try:
        import cdflib
    except ImportError as err:
        raise ImportError("cdf2mat.py needs the cdflib package to read .cdf files: pip install cdflib") from err
    cdf = cdflib.CDF(path)
    info = cdf.cdf_info()
    names = list(getattr(info, "zVariables", []) or []) + list(getattr(info, "rVariables", []) or [])
    if not names:
        raise ValueError(f"{path}: CDF file has no variables")
    data = np.asarray(cdf.varget(names[0]))
    if data.ndim == 3 and data.shape[0] == 1:
        data = data[0]
    if data.ndim != 2:
        raise ValueError(f"{path}: variable {names[0]!r} has shape {data.shape}, expected [1, N, 64] or [N, 64]")
    return data


def convert(data_dir: str = "./datasets/Human3.6M") -> List[str]:
    """Convert every D2_Positions .cdf; returns the .mat paths written."""
    import scipy.io

    written = []
    for subject in SUBJECTS:
        pose_dir = os.path.join(data_dir, f"S{subject}", "MyPoseFeatures", "D2_Positions")
        print(pose_dir)
        if not os.path.isdir(pose_dir):
            continue
        for name in sorted(os.listdir(pose_dir)):
            if not name.endswith("cdf"):
                continue
            target = os.path.join(pose_dir, name[:-4] + ".mat")
            scipy.io.savemat(target, {"data": read_cdf_data(os.path.join(pose_dir, name))})
            written.append(target)
    return written


def main(argv: List[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2 if len(argv) > 2 else 0
    convert(argv[1] if len(argv) == 2 else "./datasets/Human3.6M")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
