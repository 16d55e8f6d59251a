"""MSPred (Villar-Corrales et al., BMVC 2022) and its baselines in Keras 3.

``build.setup_model(exp_params)`` builds any model of the family from an experiment's parameters;
``hierarch.SpatioTempHierarch`` is MSPred itself, ``blocks`` holds the shared layers and the torch-name
protocol used by :mod:`vidpred_tf.convert.mspred`. The original's three configs ship in ``configs/``.
"""

import pathlib

CONFIGS_DIR = pathlib.Path(__file__).resolve().parent / "configs"
