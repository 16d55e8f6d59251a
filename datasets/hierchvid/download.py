"""Download the assets published with Villegas et al. 2017 (hierchvid), from the URLs of the original's scripts
(``perceptual_models/download.sh``, ``datasets/*/download_hourglass.sh``):

    python datasets/hierchvid/download.py perceptual [ROOT]       # ROOT/perceptual_models/{hourglass,alexnet}/
    python datasets/hierchvid/download.py penn_hourglass [ROOT]   # ROOT/datasets/PennAction/hourglass/*.npz
    python datasets/hierchvid/download.py h36m_hourglass [ROOT]   # ROOT/datasets/Human3.6M/S{9,11}_Hourglass/*.npz

ROOT defaults to the working directory (the original ran from the repository root). Each archive is fetched to
``<name>.partial``, renamed when complete, unpacked where the original unpacked it and removed.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import urllib.request
from typing import Callable, Dict, List, Tuple

# target -> (folder under ROOT, [(archive name, URL)])
ASSETS: Dict[str, Tuple[str, List[Tuple[str, str]]]] = {
    "perceptual": ("perceptual_models", [
        ("hourglass.tar.gz", "https://umich.box.com/shared/static/dhamhcgw57h9anotvhwfg940lcmgskpj.gz"),
        ("alexnet.tar.gz", "https://umich.box.com/shared/static/6dvzphk83f5pqu4hjug48olthqztkn7w.gz")]),
    "penn_hourglass": (os.path.join("datasets", "PennAction"), [
        ("hourglass.tar.gz", "https://umich.box.com/shared/static/4agdc5ihb8er6pannnzm2fcdzh8xpw18.gz")]),
    "h36m_hourglass": (os.path.join("datasets", "Human3.6M"), [
        ("S9_Hourglass.tar.gz", "https://umich.box.com/shared/static/3bloh41dlznc2i6f4tcwon1xq2x5vz77.gz"),
        ("S11_Hourglass.tar.gz", "https://umich.box.com/shared/static/huvuit4w0c9vz51uvw2wfqg10ngv3owv.gz")]),
}


def fetch(url: str, target: str, opener: Callable = urllib.request.urlopen) -> str:
    partial = target + ".partial"
    with opener(url) as response, open(partial, "wb") as handle:
        shutil.copyfileobj(response, handle)
    os.replace(partial, target)
    return target


def unpack(archive: str, folder: str) -> None:
    """Extract ``archive`` into ``folder``, refusing members that would land outside it."""
    base = os.path.realpath(folder)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            destination = os.path.realpath(os.path.join(base, member.name))
            if os.path.commonpath([base, destination]) != base:
                raise ValueError(f"{archive}: member {member.name!r} points outside {folder}")
        tar.extractall(base)


def download(target: str, root: str = ".", opener: Callable = urllib.request.urlopen) -> List[str]:
    if target not in ASSETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(ASSETS)}")
    folder, archives = ASSETS[target]
    folder = os.path.join(root, folder)
    os.makedirs(folder, exist_ok=True)
    done = []
    for name, url in archives:
        archive = fetch(url, os.path.join(folder, name), opener)
        unpack(archive, folder)
        os.remove(archive)
        done.append(name)
    return done


def main(argv: List[str]) -> int:
    if len(argv) not in (2, 3) or argv[1] not in ASSETS:
        print(__doc__)
        return 0 if len(argv) == 2 and argv[1] in ("-h", "--help") else 2
    download(argv[1], argv[2] if len(argv) == 3 else ".")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
