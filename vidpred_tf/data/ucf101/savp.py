"""UCF101 as SAVP read it: ``--dataset ucf101``, the original's ``UCF101VideoDataset`` (a variable-length dataset
of JPEG frames, :class:`vidpred_tf.data.savp_video.VarLenVideoDataset`).

Files ``sequence_<a>_to_<b>.tfrecords`` (``b - a + 1`` videos each: that is how ``num_examples_per_epoch``
counts); one ``tf.train.Example`` per video: ``sequence_length`` int64 and ``images/encoded``, one JPEG
240x320x3 per frame. Defaults: ``context_frames=4, sequence_length=8, random_crop_size=0``. ``crop_size`` and
``scale_size`` are not supported (as in the original); ``random_crop_size`` > 0 crops one random square window
(the same for every frame of a clip, offsets uniform in ``[0, 240 - size)`` x ``[0, 320 - size)`` as the
original drew them; the port draws from the clip's seed) while decoding, in every mode. Registered as
``ucf101_savp``.
"""

from __future__ import annotations

from typing import Optional

import tensorflow as tf

from vidpred_tf.data import savp_video
from vidpred_tf.data.registry import register_reader
from vidpred_tf.errors import InputError

READER = "ucf101_savp"


class UCF101VideoDataset(savp_video.VarLenVideoDataset):
    """``--dataset ucf101``."""

    reader_name = READER
    DEFAULT_HPARAMS = savp_video.merged_defaults(dict(
        context_frames=4,
        sequence_length=8,
        random_crop_size=0,
        use_state=False,
    ))
    jpeg_encoding = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state_like_names_and_shapes["images"] = ("images/encoded", (240, 320, 3))
        hp = self.hparams
        if hp.crop_size or hp.scale_size:
            raise InputError(f"{self.reader_name}: crop_size and scale_size are not supported for UCF101 (use "
                             "random_crop_size)")
        if hp.random_crop_size and not 0 < hp.random_crop_size < 240:
            raise InputError(f"{self.reader_name}: random_crop_size must lie in [1, 239]; got {hp.random_crop_size}")
        problem = self.check_record(self.first_record())
        if problem is not None:
            raise self._bad_record_error(self.filenames[0], 0, problem)

    def decode_images(self, buffers, image_shape, seed=None):
        height, width, channels = image_shape
        count = buffers.shape[0]
        size = self.hparams.random_crop_size
        if size:
            crop_seed = tf.random.experimental.stateless_fold_in(seed, 1)
            image_size = tf.cast(tf.image.extract_jpeg_shape(buffers[0])[:2], tf.int32)
            crop_y = tf.random.stateless_uniform([], crop_seed, 0, image_size[0] - size, dtype=tf.int32)
            crop_x = tf.random.stateless_uniform([], tf.random.experimental.stateless_fold_in(crop_seed, 1), 0,
                                                 image_size[1] - size, dtype=tf.int32)
            window = tf.stack([crop_y, crop_x, size, size])
            frames = [tf.io.decode_and_crop_jpeg(buffers[i], window, channels=channels) for i in range(count)]
            shape = [count, size, size, channels]
        else:
            frames = [tf.io.decode_jpeg(buffers[i], channels=channels) for i in range(count)]
            shape = [count, height, width, channels]
        return tf.image.convert_image_dtype(tf.ensure_shape(tf.stack(frames), shape), tf.float32)

    def num_examples_per_epoch(self) -> int:
        return savp_video.count_from_names(self.filenames, "sequence", self.reader_name)


@register_reader(READER, description="UCF101 TFRecords of JPEG sequences as SAVP read them (--dataset ucf101)")
def read_ucf101_savp(paths, *, mode: str = "train", batch_size: int, hparams_dict=None, hparams=None,
                     seed: Optional[int] = None, num_epochs: Optional[int] = None,
                     validate: bool = False) -> tf.data.Dataset:
    """Batches (batch axis first) ``images`` [B, T, 240, 320, 3] (or ``random_crop_size`` squares) float32 in
    [0, 1]; see :class:`UCF101VideoDataset`."""
    return savp_video.read_savp(UCF101VideoDataset, READER, paths, mode=mode, batch_size=batch_size,
                                hparams_dict=hparams_dict, hparams=hparams, seed=seed, num_epochs=num_epochs,
                                validate=validate)
