"""E3D-LSTM study (kevinstan/video_prediction): Eidetic 3D LSTM, 2-D/3-D cells, residual add/concat, l1/l2 losses.

The computation of the study, for the trainer's Task and the workflow of :mod:`vidpred_tf.papers.e3d` (its
``run.py``, evaluation protocol, ``vidpred predict`` adapter and golden checks):

* ``E3DConfig`` (``config.py``): the five ``--model_name`` networks and the hand-edited knobs;
* ``E3DLSTM`` / ``build_model`` (``model.py``): patched frames + sampling mask -> all T-1 predictions;
  ``E3DLSTM.original_variables()`` names every variable as the original did (:mod:`vidpred_tf.convert.e3d`);
* ``e3d_losses`` / ``logged_losses`` (``losses.py``): the original's un-normalised sum losses;
* ``reshape_patch`` / ``reshape_patch_back`` (``preprocess.py``);
* ``SamplingConfig`` / ``schedule_sampling`` (``sampling.py``): the NumPy masks of scheduled sampling;
* ``E3DTask`` (``task.py``): all of it as a Task of the shared trainer, with the original's batching of its
  training data (optimiser: the trainer's ``AdamEpsInsideSqrt``, the original's hand-written Adam with epsilon
  inside the square root).
"""

from vidpred_tf.models.e3d.config import L2_FORMS, MODEL_NAMES, RESIDUAL_MODES, E3DConfig
from vidpred_tf.models.e3d.losses import e3d_losses, logged_losses
from vidpred_tf.models.e3d.model import E3DLSTM, build_model, output_frames
from vidpred_tf.models.e3d.preprocess import reshape_patch, reshape_patch_back
from vidpred_tf.models.e3d.sampling import SamplingConfig, schedule_sampling
from vidpred_tf.models.e3d.task import E3DTask

__all__ = [
    "E3DConfig", "MODEL_NAMES", "RESIDUAL_MODES", "L2_FORMS", "E3DLSTM", "build_model", "output_frames",
    "e3d_losses", "logged_losses", "reshape_patch", "reshape_patch_back", "SamplingConfig", "schedule_sampling",
    "E3DTask",
]
