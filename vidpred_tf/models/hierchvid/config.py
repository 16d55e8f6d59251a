"""Hyper-parameters of the image-analogy generator stage (``imggen_src/train_{penn,h36m}.py`` flags + model facts).

Flag names and defaults are those of the original argparse flags (spec section 2.3). ``n_joints`` is hard-coded per
dataset in the original (48 Penn limb channels, 32 H3.6M joints); ``gf_dim``/``df_dim`` are hard-coded 64 in
``IMGGEN.__init__`` and are port-only fields so that the small golden (width 8) can be built.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from vidpred_tf.errors import InputError

DATASETS = ("penn", "h36m")
# Per-dataset defaults that differ between train_penn.py and train_h36m.py.
DATASET_DEFAULTS = {
    "penn": {"steps": 30, "n_joints": 48},
    "h36m": {"steps": 1000, "n_joints": 32},
}
RUN_NAME_PREFIX = {"penn": "PENNACTION_ANALOGY", "h36m": "HUMAN3.6M_ANALOGY"}


@dataclasses.dataclass
class ImggenConfig:
    dataset: str = "penn"
    image_size: int = 128
    batch_size: int = 8
    layer: int = 3
    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    lr: float = 1e-4
    beta1: float = 0.5
    steps: int = 30
    num_iter: int = 100000
    n_joints: int = 48
    c_dim: int = 3
    # Port-only: the original hard-codes 64 for both.
    gf_dim: int = 64
    df_dim: int = 64
    margin: float = 0.3

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise InputError(f"--dataset={self.dataset!r} is not one of {', '.join(DATASETS)}")
        if self.image_size <= 0 or self.image_size % 16:
            # Three 2x2 poolings in G and four stride-2 convs in D: the original only ever runs 128.
            raise InputError(f"--image_size={self.image_size} must be a positive multiple of 16")
        if self.batch_size <= 0:
            raise InputError(f"--batch_size={self.batch_size} must be positive")
        if self.layer not in (0, 1, 2, 3):
            raise InputError(f"--layer={self.layer} must index one of the 4 hourglass outputs (0..3)")
        if self.steps < 1:
            raise InputError(f"--steps={self.steps} must be at least 1")

    @classmethod
    def for_dataset(cls, dataset: str, **overrides) -> "ImggenConfig":
        """The defaults of ``train_<dataset>.py`` with ``overrides`` applied."""
        if dataset not in DATASETS:
            raise InputError(f"--dataset={dataset!r} is not one of {', '.join(DATASETS)}")
        values = dict(DATASET_DEFAULTS[dataset])
        values.update(overrides)
        return cls(dataset=dataset, **values)

    @classmethod
    def from_flags(cls, values: Mapping[str, object]) -> "ImggenConfig":
        """Build from a flag dict (strings accepted); unknown keys are ignored."""
        dataset = str(values.get("dataset", "penn"))
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key in known and key != "dataset":
                kind = type(known[key].default)
                try:
                    kwargs[key] = kind(value)
                except (TypeError, ValueError):
                    raise InputError(f"flag --{key}: {value!r} is not a {kind.__name__}") from None
        return cls.for_dataset(dataset, **kwargs)

    @property
    def run_name(self) -> str:
        """``PENNACTION_ANALOGY_imgsize=128_layer=3_alpha=1.0_beta=1.0_gamma=1.0_lr=0.0001`` (str() of each value
        as the original's string concatenation)."""
        return (f"{RUN_NAME_PREFIX[self.dataset]}_imgsize={self.image_size}_layer={self.layer}"
                f"_alpha={float(self.alpha)}_beta={float(self.beta)}_gamma={float(self.gamma)}_lr={float(self.lr)}")
