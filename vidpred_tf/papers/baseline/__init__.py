"""The package's own baseline models (a ConvLSTM and a ConvLSTM with DNA kernels), what ``vidpred demo`` trains on
Moving MNIST: no paper is ported here. The networks are in :mod:`vidpred_tf.models.baseline`."""

from vidpred_tf.papers import Paper

PAPER = Paper(
    name="baseline",
    original="",
    description="the demo's models: a ConvLSTM, and a ConvLSTM predicting DNA motion kernels",
    entry_points={"demo": "vidpred_tf.papers.baseline.demo:main"},
    predictor="vidpred_tf.papers.baseline.predictor",
    original_paper=False,
)
