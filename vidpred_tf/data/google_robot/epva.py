"""Google's robot push data in EPVA's (Wichers et al. 2018) format: per frame ``image_{i}`` JPEG, ``state_{i}``
[5], ``action_{i}`` [5], ``joint_positions_{i}`` [7]; made from Finn et al.'s push TFRecords by
``datasets/epva/convert_push.py``. Registered as ``google_robot_epva``; see :mod:`vidpred_tf.data.epva_records`.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from vidpred_tf.data.epva_records import epva_dataset
from vidpred_tf.data.registry import register_reader

READER = "google_robot_epva"


@register_reader(READER, description="Robot push TFRecords of EPVA (image_/state_/action_/joint_positions_{i})")
def read_google_robot_epva(paths, *, batch_size: int, sequence_length: int = 20, skip_num: int = 1,
                           pose_dim: int = 5, joint_pos_dim: int = 7, shuffle: bool = True,
                           color_data_augment: bool = False, seed: Optional[int] = None,
                           validate="first") -> tf.data.Dataset:
    """Batches ``images`` [B, T, 64, 64, 3], ``actions`` [B, T, 5] and ``joint_poses`` [B, T, 12] =
    concat(joint positions, state), T = len(range(0, sequence_length, skip_num)), as the original batched them."""
    return epva_dataset(paths, "robot", sequence_length, skip_num, batch_size, pose_dim=pose_dim,
                        joint_pos_dim=joint_pos_dim, shuffle=shuffle, color_data_augment=color_data_augment,
                        seed=seed, validate=validate, reader=READER)
