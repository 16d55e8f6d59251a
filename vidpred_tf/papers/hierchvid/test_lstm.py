"""hierchvid ``lstm_src/test_det_rnn_{penn,h36m}.py``: predict future poses of the test videos.

    python scripts/hierchvid/test_det_rnn_penn.py --gpu=0 --prefix=PENNACTION_DET_LSTM_num_class=8_... --steps=64

Reads ``<models_dir>/<prefix>/`` (the TF1 ``DET_LSTM.model-<N>`` checkpoints that ``train_lstm`` and the original
write) and the hourglass test poses, and writes ``<results_dir>/pose/<prefix>/<i:05d>_<action>/joints.npy`` (float32
(1, 10 + steps, 2L) in 128-pixel units) and ``pred_<action>.gif`` (7 fps). The hyper-parameters are read from the
run name, as the original (:func:`vidpred_tf.papers.hierchvid.run_names.parse_lstm_run_name`).

The work is :func:`vidpred_tf.papers.hierchvid.lstm_workflow.test`.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.papers.hierchvid import options
from vidpred_tf.quiet import import_tensorflow_quietly

SCRIPT = "test_lstm"
options.define_test_lstm(flags.FLAGS)
flags.adopt_module_key_flags(options)  # defined there: this module's --helpshort / --help lists them
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options.resolve_dataset_defaults(FLAGS, SCRIPT)
    import_tensorflow_quietly()
    from vidpred_tf.papers.hierchvid import lstm_workflow  # noqa: PLC0415  (TensorFlow loads once the flags parsed)

    lstm_workflow.test(FLAGS)


def main_penn(argv):
    """``main`` with ``--dataset`` defaulting to penn (the original's ``*_penn.py`` script)."""
    options.choose_dataset(FLAGS, "penn")
    return main(argv)


def main_h36m(argv):
    """``main`` with ``--dataset`` defaulting to h36m (the original's ``*_h36m.py`` script)."""
    options.choose_dataset(FLAGS, "h36m")
    return main(argv)


if __name__ == "__main__":
    app.run(main)
