"""hierchvid (rubenvillegas/icml2017hierchvid, Villegas et al. ICML 2017, "Learning to Generate Long-term Future via
Hierarchical Prediction"): its four scripts per dataset, as entry points with a ``--dataset={penn,h36m}`` flag:

* ``train_lstm`` (``lstm_src/train_det_rnn_{penn,h36m}.py``), ``test_lstm`` (``test_det_rnn_*``): the pose LSTM;
* ``train_imggen`` (``imggen_src/train_{penn,h36m}.py``), ``test_imggen`` (``test_*``): the image generator.

``vidpred train --paper hierchvid`` runs ``train_lstm`` (stage 1; the README trains both stages in parallel, the
image generator with ``scripts/hierchvid/train_penn.py`` / ``python -m vidpred_tf.papers.hierchvid.train_imggen``).
The original script names are entry points too (``train_det_rnn_penn``..., ``test_h36m``), and
``scripts/hierchvid/`` has one shim per original script. Run names: :mod:`.run_names`; flags: :mod:`.options`;
the networks, losses and Tasks: :mod:`vidpred_tf.models.hierchvid`. The ``vidpred predict`` adapter
(``predictor``) reads a run folder naming both checkpoints and the observed poses; the golden checks (``golden``)
combine the LSTM, perceptual and image-generator cases; the converter is :mod:`vidpred_tf.convert.hierchvid`."""

from vidpred_tf.papers import Paper

_ENTRY = "vidpred_tf.papers.hierchvid"

PAPER = Paper(
    name="hierchvid",
    original="rubenvillegas/icml2017hierchvid",
    description="hierarchical prediction: pose LSTM (DET_LSTM) + pose-conditioned image analogy generator "
                "(Penn Action, Human3.6M)",
    entry_points={
        "train": f"{_ENTRY}.train_lstm:main",
        "train_lstm": f"{_ENTRY}.train_lstm:main",
        "test_lstm": f"{_ENTRY}.test_lstm:main",
        "train_imggen": f"{_ENTRY}.train_imggen:main",
        "test_imggen": f"{_ENTRY}.test_imggen:main",
        # The original script names: --dataset defaults to theirs.
        "train_det_rnn_penn": f"{_ENTRY}.train_lstm:main_penn",
        "train_det_rnn_h36m": f"{_ENTRY}.train_lstm:main_h36m",
        "test_det_rnn_penn": f"{_ENTRY}.test_lstm:main_penn",
        "test_det_rnn_h36m": f"{_ENTRY}.test_lstm:main_h36m",
        "train_penn": f"{_ENTRY}.train_imggen:main_penn",
        "train_h36m": f"{_ENTRY}.train_imggen:main_h36m",
        "test_penn": f"{_ENTRY}.test_imggen:main_penn",
        "test_h36m": f"{_ENTRY}.test_imggen:main_h36m",
    },
    predictor=f"{_ENTRY}.predictor",
    converter="vidpred_tf.convert.hierchvid",
    golden=f"{_ENTRY}.golden",
)
