"""The E3D-LSTM study (kevinstan/video_prediction, "Mental Simulation"): its ``run.py`` command (``run``: the flags
and ``main``; ``workflow``: training, test mode), the original's evaluation protocol (``evaluation``), the
``vidpred predict`` adapter (``predictor``) and the golden checks (``golden``). The networks, losses and the Task
are in :mod:`vidpred_tf.models.e3d`, the checkpoint converter in :mod:`vidpred_tf.convert.e3d`."""

from vidpred_tf.papers import Paper

PAPER = Paper(
    name="e3d",
    original="kevinstan/video_prediction",
    description="Eidetic 3D LSTM study: 2D/3D cells, residual add/concat, l1/l2",
    entry_points={"train": "vidpred_tf.papers.e3d.run:main", "run": "vidpred_tf.papers.e3d.run:main"},
    predictor="vidpred_tf.papers.e3d.predictor",
    converter="vidpred_tf.convert.e3d",
    golden="vidpred_tf.papers.e3d.golden",
)
