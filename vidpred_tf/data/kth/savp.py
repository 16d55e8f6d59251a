"""KTH Actions as SAVP read it: ``--dataset kth``, the original's ``KTHVideoDataset`` (a variable-length
dataset, :class:`vidpred_tf.data.savp_video.VarLenVideoDataset`).

Files ``<split>/sequence_<a>_to_<b>.tfrecords`` (made by ``datasets/savp/kth_dataset.py``) beside
``sequence_lengths.txt`` (one frame count a line, one line per sequence). One ``tf.train.Example`` per sequence:
``sequence_length``, ``height``, ``width``, ``channels`` int64 scalars (the image shape is taken from the first
example) and ``images/encoded``, ``sequence_length`` raw uint8 byte strings of ``H*W*C`` bytes.

Sequences shorter than ``sequence_length`` are skipped; ``num_examples_per_epoch`` counts the lines of
``sequence_lengths.txt`` at least that long. Defaults: ``context_frames=10, sequence_length=20,
long_sequence_length=40, force_time_shift=True, shuffle_on_val=True``: the clip start is random in every mode
(drawn from the ``seed``; the original's generate/evaluate passed ``--seed 7``). Registered as ``kth_savp``.
"""

from __future__ import annotations

import os
from typing import Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError, MissingInputError

READER = "kth_savp"
LENGTHS_FILE = "sequence_lengths.txt"


class KTHVideoDataset(savp_video.VarLenVideoDataset):
    """``--dataset kth``."""

    reader_name = READER
    DEFAULT_HPARAMS = savp_video.merged_defaults(dict(
        context_frames=10,
        sequence_length=20,
        long_sequence_length=40,
        force_time_shift=True,
        shuffle_on_val=True,
        use_state=False,
    ))
    jpeg_encoding = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        features = self.first_example().features.feature
        shape = []
        for key in ("height", "width", "channels"):
            values = features[key].int64_list.value if key in features else []
            if len(values) != 1 or values[0] < 1:
                raise InputError(f"{self.reader_name}: {self.filenames[0]}: record 0 has no positive int64 "
                                 f"feature '{key}'")
            shape.append(int(values[0]))
        self.state_like_names_and_shapes["images"] = ("images/encoded", tuple(shape))
        problem = self.check_record(self.first_record())
        if problem is not None:
            raise self._bad_record_error(self.filenames[0], 0, problem)

    def num_examples_per_epoch(self) -> int:
        path = os.path.join(self.input_dir, LENGTHS_FILE)
        if not os.path.isfile(path):
            raise MissingInputError(f"{self.reader_name}: {path} is missing (it lists the sequence lengths)")
        with open(path) as stream:
            lines = [line.strip() for line in stream if line.strip()]
        try:
            lengths = [int(line) for line in lines]
        except ValueError:
            raise InputError(f"{self.reader_name}: {path} must hold one integer a line") from None
        return sum(length >= self.hparams.sequence_length for length in lengths)


@register_reader(READER, description="KTH Actions TFRecords of variable-length sequences as SAVP read them")
def read_kth_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                  seed: Optional[int] = None, num_epochs: Optional[int] = None,
                  validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, H, W, 1] float32 in [0, 1] of the KTH folder ``paths``
    (holding the files, or ``train``/``val``/``test`` folders of them); see :class:`KTHVideoDataset`."""
    return savp_video.read_savp(KTHVideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
