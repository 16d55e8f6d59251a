"""BAIR robot pushing as SAVP read it: ``--dataset bair`` (= ``softmotion``), the original's
``SoftmotionVideoDataset`` (https://sites.google.com/view/sna-visual-mpc).

Files ``traj_<a>_to_<b>.tfrecords`` (``b - a + 1`` trajectories each: that is how ``num_examples_per_epoch``
counts), one ``tf.train.Example`` per trajectory with, for each step ``t``:

* ``'%d/<image>/encoded'``: one byte string, **raw** uint8 RGB ``H*W*3`` bytes (not JPEG), row-major HWC. The image
  name is the ``<image>`` of the keys matching ``\\d+/(\\w+)/encoded``: ``image_aux1`` if present, else
  ``image_view0``, else the only one. ``H = W = sqrt(nbytes / 3)`` (the original used the base64 length, Q10).
* ``'%d/endeffector_pos'`` (3 floats) -> ``states`` and ``'%d/action'`` (4 floats) -> ``actions``, with
  ``use_state`` only.
* optional ``'%d/object_pos'`` (2 K floats): then ``object_pos`` ``[T, 2K]`` and ``pix_distribs``
  ``[T, H, W, K]`` (bilinear one-hot maps of the K (y, x) positions) are added.

The sequence length is the number of image keys (or of action keys + 1, whichever is smaller): 30 for BAIR.
Defaults: ``context_frames=2, sequence_length=12, long_sequence_length=30, time_shift=2``; so train clips start at
0, 2, ..., 18 and val/test clips at 0. Registered as the reader ``bair_savp``.
"""

from __future__ import annotations

import re
from typing import Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError

READER = "bair_savp"

_IMAGE_KEY = re.compile(r"\d+/(\w+)/encoded")
_OBJECT_POS = re.compile(r"\d+/object_pos")


class SoftmotionVideoDataset(savp_video.FlatVideoDataset):
    """``--dataset softmotion`` / ``bair``."""

    reader_name = READER
    DEFAULT_HPARAMS = savp_video.merged_defaults(dict(
        context_frames=2,
        sequence_length=12,
        long_sequence_length=30,
        time_shift=2,
    ))
    jpeg_encoding = False
    image_names = ("image_aux1", "image_view0")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._setup_features()
        self._check_or_infer_shapes()

    def _setup_features(self) -> None:
        features = self.first_example().features.feature
        found = sorted({match.group(1) for match in map(_IMAGE_KEY.search, features) if match})
        preferred = [name for name in self.image_names if name in found]
        if preferred:
            image_name = preferred[0]
        elif len(found) == 1:
            image_name = found[0]
        elif not found:
            raise InputError(f"{self.reader_name}: {self.filenames[0]}: record 0 has no '<t>/<name>/encoded' image "
                             "feature")
        else:
            raise InputError(f"{self.reader_name}: {self.filenames[0]}: record 0 has images under more than one "
                             f"name ({', '.join(found)}) and none is {' or '.join(self.image_names)}")
        self.state_like_names_and_shapes["images"] = (f"%d/{image_name}/encoded", None)
        if self.hparams.use_state:
            self.state_like_names_and_shapes["states"] = ("%d/endeffector_pos", (3,))
            self.action_like_names_and_shapes["actions"] = ("%d/action", (4,))
        if any(_OBJECT_POS.search(name) for name in features):
            self.state_like_names_and_shapes["object_pos"] = ("%d/object_pos", None)

    def parser(self, serialized, seed):
        state_like, action_like = super().parser(serialized, seed)
        if "object_pos" in state_like:
            height, width, _ = self.state_like_names_and_shapes["images"][1]
            object_pos = tf.reshape(state_like["object_pos"], [self.hparams.sequence_length, -1, 2])
            maps = [savp_video.pixel_distribution(object_pos[:, k], height, width)
                    for k in range(object_pos.shape[1])]
            state_like["pix_distribs"] = tf.stack(maps, axis=-1)
        return state_like, action_like

    def num_examples_per_epoch(self) -> int:
        return savp_video.count_from_names(self.filenames, "traj", self.reader_name)


@register_reader(READER, description="BAIR robot pushing TFRecords as SAVP read them (--dataset bair/softmotion)")
def read_bair_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                   seed: Optional[int] = None, num_epochs: Optional[int] = None,
                   validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, H, W, 3] float32 in [0, 1], with ``use_state`` also
    ``states`` [B, T, 3] and ``actions`` [B, T - 1, 4], of the BAIR folder ``paths`` (holding the files, or
    ``train``/``val``/``test`` folders of them); see :class:`SoftmotionVideoDataset`."""
    return savp_video.read_savp(SoftmotionVideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
