"""SAVP (alexlee-gk/video_prediction, Lee et al. 2018): the computation of the paper and its baselines.

For the trainer's Task and the workflow of :mod:`vidpred_tf.papers.savp` (train/generate/evaluate, the predictor
adapter, the golden checks):

* ``defaults``: the original model classes' default hparams (``BASE``, ``VIDEO_PREDICTION``, ``SAVP``); the
  HParams objects themselves are :mod:`vidpred_tf.hparams` (shared with the dataset readers);
* ``generator`` (``SAVPGenerator``), with ``encoder`` (the z encoder / learned prior) and ``cell`` (the SAVP cell:
  conv-LSTMs with instance-normalised gates, CDNA/DNA/flow transforms, masks, scratch image, states);
* ``discriminator`` (``SAVPDiscriminator``: the spectral-norm video / image / images discriminators, posterior
  and prior sets);
* ``losses``: the generator and discriminator loss terms with their weights, the KL anneal, the lr schedule;
* ``sv2p``, ``sna``, ``dna`` (the baselines), ``non_trainable`` (``ground_truth``, ``repeat``);
* ``model``: ``VideoPredictionModel`` / ``build_model`` / ``resolve_model_hparams`` (the ``--model`` families and
  their TF1 variable names, :mod:`vidpred_tf.convert.savp`);
* ``task``: ``SAVPTask``, the original's train op (D update, then G on the loss through the updated D).
"""

from vidpred_tf.models.savp.model import (
    MODEL_NAMES,
    VideoPredictionModel,
    build_model,
    default_hparams,
    resolve_model_hparams,
)
from vidpred_tf.models.savp.task import SAVPTask

__all__ = ["MODEL_NAMES", "VideoPredictionModel", "build_model", "default_hparams", "resolve_model_hparams",
           "SAVPTask"]
