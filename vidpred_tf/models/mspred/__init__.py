"""MSPred (Villar-Corrales et al., BMVC 2022) and its baselines in Keras 3.

``build.setup_model(exp_params)`` builds any model of the family from an experiment's parameters (``params``
reads them); ``hierarch.SpatioTempHierarch`` is MSPred itself, ``blocks`` holds the shared layers and the
original-name protocol (``original_variables()``) used by :mod:`vidpred_tf.convert.mspred`; ``task.MSPredTask``
is the training task of the shared trainer. The original's three configs ship in ``configs/``.
"""

import pathlib

CONFIGS_DIR = pathlib.Path(__file__).resolve().parent / "configs"
