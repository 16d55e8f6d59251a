"""Download the EPVA authors' files from the public bucket gs://unsupervised-hierarch-video:

    python datasets/epva/download.py data   [TARGET]   # Human3.6M TFRecords (data/: *train*, *validation*, humans-test)
    python datasets/epva/download.py models [TARGET]   # pretrained_models/{epva_human,epva_wgan_human,e2e_human}/
    python datasets/epva/download.py vgg16  [TARGET]   # pretrained_models/vgg_16.ckpt (slim ImageNet VGG16)

TARGET defaults to ./epva_data. With ``gsutil`` on the PATH it is used (``gsutil -m cp -r``); otherwise the files
are listed through the bucket's public JSON API and fetched from https://storage.googleapis.com/... . Each file is
written to ``<name>.partial`` first and renamed when complete; files already there with the listed size are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

BUCKET = "unsupervised-hierarch-video"
PREFIXES = {
    "data": ["data/"],
    "models": ["pretrained_models/epva_human/", "pretrained_models/epva_wgan_human/",
               "pretrained_models/e2e_human/"],
    "vgg16": ["pretrained_models/vgg_16.ckpt"],
}
LIST_URL = "https://storage.googleapis.com/storage/v1/b/{bucket}/o?{query}"
OBJECT_URL = "https://storage.googleapis.com/{bucket}/{name}"


def list_objects(prefix: str, opener: Callable = urllib.request.urlopen) -> Iterator[Tuple[str, int]]:
    """(name, size) of every object under ``prefix``, following the API's page tokens."""
    token = None
    while True:
        query = {"prefix": prefix, "fields": "items(name,size),nextPageToken"}
        if token:
            query["pageToken"] = token
        with opener(LIST_URL.format(bucket=BUCKET, query=urllib.parse.urlencode(query))) as response:
            page = json.loads(response.read().decode("utf-8"))
        for item in page.get("items", []):
            if not item["name"].endswith("/"):
                yield item["name"], int(item.get("size", -1))
        token = page.get("nextPageToken")
        if not token:
            return


def fetch_https(prefixes: Sequence[str], target: str, opener: Callable = urllib.request.urlopen) -> List[str]:
    written = []
    for prefix in prefixes:
        found = False
        for name, size in list_objects(prefix, opener):
            found = True
            path = os.path.join(target, *name.split("/"))
            if os.path.exists(path) and os.path.getsize(path) == size:
                written.append(path)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            url = OBJECT_URL.format(bucket=BUCKET, name=urllib.parse.quote(name))
            print(f"Downloading {url}")
            with opener(url) as response, open(path + ".partial", "wb") as handle:
                shutil.copyfileobj(response, handle)
            os.replace(path + ".partial", path)
            written.append(path)
        if not found:
            raise FileNotFoundError(f"gs://{BUCKET}/{prefix}: no such object in the bucket")
    return written


def fetch_gsutil(prefixes: Sequence[str], target: str) -> None:
    for prefix in prefixes:
        destination = os.path.join(target, *prefix.rstrip("/").split("/")[:-1])
        os.makedirs(destination, exist_ok=True)
        subprocess.run(["gsutil", "-m", "cp", "-r", f"gs://{BUCKET}/{prefix.rstrip('/')}", destination], check=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in PREFIXES or len(argv) > 2:
        print(f"usage: download.py {{{','.join(PREFIXES)}}} [TARGET]", file=sys.stderr)
        return 2
    target = argv[1] if len(argv) == 2 else "epva_data"
    if shutil.which("gsutil"):
        fetch_gsutil(PREFIXES[argv[0]], target)
    else:
        fetch_https(PREFIXES[argv[0]], target)
    print(f"done: gs://{BUCKET}/{' '.join(PREFIXES[argv[0]])} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
