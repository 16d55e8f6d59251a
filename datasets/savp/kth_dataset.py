"""KTH Actions PNG frames -> SAVP's KTH TFRecords (the original's ``video_prediction/datasets/kth_dataset.py``).

    python datasets/savp/kth_dataset.py data/kth/processed data/kth 64 [--seed 0]

Input: ``<input_dir>/<action>/<personNN_action_dK>/image-%03d_<S>x<S>.png`` (the ffmpeg step of
``download_and_preprocess_dataset.sh``) and the meta pickles ``<input_dir>/<action>/{train,test}_meta<S>x<S>.pkl``
(lists of ``{'vid': video folder, 'files': [[frame file, ...], ...]}``, one list per subsequence).

Output, in the original format (read with the ``kth_savp`` reader): ``<output_dir>/{train,val,test}/
sequence_<a>_to_<b>.tfrecords``, 128 sequences a file, one ``tf.train.Example`` per subsequence
(``sequence_length``, ``height``, ``width``, ``channels`` int64, ``images/encoded`` = one raw uint8 ``H*W*1`` byte
string per frame: channel 0 of each PNG), and ``sequence_lengths.txt`` (one frame count a line).

Split as the original: persons 1-16 train, the rest test; the train videos are shuffled and split 95 / 5 into
train and val (val reads the train meta). The original shuffled with Python's unseeded ``random.shuffle`` of an
unsorted ``glob`` (spec Q14: not reproducible); here the video folders are sorted and shuffled with
``random.Random(--seed)`` (default 0), so the same frames give the same split.

The meta pickles are loaded with ``pickle``: use only the files of the SAVP release (``kth_meta.tar.gz``).
"""

import argparse
import glob
import os
import pickle
import random
import re
import sys

import numpy as np
from PIL import Image

try:
    import vidpred_tf  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from vidpred_tf.errors import InputError, MissingInputError, call_reporting_errors  # noqa: E402
from vidpred_tf.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # no C++ start-up lines
import tensorflow as tf  # noqa: E402

PARTITIONS = ("train", "val", "test")
SEQUENCES_PER_FILE = 128
MAX_TRAIN_PERSON = 16
TRAIN_FRACTION = 0.95
_VIDEO_DIR = re.compile(r"person(\d+)_\w+_\w+")


def partition_data(input_dir, seed=0):
    """``(train, val, test)`` lists of video folders ``<input_dir>/<action>/<vid>``."""
    if not os.path.isdir(input_dir):
        raise MissingInputError(f"KTH frame folder {input_dir} does not exist")
    video_dirs = sorted(path for path in glob.glob(os.path.join(input_dir, "*", "*")) if os.path.isdir(path))
    train, test = [], []
    for path in video_dirs:
        match = _VIDEO_DIR.match(os.path.basename(path))
        if match is None:
            raise InputError(f"{path}: a KTH video folder is named person<NN>_<action>_d<K>")
        (train if int(match.group(1)) <= MAX_TRAIN_PERSON else test).append(path)
    random.Random(seed).shuffle(train)
    pivot = int(TRAIN_FRACTION * len(train))
    return train[:pivot], train[pivot:], test


def _load_meta(path, cache):
    if path not in cache:
        if not os.path.isfile(path):
            raise MissingInputError(f"KTH meta file {path} does not exist")
        try:
            with open(path, "rb") as stream:
                cache[path] = pickle.load(stream)
        except (pickle.UnpicklingError, EOFError, ValueError) as err:
            raise InputError(f"{path}: not a KTH meta pickle ({err})") from None
    return cache[path]


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def subsequences(video_dir, partition, image_size, cache):
    """The frame-file lists of one video folder, from its action's meta pickle."""
    meta_partition = "test" if partition == "test" else "train"
    meta_path = os.path.join(os.path.dirname(video_dir), f"{meta_partition}_meta{image_size}x{image_size}.pkl")
    vid = os.path.basename(video_dir)
    entries = [entry for entry in _load_meta(meta_path, cache) if _text(entry.get("vid")) == vid]
    if len(entries) != 1:
        raise InputError(f"{meta_path}: expected one entry for video {vid}; found {len(entries)}")
    return [[os.path.join(video_dir, _text(name)) for name in files] for files in entries[0]["files"]]


def read_frames(paths):
    """Grey ``[H, W, 1]`` uint8 frames: channel 0 of each PNG."""
    frames = []
    for path in paths:
        if not os.path.isfile(path):
            raise MissingInputError(f"KTH frame {path} does not exist")
        with Image.open(path) as image:
            pixels = np.asarray(image)
        frames.append(pixels[..., None] if pixels.ndim == 2 else pixels[..., 0:1])
    return frames


def encode_sequence(frames):
    height, width, channels = frames[0].shape

    def int64(value):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    feature = {
        "sequence_length": int64(len(frames)), "height": int64(height), "width": int64(width),
        "channels": int64(channels),
        "images/encoded": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[np.ascontiguousarray(frame).tobytes() for frame in frames])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def save_partition(output_dir, video_dirs, image_size, sequences_per_file=SEQUENCES_PER_FILE):
    """Write one partition's files and ``sequence_lengths.txt``; returns the TFRecord paths."""
    partition = os.path.basename(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    cache, pending, written = {}, [], []
    first = count = 0

    def flush():
        path = os.path.join(output_dir, f"sequence_{first}_to_{count - 1}.tfrecords")
        print(f"saving sequences to {path}")
        with tf.io.TFRecordWriter(path) as writer:
            for frames in pending:
                writer.write(encode_sequence(frames))
        written.append(path)
        pending.clear()

    with open(os.path.join(output_dir, "sequence_lengths.txt"), "w") as lengths:
        for video_dir in video_dirs:
            for files in subsequences(video_dir, partition, image_size, cache):
                if not pending:
                    first = count
                pending.append(read_frames(files))
                count += 1
                lengths.write(f"{len(files)}\n")
                if len(pending) == sequences_per_file:
                    flush()
        if pending:  # the original wrote the rest only when the last video had a subsequence
            flush()
    return written


def convert(input_dir, output_dir, image_size, seed=0):
    for partition, video_dirs in zip(PARTITIONS, partition_data(input_dir, seed)):
        save_partition(os.path.join(output_dir, partition), video_dirs, image_size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("input_dir", help="folder of the action folders boxing, handclapping, handwaving, jogging, "
                                          "running, walking (PNG frames and meta pickles)")
    parser.add_argument("output_dir")
    parser.add_argument("image_size", type=int, help="frame size S of the image-NNN_SxS.png and *_metaSxS.pkl files")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/val shuffle (the original's was "
                                                              "unseeded)")
    args = parser.parse_args(argv)
    return call_reporting_errors("kth_dataset.py", convert, args.input_dir, args.output_dir, args.image_size,
                                 args.seed) or 0


if __name__ == "__main__":
    sys.exit(main())
