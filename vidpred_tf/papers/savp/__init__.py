"""SAVP (alexlee-gk/video_prediction, Lee et al. 2018): its scripts ``train.py`` (``train`` + ``training``),
``generate.py``, ``evaluate.py`` (``evaluation``), ``plot_results.py`` and ``combine_results.py``, the options and
hparams JSONs of their output folders (``options``), the ``vidpred predict`` adapter (``predictor``) and the golden
checks (``golden``). The models (SAVP and its ablations, SV2P, DNA, SNA, ground_truth, repeat), losses and the Task
are in :mod:`vidpred_tf.models.savp`, the checkpoint converter in :mod:`vidpred_tf.convert.savp`, the dataset
readers in :mod:`vidpred_tf.data.savp_video` and ``vidpred_tf/data/<dataset>/savp.py``."""

from vidpred_tf.papers import Paper

_ENTRY = "vidpred_tf.papers.savp"

PAPER = Paper(
    name="savp",
    original="alexlee-gk/video_prediction",
    description="SAVP and its ablations (vae, gan, deterministic), SV2P, DNA/SNA; train/generate/evaluate",
    entry_points={
        "train": f"{_ENTRY}.train:main",
        "generate": f"{_ENTRY}.generate:main",
        "evaluate": f"{_ENTRY}.evaluate:main",
        "plot_results": f"{_ENTRY}.plot_results:main",
        "combine_results": f"{_ENTRY}.combine_results:main",
    },
    predictor=f"{_ENTRY}.predictor",
    converter="vidpred_tf.convert.savp",
    golden=f"{_ENTRY}.golden",
)
