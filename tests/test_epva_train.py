"""EPVATask on the shared trainer with tiny widths: every mode trains without NaN, the epva_gan schedule
(generator on calls 0 and 6 of 12) and the individual mode's enc_size check."""

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.task import EPVATask
from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

TINY = dict(van_first_depth=4, vgg_width_divisor=16, enc_size=8, context_frames=2)


def _batches(context):
    rng = np.random.default_rng(0)
    size = context.get_per_replica_batch_size(2)
    batch = {"images": rng.random((size, 3, 64, 64, 3)).astype("float32"),
             "actions": np.zeros((size, 3, 5), "float32"),
             "joint_poses": rng.normal(size=(size, 3, 12)).astype("float32")}
    return tf.data.Dataset.from_tensors(batch).repeat()


def _train(tmp_path, steps, **config):
    task = EPVATask(EPVAConfig(**{**TINY, **config}), clip_gradient_norm=0.01)
    trainer = Trainer(task, TrainerConfig(model_dir=str(tmp_path), num_steps=steps, global_batch_size=2,
                                          checkpoint_every=0, log_every=0), make_strategy("one_device"))
    return trainer, trainer.fit(_batches)


def test_epva_gan_trains_the_generator_on_calls_0_and_6_of_12(tmp_path):
    trainer, result = _train(tmp_path, 12, model_mode="epva_gan")
    iterations = {spec.name: int(spec.optimizer.iterations.numpy()) for spec in trainer.optimizer_specs}
    assert iterations == {"discriminator": 10, "enc_pred": 2, "enc_van": 2}
    assert result.losses["generator_steps"] == 2.0
    assert all(np.isfinite(v) for v in result.losses.values())


@pytest.mark.parametrize("mode", ["e2e", "epva"])
def test_modes_train_without_nan(tmp_path, mode):
    trainer, result = _train(tmp_path, 2, model_mode=mode)
    assert all(np.isfinite(v) for v in result.losses.values())
    assert "van_loss/psnr_all" in result.losses


def test_individual_mode_needs_enc_size_12():
    with pytest.raises(ValueError, match="--model_mode=individual needs --enc_size=12, got --enc_size=8"):
        EPVATask(EPVAConfig(**TINY, model_mode="individual"))
