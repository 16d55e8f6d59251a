"""Load any checkpoint of the package and predict the future of any video: the engine of ``vidpred predict``.

* :mod:`~vidpred_tf.inference.registry`: the predictor registry (each paper's adapter, found through its
  descriptor), restoring weights, a model cache per sequence length;
* :mod:`~vidpred_tf.inference.video_input`: videos in (mp4/avi/gif files, frame folders, ``.npy``), fitted to a
  model's frame size and channels;
* :mod:`~vidpred_tf.inference.prediction`: predicting a video and writing GIF, MP4, PNG frames, ``.npy`` and
  JSON with the predicted frames marked.

The manifest written beside checkpoints is :mod:`vidpred_tf.manifest`.
"""

from vidpred_tf.inference.prediction import (
                                             CONTEXT_COLOR,
                                             PREDICTION_COLOR,
                                             TRUTH_COLOR,
                                             VideoPrediction,
                                             display_scale,
                                             marked_frames,
                                             predict_video,
                                             run_predictor,
                                             write_prediction_outputs,
)
from vidpred_tf.inference.registry import (
                                             LoaderEntry,
                                             ModelCache,
                                             Predictor,
                                             import_adapters,
                                             load_predictor,
                                             resolve_checkpoint,
                                             restore_weights,
)
from vidpred_tf.inference.video_input import IMAGE_EXTENSIONS, fit_frames, load_video

__all__ = [
    "CONTEXT_COLOR", "PREDICTION_COLOR", "TRUTH_COLOR", "VideoPrediction", "display_scale", "marked_frames",
    "predict_video", "run_predictor", "write_prediction_outputs", "LoaderEntry", "ModelCache", "Predictor",
    "import_adapters", "load_predictor", "resolve_checkpoint", "restore_weights", "IMAGE_EXTENSIONS",
    "fit_frames", "load_video",
]
