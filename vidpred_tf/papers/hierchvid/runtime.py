"""Run-time helpers shared by the hierchvid scripts: the device of ``--gpu``, the ``--mem_frac`` note, and the
training batches recorded for the sample images."""

from __future__ import annotations

from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.data import hierchvid_files as files
from vidpred_tf.papers.hierchvid import options
from vidpred_tf.training.strategy import make_strategy


def device_strategy(gpu: Optional[int], say=print) -> tf.distribute.Strategy:
    """One device: ``/GPU:<gpu>`` when the machine has it, else (the original's soft placement, said) the first
    GPU or the CPU; without ``--gpu`` the default device."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpu is None:
        return make_strategy("one_device")
    if gpu < len(gpus):
        return make_strategy("one_device", devices=[f"/gpu:{gpu}"])
    say(f"--gpu={gpu}: this machine has {len(gpus)} GPU(s); running on "
        f"{'/gpu:0' if gpus else 'the CPU'} (the original's soft placement)")
    return make_strategy("one_device")


def device_scope(gpu: Optional[int]):
    """``tf.device`` of ``--gpu`` when the machine has that GPU, else a scope that changes nothing."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpu is not None and gpu < len(gpus):
        return tf.device(f"/GPU:{gpu}")
    return tf.device(None)


def mem_frac_note(values, say=print) -> None:
    if values["mem_frac"].present:
        say(f"--mem_frac={values.mem_frac}: {options.MEM_FRAC_NOTE}")


class RecordingBatches:
    """Training batches as a generator function for ``tf.data`` that keeps the batches of the stream indices
    ``keep(index)`` selects (sliced by ``take``), so that a sample image of step ``s`` draws the batch of step
    ``s`` whatever the input pipeline prefetched meanwhile. ``first`` maps index -> kept batch; a consumer pops
    what it used (at most ``limit`` are held)."""

    def __init__(self, make_epoch, seed: int, keep: Callable[[int], bool],
                 take: Callable[[Dict[str, np.ndarray]], Dict[str, np.ndarray]] = dict, limit: int = 4):
        self._make_epoch = make_epoch
        self._seed = seed
        self._keep = keep
        self._take = take
        self._limit = limit
        self.first: Dict[int, Dict[str, np.ndarray]] = {}

    def __call__(self):
        for index, batch in enumerate(files.epoch_stream(self._make_epoch, None, self._seed)()):
            if self._keep(index):
                self.first[index] = self._take(batch)
                for old in sorted(self.first)[:-self._limit]:
                    del self.first[old]
            yield batch
