"""Google's robot push data as SAVP read it: ``--dataset google_robot``, the original's
``GoogleRobotVideoDataset`` (https://sites.google.com/site/brainrobotdata/home/push-dataset).

One ``tf.train.Example`` per video, per step ``'move/%d/image/encoded'`` JPEG 512x640x3, and with ``use_state``
``'move/%d/endeffector/vec_pitch_yaw'`` (5 floats) -> ``states`` and ``'move/%d/commanded_pose/vec_pitch_yaw'``
(5 floats) -> ``actions``. Defaults: ``context_frames=2, sequence_length=15``. ``num_examples_per_epoch`` is the
original's count of the folders ``push_train`` (51615), ``push_testseen`` (1038) and ``push_testnovel`` (995);
for another folder the port counts the records (the original raised). Registered as ``google_robot_savp``.
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.registry import register_reader

READER = "google_robot_savp"

SPLIT_COUNTS = {"push_train": 51615, "push_testseen": 1038, "push_testnovel": 995}


class GoogleRobotVideoDataset(savp_video.FlatVideoDataset):
    """``--dataset google_robot``."""

    reader_name = READER
    DEFAULT_HPARAMS = savp_video.merged_defaults(dict(
        context_frames=2,
        sequence_length=15,
    ))
    jpeg_encoding = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state_like_names_and_shapes["images"] = ("move/%d/image/encoded", (512, 640, 3))
        if self.hparams.use_state:
            self.state_like_names_and_shapes["states"] = ("move/%d/endeffector/vec_pitch_yaw", (5,))
            self.action_like_names_and_shapes["actions"] = ("move/%d/commanded_pose/vec_pitch_yaw", (5,))
        self._check_or_infer_shapes()

    def num_examples_per_epoch(self) -> int:
        count = SPLIT_COUNTS.get(os.path.basename(self.input_dir))
        return count if count is not None else self.count_records()


@register_reader(READER, description="Google robot push TFRecords (JPEG) as SAVP read them (--dataset google_robot)")
def read_google_robot_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                           seed: Optional[int] = None, num_epochs: Optional[int] = None,
                           validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, 512, 640, 3] (or cropped/scaled), with ``use_state``
    ``states`` [B, T, 5] and ``actions`` [B, T - 1, 5]; see :class:`GoogleRobotVideoDataset`."""
    return savp_video.read_savp(GoogleRobotVideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
