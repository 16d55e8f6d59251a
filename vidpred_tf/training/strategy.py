"""Choosing a ``tf.distribute`` strategy from the ``--strategy`` flag, and who the chief is."""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

import tensorflow as tf

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


def _cluster_workers() -> int:
    config = os.environ.get("TF_CONFIG")
    if not config:
        return 0
    try:
        cluster = json.loads(config).get("cluster", {})
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON: {err}") from err
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(name: str = "auto", devices: Optional[Sequence[str]] = None) -> tf.distribute.Strategy:
    """The strategy named by ``--strategy``.

    * ``auto``: ``multi_worker`` when TF_CONFIG describes more than one worker, else ``mirrored`` over every
      GPU when there are several, else ``one_device`` on the GPU or the CPU.
    * ``one_device``: the first GPU, else the CPU (or ``devices[0]``).
    * ``mirrored``: MirroredStrategy over ``devices`` or all GPUs (all logical CPUs when there is no GPU).
    * ``multi_worker``: MultiWorkerMirroredStrategy configured from TF_CONFIG.
    """
    if name not in STRATEGIES:
        raise ValueError(f"--strategy={name!r} is not one of {', '.join(STRATEGIES)}")
    # Physical devices only: listing logical ones initialises the runtime, after which collective ops (the
    # multi-worker strategy) can no longer be configured.
    num_gpus = len(tf.config.list_physical_devices("GPU"))
    if name == "auto":
        if _cluster_workers() > 1:
            name = "multi_worker"
        elif num_gpus > 1:
            name = "mirrored"
        else:
            name = "one_device"
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "one_device":
        device = devices[0] if devices else ("/gpu:0" if num_gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device)
    if devices is None:
        kind = "GPU" if num_gpus else "CPU"
        devices = [d.name for d in tf.config.list_logical_devices(kind)]
    return tf.distribute.MirroredStrategy(list(devices))


def worker_identity(strategy: tf.distribute.Strategy) -> tuple[str, int]:
    """``(task_type, task_id)`` of this process; ``("chief", 0)`` outside a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief", 0
    return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """The process that writes checkpoints and summaries: the chief, or worker 0 in a cluster without one."""
    task_type, task_id = worker_identity(strategy)
    if task_type == "chief":
        return True
    resolver = strategy.cluster_resolver
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and not has_chief
