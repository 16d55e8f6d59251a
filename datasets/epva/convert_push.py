"""Convert Finn et al.'s robot push TFRecords (https://sites.google.com/site/brainrobotdata/home/push-dataset)
into the TFRecord format EPVA reads (``vidpred_tf.data.epva_records``, reader ``google_robot_epva``):

    python datasets/epva/convert_push.py --input 'push/push_train/*' --output_prefix robot_data/robot_train

Per step ``i`` of every source example: ``move/{i}/image/encoded`` (JPEG, copied byte for byte; the reader resizes
to 64x64) -> ``image_{i}``, ``move/{i}/endeffector/vec_pitch_yaw`` [5] -> ``state_{i}``,
``move/{i}/commanded_pose/vec_pitch_yaw`` [5] -> ``action_{i}``, ``move/{i}/joint/positions`` [7] ->
``joint_positions_{i}``. Output files are ``<output_prefix>-NNNNN-of-MMMMM.tfrecord`` (one per input file), so
name the prefix with ``train`` / ``validation`` to match EPVA's ``--data_pattern`` (``*train*``, ``*validation*``).
A record lacking a key is reported in one line naming the file, the record and the key.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional, Sequence

import tensorflow as tf

SOURCE_KEYS = {
    "image": "move/{i}/image/encoded",
    "state": "move/{i}/endeffector/vec_pitch_yaw",
    "action": "move/{i}/commanded_pose/vec_pitch_yaw",
    "joint_positions": "move/{i}/joint/positions",
}
SIZES = {"state": 5, "action": 5, "joint_positions": 7}


class ConversionError(ValueError):
    """A source record that cannot be converted (named by file, record and key)."""


def num_steps(features) -> int:
    """Steps of one source example: consecutive ``move/{i}/image/encoded`` keys from 0."""
    steps = 0
    while SOURCE_KEYS["image"].format(i=steps) in features:
        steps += 1
    return steps


def convert_example(serialized: bytes, where: str, max_steps: Optional[int] = None) -> bytes:
    source = tf.train.Example.FromString(serialized).features.feature
    steps = num_steps(source)
    if steps == 0:
        raise ConversionError(f"{where}: missing key {SOURCE_KEYS['image'].format(i=0)!r}")
    if max_steps is not None:
        steps = min(steps, max_steps)
    out = {}
    for i in range(steps):
        for name, pattern in SOURCE_KEYS.items():
            key = pattern.format(i=i)
            if key not in source:
                raise ConversionError(f"{where}: missing key {key!r}")
            if name == "image":
                out[f"image_{i}"] = tf.train.Feature(bytes_list=tf.train.BytesList(
                    value=[source[key].bytes_list.value[0]]))
                continue
            values = list(source[key].float_list.value)
            if len(values) != SIZES[name]:
                raise ConversionError(f"{where}: key {key!r} holds {len(values)} floats, expected {SIZES[name]}")
            out[f"{name}_{i}"] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Example(features=tf.train.Features(feature=out)).SerializeToString()


def convert_files(inputs: Sequence[str], output_prefix: str, max_steps: Optional[int] = None) -> List[str]:
    """Convert each input file into one output file; returns the written paths."""
    outputs = []
    total = len(inputs)
    directory = os.path.dirname(output_prefix)
    if directory:
        tf.io.gfile.makedirs(directory)
    for index, path in enumerate(inputs):
        target = f"{output_prefix}-{index:05d}-of-{total:05d}.tfrecord"
        partial = target + ".partial"
        count = 0
        try:
            with tf.io.TFRecordWriter(partial) as writer:
                for record in tf.data.TFRecordDataset([path]):
                    writer.write(convert_example(record.numpy(), f"{path}: record {count}", max_steps))
                    count += 1
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
            tf.io.gfile.remove(partial)
            raise ConversionError(f"{path}: record {count}: corrupt or truncated record") from err
        except ConversionError:
            tf.io.gfile.remove(partial)
            raise
        tf.io.gfile.rename(partial, target, overwrite=True)
        outputs.append(target)
        print(f"{path}: {count} records -> {target}")
    return outputs


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="glob (or comma-separated globs) of push TFRecord files")
    parser.add_argument("--output_prefix", required=True, help="e.g. robot_data/robot_train")
    parser.add_argument("--max_steps", type=int, default=None, help="keep only the first N steps per video")
    args = parser.parse_args(argv)
    inputs = []
    for pattern in [p for p in args.input.split(",") if p]:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            print(f"{parser.prog}: error: no file matches {pattern!r}", file=sys.stderr)
            return 2
        inputs.extend(matched)
    try:
        convert_files(inputs, args.output_prefix, args.max_steps)
    except ConversionError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
