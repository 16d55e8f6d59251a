"""The flags of the four hierchvid entry points, defined by functions so that each entry module defines its own set
on ``absl.flags.FLAGS`` when imported and tests can define one on a fresh ``FlagValues``.

Every flag of the original argparse scripts keeps its name, type and default (spec section 2); ``--dataset``
chooses between the ``_penn`` and ``_h36m`` variants of each script. The flags whose default differs per dataset
(``train_imggen --steps``: 30 / 1000; ``test_imggen --fut_step``: 64 / 128) take the dataset's value unless given
(:func:`resolve_dataset_defaults`); the script shims named as the originals (``scripts/hierchvid/train_penn.py``...)
set ``--dataset`` and those defaults (:func:`set_dataset`), so their ``--help`` shows the original's defaults.

Notes shared by the scripts:

* ``--gpu``: the device index (``/GPU:<gpu>``), as the original's ``tf.device('/gpu:%d')`` with soft placement:
  on a machine without that GPU the run uses the CPU and says so. Optional here (the original requires it). The
  image scripts took ``nargs='+'`` and used only the first: here ``--gpu=0`` or ``--gpu=0,1``.
* ``--mem_frac``: accepted and ignored (TensorFlow 2 grows GPU memory as needed; the original reserved that
  fraction of the GPU).
* Folders: the original wrote ``./models/<prefix>``, ``./logs/<prefix>``, ``./samples/<prefix>``,
  ``./results/...`` and read ``./datasets/{PennAction,Human3.6M}`` and ``./perceptual_models``, relative to the
  working directory; the port-only ``--models_dir``, ``--logs_dir``, ``--samples_dir``, ``--results_dir``,
  ``--data_root`` and ``--perceptual_dir`` have those defaults, so the README commands run from a folder holding
  them.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

from absl import flags

from vidpred_tf.errors import InputError

DATASETS = ("penn", "h36m")
DATASET_FOLDERS = {"penn": "PennAction", "h36m": "Human3.6M"}
# flag -> {dataset: default}, for the flags whose original default depends on the script.
DATASET_DEFAULTS: Dict[str, Dict[str, int]] = {"steps": {"penn": 30, "h36m": 1000},
                                               "fut_step": {"penn": 64, "h36m": 128}}
# Which of those each script has (train_lstm's --fut_step is 32 for both datasets).
SCRIPT_DATASET_FLAGS = {"train_imggen": ("steps",), "test_imggen": ("fut_step",), "train_lstm": (),
                        "test_lstm": ()}
MEM_FRAC_NOTE = "accepted and ignored (TensorFlow 2 allocates GPU memory as needed)"


def _dataset_flag(values: flags.FlagValues) -> None:
    flags.DEFINE_enum("dataset", "penn", list(DATASETS), "penn (Penn Action: the *_penn.py script) or h36m "
                      "(Human3.6M: the *_h36m.py script)", flag_values=values)


def _folders(values: flags.FlagValues, *names: str) -> None:
    helps = {"models_dir": ("./models", "checkpoints go to <models_dir>/<prefix>/"),
             "logs_dir": ("./logs", "TensorBoard summaries go to <logs_dir>/<prefix>/"),
             "samples_dir": ("./samples", "training samples go to <samples_dir>/<prefix>/"),
             "results_dir": ("./results", "test outputs go under <results_dir>/pose/ and <results_dir>/images/"),
             "data_root": ("./datasets", "folder holding PennAction/ and Human3.6M/ (the original's ./datasets)"),
             "perceptual_dir": ("./perceptual_models", "folder holding alexnet/bvlc_alexnet.npy and "
                                "hourglass/hourglass_weights_<i>.npy (perceptual_models/download.sh)")}
    for name in names:
        default, text = helps[name]
        flags.DEFINE_string(name, default, f"[port] {text}", flag_values=values)


def define_train_lstm(values: flags.FlagValues = flags.FLAGS) -> None:
    """``lstm_src/train_det_rnn_{penn,h36m}.py``."""
    _dataset_flag(values)
    flags.DEFINE_integer("gpu", None, "GPU device id (index of /GPU:<gpu>; the default device when not given)",
                         flag_values=values)
    flags.DEFINE_integer("image_size", 128, "Spatial size of image (of the sample heat maps only)",
                         flag_values=values)
    flags.DEFINE_integer("batch_size", 256, "Batch size for training", flag_values=values)
    flags.DEFINE_integer("num_layer", 1, "Number of hidden layers for LSTM", flag_values=values)
    flags.DEFINE_integer("lstm_units", 1024, "Number of hidden units for LSTM", flag_values=values)
    flags.DEFINE_integer("seen_step", 10, "Number of seen steps", flag_values=values)
    flags.DEFINE_integer("fut_step", 32, "Number of steps into future", flag_values=values)
    flags.DEFINE_float("mem_frac", 0.4, f"GPU memory fraction to take up: {MEM_FRAC_NOTE}", flag_values=values)
    flags.DEFINE_float("keep_prob", 1.0, "Keep probability for dropout", flag_values=values)
    # The original's help text of this flag says "Keep probability for dropout" (a copy-paste slip).
    flags.DEFINE_float("learning_rate", 0.001, "Learning rate of RMSProp", flag_values=values)
    _folders(values, "models_dir", "logs_dir", "samples_dir", "data_root")
    flags.DEFINE_integer("num_steps", None, "[port] stop after this many training steps instead of "
                         "round(600000 * 16 / batch_size) (tests, short runs)", flag_values=values)
    flags.DEFINE_integer("seed", 0, "[port] seeds initialisation and the data order", flag_values=values)
    flags.DEFINE_integer("log_every", 1, "[port] console line every this many steps (the original: every step)",
                         flag_values=values)


def define_test_lstm(values: flags.FlagValues = flags.FLAGS) -> None:
    """``lstm_src/test_det_rnn_{penn,h36m}.py``."""
    _dataset_flag(values)
    flags.DEFINE_integer("gpu", None, "GPU device id (index of /GPU:<gpu>)", flag_values=values)
    flags.DEFINE_string("prefix", None, "Model to test: the LSTM run name (image_size=, num_layer=, lstm_units=, "
                        "seen_step=, keep_prob=, learning_rate= and, for h36m, fskip= are read from it)",
                        flag_values=values)
    flags.DEFINE_integer("steps", None, "Number of steps into the future (README: 64 for penn, 128 for h36m)",
                         flag_values=values)
    flags.DEFINE_float("mem_frac", 0.1, f"GPU memory fraction to take up: {MEM_FRAC_NOTE}", flag_values=values)
    _folders(values, "models_dir", "results_dir", "data_root")
    flags.mark_flags_as_required(["prefix", "steps"], flag_values=values)


def _gpu_list(values: flags.FlagValues) -> None:
    flags.DEFINE_list("gpu", None, "GPU device id(s), e.g. --gpu=0 (the original's nargs='+': only the first is "
                      "used)", flag_values=values)


def define_train_imggen(values: flags.FlagValues = flags.FLAGS) -> None:
    """``imggen_src/train_{penn,h36m}.py``."""
    _dataset_flag(values)
    flags.DEFINE_float("lr", 0.0001, "Base Learning Rate (Adam, generator and discriminator)", flag_values=values)
    flags.DEFINE_integer("image_size", 128, "Image size", flag_values=values)
    flags.DEFINE_integer("batch_size", 8, "Mini-batch size", flag_values=values)
    flags.DEFINE_integer("layer", 3, "hourglass layer (index of the hourglass feature of the feature loss)",
                         flag_values=values)
    flags.DEFINE_float("alpha", 1.0, "weight for alexnet feat-sim", flag_values=values)
    flags.DEFINE_float("beta", 1.0, "weight for hourglass feat-sim", flag_values=values)
    flags.DEFINE_float("gamma", 1.0, "weight for adversarial g_loss", flag_values=values)
    flags.DEFINE_integer("steps", None, "Number of initial frames: the frame gap is drawn from 1..steps-1 "
                         "(default: 30 for penn, 1000 for h36m)", flag_values=values)
    flags.DEFINE_integer("num_iter", 100000, "Number of iterations", flag_values=values)
    _gpu_list(values)
    _folders(values, "models_dir", "logs_dir", "samples_dir", "data_root", "perceptual_dir")
    flags.DEFINE_integer("seed", 0, "[port] seeds initialisation and the data order", flag_values=values)
    flags.DEFINE_integer("num_workers", None, "[port] loader threads (default: min(batch_size, CPUs); the "
                         "original ran batch_size joblib processes)", flag_values=values)
    flags.DEFINE_integer("gf_dim", 64, "[port] generator width (the original hard-codes 64; smaller for tests)",
                         flag_values=values)
    flags.DEFINE_integer("df_dim", 64, "[port] discriminator width (the original hard-codes 64)",
                         flag_values=values)
    flags.DEFINE_integer("log_every", 1, "[port] console line every this many iterations (the original: every "
                         "iteration)", flag_values=values)


def define_test_imggen(values: flags.FlagValues = flags.FLAGS) -> None:
    """``imggen_src/test_{penn,h36m}.py``."""
    _dataset_flag(values)
    flags.DEFINE_string("imggen_prefix", None, "image-generator run name (checkpoint <models_dir>/<prefix>/)",
                        flag_values=values)
    flags.DEFINE_string("lstm_prefix", None, "LSTM run name (reads <results_dir>/pose/<lstm_prefix>/)",
                        flag_values=values)
    flags.DEFINE_integer("image_size", 128, "Image dimensions", flag_values=values)
    flags.DEFINE_integer("batch_size", 1, "Mini-batch size (only the first element is used, as the original)",
                         flag_values=values)
    flags.DEFINE_integer("fut_step", None, "Number of steps into the future, at most the LSTM test's --steps "
                         "(default: 64 for penn, 128 for h36m)", flag_values=values)
    _gpu_list(values)
    _folders(values, "models_dir", "results_dir", "data_root")
    flags.DEFINE_integer("gf_dim", 64, "[port] generator width (the original hard-codes 64; must match training)",
                         flag_values=values)
    flags.mark_flags_as_required(["imggen_prefix", "lstm_prefix"], flag_values=values)


DEFINERS = {"train_lstm": define_train_lstm, "test_lstm": define_test_lstm, "train_imggen": define_train_imggen,
            "test_imggen": define_test_imggen}


def set_dataset(values: flags.FlagValues, dataset: str, script: str) -> None:
    """What a script shim named as the original does: ``--dataset`` defaults to its dataset and the per-dataset
    flags of ``script`` to the original script's defaults."""
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}; got {dataset!r}")
    values.set_default("dataset", dataset)
    for name in SCRIPT_DATASET_FLAGS[script]:
        values.set_default(name, DATASET_DEFAULTS[name][dataset])


