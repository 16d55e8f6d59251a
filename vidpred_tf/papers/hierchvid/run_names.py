"""Run names (the original's ``prefix``: the folder name under ``models/``, ``logs/``, ``samples/``, ``results/``).

Pose LSTM (``lstm_src/train_det_rnn_{penn,h36m}.py``): ``PENNACTION_DET_LSTM`` / ``HUMAN3.6M_DET_LSTM`` followed by
``_<name>=<value>`` for every local variable of the original ``main`` except ``prefix``, ``mem_frac`` and ``gpu``
(its arguments plus the hard-coded ``lm_size``, ``input_size`` and ``num_class`` (Penn) or ``fskip`` (H3.6M)).
The original's order is Python 2's ``locals().iteritems()``, i.e. the hash order of that dict, which depends on
the set of names: the port writes the names in the order of the README's two example strings
(:data:`LSTM_NAME_ORDER`), so the defaults give those strings exactly.

Image generator (``imggen_src/train_{penn,h36m}.py``): ``PENNACTION_ANALOGY_imgsize=<image_size>_layer=<layer>
_alpha=<alpha>_beta=<beta>_gamma=<gamma>_lr=<lr>`` (``HUMAN3.6M_ANALOGY_...``).

Values are written as Python 2's ``str()`` (floats with 12 significant digits: ``0.001``, ``1.0``, ``1e-05``).
The test scripts read the LSTM's hyper-parameters back from a run name by splitting on ``<key>=`` and then on
``_`` (:func:`parse_lstm_run_name`), so any string holding those items works, the README's included.
"""

from __future__ import annotations

from typing import Dict, Mapping, Optional

from vidpred_tf.errors import InputError

DATASETS = ("penn", "h36m")
LSTM_PREFIX = {"penn": "PENNACTION_DET_LSTM", "h36m": "HUMAN3.6M_DET_LSTM"}
IMGGEN_PREFIX = {"penn": "PENNACTION_ANALOGY", "h36m": "HUMAN3.6M_ANALOGY"}
# The names of the README's example prefixes, in their order.
LSTM_NAME_ORDER = {
    "penn": ("num_class", "learning_rate", "image_size", "batch_size", "lm_size", "fut_step", "num_layer",
             "lstm_units", "seen_step", "input_size", "keep_prob"),
    "h36m": ("fskip", "keep_prob", "image_size", "batch_size", "lm_size", "fut_step", "num_layer", "lstm_units",
             "seen_step", "input_size", "learning_rate"),
}
# Hard-coded locals of the original train scripts.
LSTM_CONSTANTS = {"penn": {"lm_size": 13, "input_size": 26, "num_class": 8},
                  "h36m": {"lm_size": 32, "input_size": 64, "fskip": 4}}
# What the test scripts parse from --prefix (int or float), per dataset.
LSTM_PARSED = {"penn": {"image_size": int, "num_layer": int, "lstm_units": int, "seen_step": int,
                        "keep_prob": float, "learning_rate": float},
               "h36m": {"image_size": int, "num_layer": int, "lstm_units": int, "seen_step": int, "fskip": int,
                        "keep_prob": float, "learning_rate": float}}
README_LSTM_RUN_NAMES = {
    "penn": "PENNACTION_DET_LSTM_num_class=8_learning_rate=0.001_image_size=128_batch_size=256_lm_size=13_"
            "fut_step=32_num_layer=1_lstm_units=1024_seen_step=10_input_size=26_keep_prob=1.0",
    "h36m": "HUMAN3.6M_DET_LSTM_fskip=4_keep_prob=1.0_image_size=128_batch_size=256_lm_size=32_fut_step=32_"
            "num_layer=1_lstm_units=1024_seen_step=10_input_size=64_learning_rate=0.001",
}
README_IMGGEN_RUN_NAMES = {
    "penn": "PENNACTION_ANALOGY_imgsize=128_layer=3_alpha=1.0_beta=1.0_gamma=1.0_lr=0.0001",
    "h36m": "HUMAN3.6M_ANALOGY_imgsize=128_layer=3_alpha=1.0_beta=1.0_gamma=1.0_lr=0.0001",
}


