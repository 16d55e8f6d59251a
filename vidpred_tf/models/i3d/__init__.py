"""I3D (Inception-v1 inflated 3-D ConvNet, Kinetics-400), the embedding network of the Frechet Video Distance.

``InceptionI3d`` / ``build_i3d`` (``model.py``); weights come from the published TF-Hub module or the
deepmind/kinetics-i3d checkpoints through ``vidpred_tf.convert.i3d``.
"""

from vidpred_tf.models.i3d.model import (
    MIXED_CHANNELS,
    ORIGINAL_TOTAL_PARAMS,
    ORIGINAL_TRAINABLE_PARAMS,
    VALID_ENDPOINTS,
    InceptionI3d,
    build_i3d,
)

__all__ = [
    "InceptionI3d",
    "build_i3d",
    "VALID_ENDPOINTS",
    "MIXED_CHANNELS",
    "ORIGINAL_TOTAL_PARAMS",
    "ORIGINAL_TRAINABLE_PARAMS",
]
