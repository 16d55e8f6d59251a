"""The cartgripper data as SAVP read it: ``--dataset cartgripper``, the original's ``CartgripperVideoDataset``
(a softmotion dataset with fixed keys).

Files ``traj_<a>_to_<b>.tfrecords``; per step ``'%d/image_view0/encoded'`` raw uint8 48x64x3,
``'%d/endeffector_pos'`` (6 floats) -> ``states``, ``'%d/action'`` (3 floats) -> ``actions``. Defaults:
``context_frames=2, sequence_length=15, time_shift=3, use_state=True`` (on the softmotion ones, so
``long_sequence_length=30``). Registered as ``cartgripper_savp``.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.bair.savp import SoftmotionVideoDataset
from vidpred_tf.data.registry import register_reader

READER = "cartgripper_savp"


class CartgripperVideoDataset(SoftmotionVideoDataset):
    """``--dataset cartgripper``."""

    reader_name = READER
    DEFAULT_HPARAMS = dict(SoftmotionVideoDataset.DEFAULT_HPARAMS, **dict(
        context_frames=2,
        sequence_length=15,
        time_shift=3,
        use_state=True,
    ))

    def _setup_features(self) -> None:
        self.state_like_names_and_shapes["images"] = ("%d/image_view0/encoded", (48, 64, 3))
        if self.hparams.use_state:
            self.state_like_names_and_shapes["states"] = ("%d/endeffector_pos", (6,))
            self.action_like_names_and_shapes["actions"] = ("%d/action", (3,))


@register_reader(READER, description="cartgripper TFRecords as SAVP read them (--dataset cartgripper)")
def read_cartgripper_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                          seed: Optional[int] = None, num_epochs: Optional[int] = None,
                          validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, 48, 64, 3], ``states`` [B, T, 6] and ``actions``
    [B, T - 1, 3] of the folder ``paths``; see :class:`CartgripperVideoDataset`."""
    return savp_video.read_savp(CartgripperVideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