def py2_str(value) -> str:
    """``str(value)`` as Python 2 wrote it: floats with 12 significant digits and a ``.0`` when integral."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}[repr(value)]
    text = "%.12g" % value
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise InputError(f"--dataset={dataset!r} is not one of {', '.join(DATASETS)}")


def lstm_run_name(dataset: str, *, image_size: int = 128, batch_size: int = 256, num_layer: int = 1,
                  lstm_units: int = 1024, seen_step: int = 10, fut_step: int = 32, keep_prob: float = 1.0,
                  learning_rate: float = 0.001) -> str:
    """The LSTM train script's prefix (defaults: :data:`README_LSTM_RUN_NAMES`)."""
    _check_dataset(dataset)
    values: Dict[str, object] = {"image_size": int(image_size), "batch_size": int(batch_size),
                                 "num_layer": int(num_layer), "lstm_units": int(lstm_units),
                                 "seen_step": int(seen_step), "fut_step": int(fut_step),
                                 "keep_prob": float(keep_prob), "learning_rate": float(learning_rate),
                                 **LSTM_CONSTANTS[dataset]}
    return LSTM_PREFIX[dataset] + "".join(f"_{name}={py2_str(values[name])}" for name in LSTM_NAME_ORDER[dataset])


def _item(prefix: str, key: str, kind, flag: str):
    """The original's ``kind(prefix.split(key + '=')[1].split('_')[0])``, with an error naming the flag."""
    parts = prefix.split(key + "=")
    if len(parts) < 2:
        raise InputError(f"{flag}={prefix!r}: the run name has no '{key}=' item (expected a name such as "
                         f"{README_LSTM_RUN_NAMES['penn']!r})")
    text = parts[1].split("_")[0]
    try:
        return kind(text)
    except ValueError:
        raise InputError(f"{flag}={prefix!r}: '{key}={text}' is not a{'n int' if kind is int else ' float'}") \
            from None


def parse_lstm_run_name(prefix: str, dataset: str, flag: str = "--prefix") -> Dict[str, object]:
    """The hyper-parameters the LSTM test script reads from its ``--prefix``: image_size, num_layer, lstm_units,
    seen_step, keep_prob, learning_rate (and fskip for H3.6M). The other items (batch_size, fut_step...) are not
    read, as in the original."""
    _check_dataset(dataset)
    return {key: _item(prefix, key, kind, flag) for key, kind in LSTM_PARSED[dataset].items()}


def imggen_run_name(dataset: str, *, image_size: int = 128, layer: int = 3, alpha: float = 1.0, beta: float = 1.0,
                    gamma: float = 1.0, lr: float = 0.0001) -> str:
    """The image-generator train script's prefix (defaults: :data:`README_IMGGEN_RUN_NAMES`)."""
    _check_dataset(dataset)
    return (f"{IMGGEN_PREFIX[dataset]}_imgsize={py2_str(int(image_size))}_layer={py2_str(int(layer))}"
            f"_alpha={py2_str(float(alpha))}_beta={py2_str(float(beta))}_gamma={py2_str(float(gamma))}"
            f"_lr={py2_str(float(lr))}")


IMGGEN_PARSED = {"imgsize": int, "layer": int, "alpha": float, "beta": float, "gamma": float, "lr": float}


def parse_imggen_run_name(prefix: str, flag: str = "--imggen_prefix") -> Dict[str, object]:
    """The items of an image-generator run name (the original's test script reads none of them: it takes
    ``--image_size`` as a flag; the port uses this to say what a name means)."""
    return {key: _item(prefix, key, kind, flag) for key, kind in IMGGEN_PARSED.items()}


def lstm_run_name_from_values(dataset: str, values: Mapping[str, object],
                              overrides: Optional[Mapping[str, object]] = None) -> str:
    """:func:`lstm_run_name` of a flag mapping (unknown keys ignored)."""
    keys = ("image_size", "batch_size", "num_layer", "lstm_units", "seen_step", "fut_step", "keep_prob",
            "learning_rate")
    merged = {**{key: values[key] for key in keys if key in values}, **(overrides or {})}
    return lstm_run_name(dataset, **merged)
