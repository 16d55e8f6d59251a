"""What every ``scripts/bench_*.py`` shares: flags, timing of training and inference, environment, JSON out.

A benchmark is a list of *groups*; each group holds the variants that are compared with each other (the same
model with XLA off and on, say). Within a group the timed repeats are interleaved in ABBA order, so that the
load other processes put on a shared machine falls on every variant alike; the ratio of two variants measured
this way means more than either number alone.

Training goes through the package's own ``Trainer.fit`` (input pipeline, host-side step inputs, strategy,
optional XLA), on synthetic data of the right shape, with a hook that reads the clock after every step (the
hook runs after the step's losses were fetched, so each interval is one complete step):

* warm-up: ``--warmup`` steps first (tracing and compilation happen here; ``first_step_s`` reports that first
  step), never timed;
* each repeat: one more ``fit`` call of ``1 + --steps`` steps; the first step only starts the clock (it also
  absorbs the new input iterator), the next ``--steps`` intervals are timed.

Inference calls ``Task.predict`` under ``strategy.run`` (XLA as the variant says) on a batch already placed on
the devices; a call ends when its predicted frames are on the host. Warm-up and repeats as for training: each
repeat makes one untimed call, then ``--steps`` timed ones.

Outputs: one JSON document on stdout (nothing else is printed there) and, with ``--output``, the same
document written atomically to that file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from typing import Callable, Dict, List, Optional, Sequence

from absl import flags

flags.DEFINE_integer("steps", 10, "Timed training steps (and inference calls) per repeat.", lower_bound=1)
flags.DEFINE_integer("warmup", 2, "Untimed training steps (and inference calls) before the first repeat; they "
                     "include tracing and XLA compilation.", lower_bound=1)
flags.DEFINE_integer("repeats", 3, "Timed repeats per variant; medians and means are over repeats.", lower_bound=1)
flags.DEFINE_string("output", "", "Also write the JSON report to this file (atomically).")
flags.DEFINE_enum("jit_compile", "both", ["both", "on", "off"],
                  "XLA-compile the training step and inference: both (compare off and on in one run), on, off.")
flags.DEFINE_enum("strategy", "auto", ["auto", "one_device", "mirrored", "multi_worker"],
                  "tf.distribute strategy (vidpred_tf.training.make_strategy); how --batch_size splits: see "
                  "each script.")
flags.DEFINE_boolean("inference", True, "Also time inference (frames predicted per second).")
flags.DEFINE_integer("seed", 0, "Seed of the synthetic inputs and of the model initialisation.")

FLAGS = flags.FLAGS


def jit_settings(choice: str) -> List[bool]:
    """``--jit_compile`` as the list of settings to run, reference first."""
    return {"both": [False, True], "on": [True], "off": [False]}[choice]


# ----------------------------------------------------------------------------------------------- environment

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> Optional[float]:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def environment_facts(strategy=None) -> dict:
    """Versions, devices (with GPU names), CPU model and count, load average, strategy and its devices."""
    import keras
    import numpy as np
    import tensorflow as tf

    devices = []
    for device in tf.config.list_physical_devices():
        entry = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            details = tf.config.experimental.get_device_details(device)
            entry["device_name"] = details.get("device_name", "")
            if "compute_capability" in details:
                entry["compute_capability"] = ".".join(map(str, details["compute_capability"]))
        devices.append(entry)
    build = tf.sysconfig.get_build_info()
    facts = {
        "timestamp_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": _load_average(),
        "cuda_build": build.get("cuda_version"),
        "cudnn_build": build.get("cudnn_version"),
        "physical_devices": devices,
        "gpu_names": [d["device_name"] for d in devices if d["type"] == "GPU"],
    }
    if strategy is not None:
        facts["strategy"] = type(strategy).__name__
        facts["num_replicas"] = strategy.num_replicas_in_sync
        facts["replica_devices"] = list(strategy.extended.worker_devices)
    return facts


# -------------------------------------------------------------------------------------------------- helpers

def emit(report: dict, output: str = "") -> None:
    """The report as JSON on stdout and, when ``output`` is set, in that file."""
    if output:
        from vidpred_tf.fileio import write_json

        write_json(output, report)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    sys.stdout.flush()


def check_output_path(output: str) -> None:
    """Fail before any work when ``--output`` cannot be written."""
    if not output:
        return
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise ValueError(f"--output={output}: directory {directory} does not exist")
    if os.path.isdir(output):
        raise ValueError(f"--output={output} is a directory; give a file name")


def synthetic_videos(batch_size: int, num_frames: int, size: int, channels: int, seed: int):
    """Uniform random frames in [0, 1], float32 ``[B, T, H, W, C]`` (the batch contract's ``images``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.random((batch_size, num_frames, size, size, channels), dtype=np.float32)


def _time_stats(seconds: Sequence[float]) -> dict:
    return {"median": statistics.median(seconds), "mean": statistics.fmean(seconds), "min": min(seconds),
            "max": max(seconds)}


def ratio(candidate: Optional[dict], reference: Optional[dict], section: str, rate: str) -> Optional[dict]:
    """How many times faster ``candidate`` is than ``reference`` in ``section`` (train or inference).

    ``median_ratio`` divides the median rates; ``paired_ratios`` divides repeat by repeat (the repeats of the
    two were interleaved, so each pair saw the same machine load) and ``paired_median`` is their median.
    """
    if not candidate or not reference or section not in candidate or section not in reference:
        return None
    a, b = candidate[section], reference[section]
    paired = [y / x for x, y in zip(a["per_repeat_s"], b["per_repeat_s"])]
    return {"median_ratio": a[rate] / b[rate], "paired_ratios": paired, "paired_median": statistics.median(paired)}


# ---------------------------------------------------------------------------------------------------- variants

@dataclasses.dataclass
class Variant:
    """One thing to time: a task (built fresh by ``make_task``), its global batch and XLA setting.

    ``describe`` is copied into the report (model name, geometry...); ``images`` are the synthetic training
    and inference frames ``[global_batch, T, H, W, C]``.
    """

    name: str
    make_task: Callable[[], object]
    global_batch_size: int
    jit_compile: bool
    images: object
    describe: Dict[str, object] = dataclasses.field(default_factory=dict)
    parameter_count: Optional[Callable[[object], int]] = None
    # The whole synthetic batch by key when the task reads more than ``images`` (MSPred: images, heat maps,
    # class ids); every array has the global batch as its first axis. Default: ``{"images": images}``.
    batch_arrays: Optional[Dict[str, object]] = None

    def arrays(self) -> Dict[str, object]:
        return self.batch_arrays if self.batch_arrays is not None else {"images": self.images}


class _Runner:
    """A built trainer for one variant plus its timing state."""

    def __init__(self, variant: Variant, strategy, seed: int, scratch: str, inference: bool):
        import tensorflow as tf

        from vidpred_tf.training import Trainer, TrainerConfig

        self.variant = variant
        self.model_dir = tempfile.mkdtemp(prefix=variant.name.replace("/", "_") + "_", dir=scratch)
        self.trainer = Trainer(variant.make_task(), TrainerConfig(
            model_dir=self.model_dir, num_steps=0, global_batch_size=variant.global_batch_size, seed=seed,
            checkpoint_every=0, keep_checkpoints=1, log_every=0, summary_every=0, video_every=0,
            jit_compile=variant.jit_compile, handle_sigterm=False), strategy)
        replicas = strategy.num_replicas_in_sync
        per_replica = variant.global_batch_size // replicas
        arrays = variant.arrays()
        # NumPy: the pipeline holds it on the host, as it would real data.
        element = {key: value[:per_replica] for key, value in arrays.items()}

        def dataset_fn(context):
            # Every replica gets the same synthetic batch; only shapes matter for speed.
            return tf.data.Dataset.from_tensors(element).repeat()

        self.dataset_fn = dataset_fn
        self.train_repeats: List[float] = []
        self.train_steps = 0
        self.first_step_s: Optional[float] = None
        self.warmup_s: Optional[float] = None
        self.infer_repeats: List[float] = []
        self.infer_calls = 0
        self.infer_first_s: Optional[float] = None
        self.gpu_peak_memory_mb: Optional[float] = None
        self.frames_per_call: Optional[int] = None
        self.sequences_per_call: Optional[int] = None
        self._predict = None
        self._infer_batch = None
        if inference:
            self._build_inference(strategy, arrays, per_replica, seed)

    # ----------------------------------------------------------------------------------------- training
    def _fit(self, num_steps: int) -> List[float]:
        trainer = self.trainer
        trainer.config.num_steps = int(trainer.step.numpy()) + num_steps
        clock: List[float] = []
        # The trainer prints its resume message; stdout is reserved for the JSON report.
        with contextlib.redirect_stdout(sys.stderr):
            result = trainer.fit(self.dataset_fn, hooks=[lambda *_: clock.append(time.perf_counter())])
        if result.status != "completed" or len(clock) != num_steps:
            raise RuntimeError(f"{self.variant.name}: training stopped early ({result.status}) after "
                               f"{len(clock)} of {num_steps} steps")
        return clock

    def warm_up_training(self, steps: int) -> None:
        start = time.perf_counter()
        clock = self._fit(steps)
        self.first_step_s = clock[0] - start
        self.warmup_s = clock[-1] - start

    def time_training(self, steps: int) -> None:
        clock = self._fit(1 + steps)
        self.train_repeats.append((clock[-1] - clock[0]) / steps)
        self.train_steps = steps

    # ---------------------------------------------------------------------------------------- inference
    def _build_inference(self, strategy, arrays, per_replica: int, seed: int) -> None:
        import tensorflow as tf

        task, model = self.trainer.task, self.trainer.model
        predict_seed = tf.constant([seed, 1], tf.int32)
        replica_predict = tf.function(lambda batch: task.predict(model, batch, predict_seed),
                                      jit_compile=self.variant.jit_compile)

        @tf.function
        def distributed_predict(batch):
            return strategy.run(replica_predict, args=(batch,))

        def replica_batch(context):
            start = context.replica_id_in_sync_group * per_replica
            return {key: tf.constant(value[start:start + per_replica]) for key, value in arrays.items()}

        self._infer_batch = strategy.experimental_distribute_values_from_function(replica_batch)
        self._predict = distributed_predict
        self._strategy = strategy

    def _infer_once(self) -> None:
        outputs = self._strategy.experimental_local_results(self._predict(self._infer_batch))
        arrays = [output.numpy() for output in outputs]  # on the host: the call is complete
        if self.frames_per_call is None:
            self.frames_per_call = int(sum(a.shape[0] * a.shape[1] for a in arrays))
            self.sequences_per_call = int(sum(a.shape[0] for a in arrays))

    def warm_up_inference(self, calls: int) -> None:
        start = time.perf_counter()
        self._infer_once()
        self.infer_first_s = time.perf_counter() - start
        for _ in range(calls - 1):
            self._infer_once()

    def time_inference(self, calls: int) -> None:
        # As in training, one untimed call first: the first call after another variant ran is slower.
        self._infer_once()
        start = time.perf_counter()
        for _ in range(calls):
            self._infer_once()
        self.infer_repeats.append((time.perf_counter() - start) / calls)
        self.infer_calls = calls

    # ------------------------------------------------------------------------------------------- report
    def report(self) -> dict:
        variant = self.variant
        trainer = self.trainer
        entry = {"name": variant.name, "jit_compile": variant.jit_compile, **variant.describe,
                 "global_batch_size": variant.global_batch_size,
                 "per_replica_batch_size": trainer.per_replica_batch_size,
                 "num_replicas": trainer.strategy.num_replicas_in_sync}
        if variant.parameter_count is not None:
            entry["parameters"] = int(variant.parameter_count(trainer.model))
        else:
            entry["parameters"] = int(sum(math.prod(v.shape) for v in trainer.model.weights))
        if self.train_repeats:
            stats = _time_stats(self.train_repeats)
            steps_per_s = 1.0 / stats["median"]
            entry["train"] = {
                "steps_per_repeat": self.train_steps, "repeats": len(self.train_repeats),
                "median_step_s": stats["median"], "mean_step_s": stats["mean"],
                "min_step_s": stats["min"], "max_step_s": stats["max"], "per_repeat_s": self.train_repeats,
                "steps_per_s": steps_per_s, "examples_per_s": steps_per_s * variant.global_batch_size,
                "first_step_s": self.first_step_s, "warmup_s": self.warmup_s,
            }
        if self.infer_repeats:
            stats = _time_stats(self.infer_repeats)
            calls_per_s = 1.0 / stats["median"]
            entry["inference"] = {
                "calls_per_repeat": self.infer_calls, "repeats": len(self.infer_repeats),
                "median_call_s": stats["median"], "mean_call_s": stats["mean"],
                "min_call_s": stats["min"], "max_call_s": stats["max"], "per_repeat_s": self.infer_repeats,
                "sequences_per_call": self.sequences_per_call, "frames_per_call": self.frames_per_call,
                "calls_per_s": calls_per_s, "frames_per_s": calls_per_s * self.frames_per_call,
                "sequences_per_s": calls_per_s * self.sequences_per_call, "first_call_s": self.infer_first_s,
            }
        if self.gpu_peak_memory_mb is not None:
            entry["gpu_peak_memory_mb"] = self.gpu_peak_memory_mb
        return entry


def _gpu_peak_memory_mb(reset: bool = False) -> Optional[float]:
    """Peak memory of the first GPU since the last reset (MiB); ``None`` without a GPU."""
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        return None
    try:
        if reset:
            tf.config.experimental.reset_memory_stats("GPU:0")
            return None
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
    except (ValueError, RuntimeError):
        return None


def run_group(variants: Sequence[Variant], strategy, *, steps: int, warmup: int, repeats: int, seed: int,
              inference: bool) -> List[dict]:
    """Build every variant of one comparison group, warm each up, then time them interleaved (ABBA...).

    A variant that fails (out of memory, an op XLA cannot compile...) is reported with its error and the
    others go on.
    """
    results: Dict[str, dict] = {}
    runners: List[_Runner] = []
    with tempfile.TemporaryDirectory(prefix="vidpred_bench_") as scratch:
        for variant in variants:
            try:
                gc.collect()
                _gpu_peak_memory_mb(reset=True)
                runner = _Runner(variant, strategy, seed, scratch, inference)
                runner.warm_up_training(warmup)
                if inference:
                    runner.warm_up_inference(warmup)
                # Variants of a group are built one after the other, so this peak includes the memory the
                # earlier ones still hold.
                runner.gpu_peak_memory_mb = _gpu_peak_memory_mb()
                runners.append(runner)
            except Exception as err:  # reported in the JSON; the other variants still run
                results[variant.name] = _failure(variant, err)
        for index in range(repeats):
            order = runners if index % 2 == 0 else list(reversed(runners))
            for runner in list(order):
                try:
                    runner.time_training(steps)
                    if inference:
                        runner.time_inference(steps)
                except Exception as err:
                    results[runner.variant.name] = _failure(runner.variant, err)
                    runners.remove(runner)
        for runner in runners:
            results[runner.variant.name] = runner.report()
        runners.clear()
        gc.collect()
    return [results[v.name] for v in variants]


def _failure(variant: Variant, err: Exception) -> dict:
    traceback.print_exc(file=sys.stderr)
    return {"name": variant.name, "jit_compile": variant.jit_compile, **variant.describe,
            "global_batch_size": variant.global_batch_size, "error": f"{type(err).__name__}: {err}"[:2000]}


def jit_comparison(results: Sequence[dict]) -> Optional[dict]:
    """XLA on over off for one model: training and inference speed-ups (see ``ratio``)."""
    by_jit = {entry["jit_compile"]: entry for entry in results if "error" not in entry}
    if True not in by_jit or False not in by_jit:
        return None
    on, off = by_jit[True], by_jit[False]
    return {"what": "jit_compile on / off (speed-up of XLA; >1 means XLA is faster)",
            "candidate": on["name"], "reference": off["name"],
            "train_steps_per_s": ratio(on, off, "train", "steps_per_s"),
            "inference_frames_per_s": ratio(on, off, "inference", "frames_per_s")}


def make_strategy_from_flags():
    """``--strategy``, with GPU memory growth on so that several trainers share one process's GPU."""
    import tensorflow as tf

    from vidpred_tf.training import make_strategy

    for gpu in tf.config.list_physical_devices("GPU"):
        with contextlib.suppress(RuntimeError, ValueError):
            tf.config.experimental.set_memory_growth(gpu, True)
    return make_strategy(FLAGS.strategy)


def settings_from_flags() -> dict:
    return {"steps": FLAGS.steps, "warmup": FLAGS.warmup, "repeats": FLAGS.repeats,
            "jit_compile": FLAGS.jit_compile, "strategy": FLAGS.strategy, "inference": FLAGS.inference,
            "seed": FLAGS.seed}


def finish(report: dict) -> int:
    """Emit the report; the exit status is 1 when a variant failed."""
    report["environment"]["load_average_1m_end"] = _load_average()
    emit(report, FLAGS.output)
    failed = [entry["name"] for entry in report["results"] if "error" in entry]
    if failed:
        sys.stderr.write(f"benchmark variants failed: {', '.join(failed)}\n")
        return 1
    return 0
