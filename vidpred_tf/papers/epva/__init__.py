"""EPVA (brain-research/long-term-video-prediction-without-supervision, Wichers et al. 2018): its script
``prediction_train.py`` and the notebook ``generation.ipynb`` (:mod:`vidpred_tf.papers.epva.generation`). The
network, losses and Task are in :mod:`vidpred_tf.models.epva`.

The ``vidpred predict`` adapter is ``predictor``, the checkpoint converter :mod:`vidpred_tf.convert.epva`, the
golden checks ``golden``."""

from vidpred_tf.papers import Paper

_ENTRY = "vidpred_tf.papers.epva"

PAPER = Paper(
    name="epva",
    original="brain-research/long-term-video-prediction-without-supervision",
    description="EPVA, EPVA-GAN, E2E and the individual/pose ablations (hierarchical prediction without supervision)",
    # "train" is what `vidpred train --paper epva` runs; "prediction_train" is the original script's name.
    entry_points={"train": f"{_ENTRY}.prediction_train:main",
                  "prediction_train": f"{_ENTRY}.prediction_train:main"},
    predictor=f"{_ENTRY}.predictor",
    converter="vidpred_tf.convert.epva",
    golden=f"{_ENTRY}.golden",
)
