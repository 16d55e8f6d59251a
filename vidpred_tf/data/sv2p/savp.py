"""SV2P's "shape" and "humans" data as SAVP read them: ``--dataset sv2p``, the original's ``SV2PVideoDataset``.

The dataset is named by the folder above the one holding the files (``data/shape/train`` -> ``shape``). One
``tf.train.Example`` per video, per step ``'image_%d'`` JPEG 64x64x3 and, for ``shape`` with ``use_state``,
``'state_%d'`` (2 floats) -> ``states`` and ``'action_%d'`` (2 floats) -> ``actions`` (``humans`` has none: asking
for them is an error). Defaults: ``shape``: ``context_frames=1, sequence_length=6, time_shift=0``; ``humans``:
``context_frames=10, sequence_length=20``. ``num_examples_per_epoch`` is the original's count of each split
(shape: train 43415, val 2898; humans: train 23910, val 10472, test 7722); for another split the port counts the
records (the original raised). Registered as ``sv2p_savp``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError

READER = "sv2p_savp"

NAMED_DEFAULTS = {
    "shape": dict(context_frames=1, sequence_length=6, time_shift=0, use_state=False),
    "humans": dict(context_frames=10, sequence_length=20, use_state=False),
}
SPLIT_COUNTS = {
    ("shape", "train"): 43415, ("shape", "val"): 2898,
    ("humans", "train"): 23910, ("humans", "val"): 10472, ("humans", "test"): 7722,
}


class SV2PVideoDataset(savp_video.FlatVideoDataset):
    """``--dataset sv2p`` (``shape`` or ``humans``, from the folder name)."""

    reader_name = READER
    DEFAULT_HPARAMS = savp_video.merged_defaults(NAMED_DEFAULTS["shape"])
    jpeg_encoding = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state_like_names_and_shapes["images"] = ("image_%d", (64, 64, 3))
        if self.hparams.use_state:
            if self.dataset_name == "humans":
                raise InputError(f"{self.reader_name}: the humans data ({self.input_dir}) has no states; "
                                 "use_state must be False")
            self.state_like_names_and_shapes["states"] = ("state_%d", (2,))
            self.action_like_names_and_shapes["actions"] = ("action_%d", (2,))
        self._check_or_infer_shapes()

    def get_default_hparams_dict(self) -> Dict[str, Any]:
        if self.dataset_name not in NAMED_DEFAULTS:
            raise InputError(f"{self.reader_name}: {self.input_dir}: the folder above the files must be named "
                             f"{' or '.join(NAMED_DEFAULTS)} (the SV2P dataset); got {self.dataset_name!r}")
        return savp_video.merged_defaults(NAMED_DEFAULTS[self.dataset_name])

    def num_examples_per_epoch(self) -> int:
        count = SPLIT_COUNTS.get((self.dataset_name, os.path.basename(self.input_dir)))
        return count if count is not None else self.count_records()


@register_reader(READER, description="SV2P shape/humans TFRecords (JPEG) as SAVP read them (--dataset sv2p)")
def read_sv2p_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                   seed: Optional[int] = None, num_epochs: Optional[int] = None,
                   validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, 64, 64, 3], for ``shape`` with ``use_state`` also
    ``states`` [B, T, 2] and ``actions`` [B, T - 1, 2]; see :class:`SV2PVideoDataset`."""
    return savp_video.read_savp(SV2PVideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
