"""What generate.py and evaluate.py share once their options are resolved: the dataset, the model (in mode
``test``: quirk Q1 fixed), its weights, and one stochastic sample per call.

The dataset is the original ``--dataset`` class of :mod:`vidpred_tf.data.savp_video`, read through its checks (a
damaged record is one line naming the file); every model, the non-trainable ``ground_truth`` and ``repeat``
included, comes from :func:`vidpred_tf.models.savp.model.build_model`. Weights (:func:`restore`): the original's
TF1 checkpoints through :func:`vidpred_tf.convert.savp.load`, or the port's own (train.py's output folders).
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Callable, Dict, Iterator, Optional

import numpy as np
import tensorflow as tf

from vidpred_tf.convert import savp as savp_convert
from vidpred_tf.data.savp_video import get_dataset_class
from vidpred_tf.errors import InputError
from vidpred_tf.inference import restore_weights
from vidpred_tf.models.savp import model as savp_model
from vidpred_tf.papers.savp import options as savp_options


def sample_seed(seed: Optional[int], sample_ind: int, stochastic_sample_ind: int) -> tf.Tensor:
    """The stateless seed of one sample: ``fold_in(fold_in([seed, 0], sample_ind), stochastic_sample_ind)``."""
    base = tf.constant([0 if seed is None else int(seed), 0], tf.int32)
    folded = tf.random.experimental.stateless_fold_in(base, int(sample_ind))
    return tf.random.experimental.stateless_fold_in(folded, int(stochastic_sample_ind))


def build_model(model_name: str, model_hparams_dict: Dict[str, Any], model_hparams: Optional[str],
                example: Dict[str, tf.Tensor], mode: str = "test"):
    """The model for ``--model``; shapes from one batch ``example`` (``images [B, T, H, W, C]``, optional
    ``actions [B, T-1, A]``, ``states [B, T, S]``)."""
    hparams = savp_model.resolve_model_hparams(model_name, hparams_dict=model_hparams_dict, hparams=model_hparams)
    image_shape = tuple(int(size) for size in example["images"].shape[2:])
    action_dim = int(example["actions"].shape[-1]) if "actions" in example else 0
    state_dim = int(example["states"].shape[-1]) if "states" in example else 0
    return savp_model.build_model(model_name, hparams, image_shape, action_dim=action_dim, state_dim=state_dim,
                                  mode=mode)


# A model variable's value in the trainer's checkpoint layout (``model_weights/<index>``; optimiser slots differ).
MODEL_WEIGHT = re.compile(r"^model_weights/\d+/\.ATTRIBUTES/VARIABLE_VALUE$")


def checkpoint_prefix(checkpoint: str) -> str:
    """A folder's newest checkpoint (its ``checkpoint`` file), or the prefix itself."""
    if os.path.isdir(checkpoint):
        prefix = tf.train.latest_checkpoint(checkpoint)
        if prefix is None:
            raise InputError(f"--checkpoint {checkpoint}: no checkpoint in this folder")
        return prefix
    if not os.path.exists(checkpoint + ".index"):
        raise InputError(f"--checkpoint {checkpoint}: no checkpoint {checkpoint}.index")
    return checkpoint


def is_port_checkpoint(prefix: str) -> bool:
    """A checkpoint the port's trainer wrote (object-based), as opposed to the original's TF1 Saver files."""
    return any(name == "_CHECKPOINTABLE_OBJECT_GRAPH" for name, _ in tf.train.list_variables(prefix))


def restore(model, checkpoint: Optional[str]) -> None:
    """Load ``--checkpoint`` (folder or prefix) into the model: the original's TF1 checkpoints through the
    converter, the port's own through the trainer's layout (a test-mode model takes the generator's weights of a
    training checkpoint). No-op without ``--checkpoint`` or for the non-trainable models."""
    if not checkpoint or not model.weights:
        return
    prefix = checkpoint_prefix(checkpoint)
    if not is_port_checkpoint(prefix):
        savp_convert.load(model, prefix)
        return
    saved = sum(1 for name, _ in tf.train.list_variables(prefix) if MODEL_WEIGHT.match(name))
    if saved == len(model.weights) or model.mode == "train":
        restore_weights(model, prefix)
        return
    # A training checkpoint holds the discriminator too: restore the whole training model, then take its generator.
    twin = savp_model.build_model(model.model_name, model.hparams, model.image_shape, model.action_dim,
                                  model.state_dim, mode="train")
    restore_weights(twin, prefix)
    savp_model.copy_weights(model.generator, twin.generator)


@dataclasses.dataclass
class Session:
    dataset: tf.data.Dataset
    dataset_hparams: Any
    num_examples: int
    model: Any
    seed: Optional[int]
    num_samples: Optional[int]
    # Iterates ``dataset`` turning a damaged record into one line naming the file (the reader's ``iterate_checked``).
    iterate: Callable[[tf.data.Dataset], Iterator[Dict[str, tf.Tensor]]] = iter

    def batches(self) -> Iterator[Dict[str, tf.Tensor]]:
        """The batches of the run, stopping after ``--num_samples`` examples when given."""
        sample_ind = 0
        for batch in self.iterate(self.dataset):
            if self.num_samples and sample_ind >= self.num_samples:
                break
            yield batch
            sample_ind += int(batch["images"].shape[0])

    def sample(self, batch: Dict[str, tf.Tensor], sample_ind: int, stochastic_sample_ind: int) -> np.ndarray:
        """``gen_images [B, T-1, H, W, C]`` of one stochastic sample."""
        seed = sample_seed(self.seed, sample_ind, stochastic_sample_ind)
        return np.asarray(self.model.predict_images(dict(batch), seed=seed))


def check_num_examples(num_examples: int, num_samples: Optional[int], batch_size: int) -> int:
    """The original's checks: ``--num_samples`` at most the dataset size; ``--batch_size`` divides the count."""
    if num_samples:
        if num_samples > num_examples:
            raise InputError(f"--num_samples {num_samples} cannot be larger than the dataset ({num_examples})")
        num_examples = num_samples
    if num_examples % batch_size != 0:
        raise InputError(f"--batch_size {batch_size} should evenly divide the dataset size {num_examples}")
    return num_examples


def build_session(resolved: savp_options.ResolvedOptions, input_dir: str, dataset_mode: str,
                  dataset_hparams: Optional[str], model_hparams: Optional[str], batch_size: int,
                  num_samples: Optional[int], num_epochs: int, seed: Optional[int],
                  checkpoint: Optional[str]) -> Session:
    """Dataset, model (mode ``test``, Q1) with the dataset's ``context_frames``/``sequence_length``/``repeat``
    imposed on its hparams, and the weights of ``checkpoint``."""
    reader = get_dataset_class(resolved.dataset)(input_dir, mode=dataset_mode, num_epochs=num_epochs, seed=seed,
                                                 hparams_dict=resolved.dataset_hparams_dict, hparams=dataset_hparams)
    dataset = reader.make_dataset(batch_size)
    num_examples = check_num_examples(reader.num_examples_per_epoch(), num_samples, batch_size)
    hparams_dict = savp_model.model_hparams_with_dataset(resolved.model_hparams_dict, reader.hparams.values())
    example = next(reader.iterate_checked(dataset.take(1)), None)
    if example is None:
        raise InputError(f"--input_dir {input_dir}: no batch of {batch_size} sequences in mode {dataset_mode}")
    model = build_model(resolved.model, hparams_dict, model_hparams, example,
                        mode=savp_options.model_mode(dataset_mode))
    restore(model, checkpoint)
    return Session(dataset, reader.hparams, num_examples, model, seed, num_samples, reader.iterate_checked)
