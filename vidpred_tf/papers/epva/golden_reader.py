"""Golden check of the EPVA readers against what the ORIGINAL ``get_input_fn_queue`` returned.

A reader case is a folder holding ``reader_outputs.npz`` (keys ``<dataset_type>_seq<N>_skip<K>_b<B>__images`` /
``__actions`` / ``__joint_poses``), ``reader_outputs.json`` (their shapes) and the fake TFRecords the original read.
Which TFRecord is the robot one is decided by its content (a record holding ``state_0``), not by its name. Each
recorded configuration is rerun through :func:`vidpred_tf.data.epva_records.epva_dataset` in file order (the
original's batch rows are copies of the single example, as its queue looped) and compared: images to 1.2e-7 abs
(the README's measured agreement of the legacy bicubic kernel), actions and poses exactly (copied floats).
"""

from __future__ import annotations

import json
import re
from typing import Dict, List, Tuple

import numpy as np
import tensorflow as tf

from vidpred_tf.data.epva_records import epva_dataset
from vidpred_tf.golden.common import GoldenCase, Layout, find_layout_cases

READER_LAYOUT = Layout("reader", "reader_outputs.npz", companions=(
    ("reader_outputs.json", "the shapes of the recorded reader outputs"),
    ("*.tfrecord", "the fake TFRecords the original read")), name="reader")
IMAGE_TOL = 1.2e-7
OUTPUT_NAMES = ("images", "actions", "joint_poses")
_TAG = re.compile(r"^(robot|human)_seq(\d+)_skip(\d+)_b(\d+)__(images|actions|joint_poses)$")


def find_reader_cases(path) -> List[GoldenCase]:
    return find_layout_cases(path, (READER_LAYOUT,))


def recorded_configs(keys) -> Dict[str, Tuple[str, int, int, int]]:
    """Tag -> (dataset_type, sequence_length, skip_num, batch_size) of every recorded configuration."""
    configs = {}
    for key in keys:
        match = _TAG.match(key)
        if match:
            configs[key.split("__")[0]] = (match.group(1), int(match.group(2)), int(match.group(3)),
                                           int(match.group(4)))
    return configs


def _dataset_type_of(path) -> str:
    first = next(iter(tf.data.TFRecordDataset([str(path)]).take(1)))
    keys = tf.train.Example.FromString(first.numpy()).features.feature
    return "robot" if "state_0" in keys else "human"


def check_reader_case(case, report) -> None:
    if not isinstance(case, GoldenCase):
        found = find_reader_cases(case)
        if len(found) != 1:
            report.failure("case layout", f"{case} is not one epva reader case (reader_outputs.npz + "
                                          "reader_outputs.json + the fake *.tfrecord files)")
            return
        case = found[0]
    if case.missing:
        report.failure("case layout", case.missing_text())
        return
    golden = np.load(case.anchor)
    shapes = json.loads(case.file("reader_outputs.json").read_text())
    records: Dict[str, List[str]] = {}
    for path in sorted(case.directory.glob("*.tfrecord")):
        records.setdefault(_dataset_type_of(path), []).append(str(path))
    configs = recorded_configs(golden.files)
    report.condition("recorded configurations found", bool(configs), f"{sorted(configs)}")
    for tag, (dataset_type, sequence_length, skip_num, batch_size) in sorted(configs.items()):
        if dataset_type not in records:
            report.failure(tag, f"no {dataset_type} TFRecord in {case.directory}")
            continue
        dataset = epva_dataset(records[dataset_type], dataset_type, sequence_length, skip_num, batch_size,
                               shuffle=False, repeat=True)
        batch = next(iter(dataset))
        for name in OUTPUT_NAMES:
            key = f"{tag}__{name}"
            if key not in golden.files:
                continue
            expected = golden[key]
            recorded_shape = list(shapes.get(key, [list(expected.shape)])[0])
            actual = batch[name].numpy()
            report.condition(f"{key} shape", list(actual.shape) == recorded_shape == list(expected.shape),
                             f"port {list(actual.shape)}, recorded {recorded_shape}")
            if name == "images":
                report.output(key, actual, expected, tol=IMAGE_TOL)
            else:
                report.exact(key, actual, expected)
