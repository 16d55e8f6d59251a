"""hierchvid ``lstm_src/train_det_rnn_{penn,h36m}.py``: train the pose LSTM, with the original's flags.

    python scripts/hierchvid/train_det_rnn_penn.py --gpu=0
    python -m vidpred_tf.papers.hierchvid.train_lstm --dataset=h36m --gpu=0

Writes ``<models_dir>/<prefix>/DET_LSTM.model-<step>`` (original TF1 checkpoints, the TRUE step: the original
saved twice the step), ``<models_dir>/<prefix>/trainer/`` (the port's checkpoints, for resume),
``<logs_dir>/<prefix>/`` (the ``loss`` scalar every step) and ``<samples_dir>/<prefix>/<step:07d>_<action>.png``
every 100 steps; a run whose folder holds a checkpoint resumes from it. The run name ``<prefix>`` is
``PENNACTION_DET_LSTM_num_class=8_learning_rate=0.001_...`` (:mod:`vidpred_tf.papers.hierchvid.run_names`).

This module is the command (its flags, defined on import, and ``main``); the work is
:mod:`vidpred_tf.papers.hierchvid.lstm_workflow`. Flag notes (``--gpu``, ``--mem_frac``, folders):
:mod:`vidpred_tf.papers.hierchvid.options`.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.papers.hierchvid import options
from vidpred_tf.quiet import import_tensorflow_quietly

SCRIPT = "train_lstm"
options.define_train_lstm(flags.FLAGS)
flags.adopt_module_key_flags(options)  # defined there: this module's --helpshort / --help lists them
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options.resolve_dataset_defaults(FLAGS, SCRIPT)
    import_tensorflow_quietly()
    from vidpred_tf.papers.hierchvid import lstm_workflow  # noqa: PLC0415  (TensorFlow loads once the flags parsed)

    lstm_workflow.train(FLAGS)


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