def choose_dataset(values: flags.FlagValues, dataset: str) -> None:
    """After parsing: ``--dataset`` becomes ``dataset`` unless it was given (the entry points named as the
    original scripts, e.g. ``train_det_rnn_h36m``)."""
    if not values["dataset"].present:
        values.dataset = dataset


def resolve_dataset_defaults(values: flags.FlagValues, script: str) -> None:
    """Give each per-dataset flag of ``script`` that was not on the command line the default of ``--dataset``."""
    for name in SCRIPT_DATASET_FLAGS[script]:
        if not values[name].present:
            setattr(values, name, DATASET_DEFAULTS[name][values.dataset])


def first_gpu(gpu) -> Optional[int]:
    """The device index of ``--gpu`` (an int, a list of them as strings, or None)."""
    if gpu is None:
        return None
    if isinstance(gpu, (list, tuple)):
        if not gpu:
            return None
        gpu = gpu[0]
    try:
        index = int(gpu)
    except (TypeError, ValueError):
        raise InputError(f"--gpu={gpu!r} is not a device index") from None
    if index < 0:
        raise InputError(f"--gpu={index} must be >= 0")
    return index


def dataset_dir(values, dataset: Optional[str] = None) -> str:
    """``<data_root>/PennAction`` or ``<data_root>/Human3.6M``."""
    return os.path.join(values.data_root, DATASET_FOLDERS[dataset or values.dataset])
