"""Human3.6M as EPVA (Wichers et al. 2018) read it: the authors' converted TFRecords
(``gs://unsupervised-hierarch-video/data``, ``*train*`` / ``*validation*`` / ``humans-test``) with JPEG frames
``image_{i}`` only; actions and poses are zeros. Registered as ``human36m_epva``; see
:mod:`vidpred_tf.data.epva_records` for the format and the batches (batch axis first).
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from vidpred_tf.data.epva_records import epva_dataset
from vidpred_tf.data.registry import register_reader

READER = "human36m_epva"


@register_reader(READER, description="Human3.6M TFRecords of EPVA (image_{i} JPEGs; zero actions/poses)")
def read_human36m_epva(paths, *, batch_size: int, sequence_length: int = 10, skip_num: int = 1,
                       pose_dim: int = 5, joint_pos_dim: int = 7, shuffle: bool = True,
                       color_data_augment: bool = False, seed: Optional[int] = None,
                       validate="first") -> tf.data.Dataset:
    """Batches ``images`` [B, T, 64, 64, 3], ``actions`` [B, T, 5] and ``joint_poses`` [B, T, 12] (zeros),
    T = len(range(0, sequence_length, skip_num)), as the original reader batched them."""
    return epva_dataset(paths, "human", sequence_length, skip_num, batch_size, pose_dim=pose_dim,
                        joint_pos_dim=joint_pos_dim, shuffle=shuffle, color_data_augment=color_data_augment,
                        seed=seed, validate=validate, reader=READER)
