"""hierchvid ``imggen_src/test_{penn,h36m}.py``: turn the pose test's predicted joints into video.

    python scripts/hierchvid/test_penn.py --gpu=0 --imggen_prefix=PENNACTION_ANALOGY_imgsize=128_... \\
        --lstm_prefix=PENNACTION_DET_LSTM_num_class=8_...

Reads ``<models_dir>/<imggen_prefix>/`` (``IMGGEN.model-<N>``) and ``<results_dir>/pose/<lstm_prefix>/*/joints.npy``
(run ``test_lstm`` first, with ``--steps`` >= ``--fut_step``) and writes, per test video,
``<results_dir>/images/PennAction/<imggen_prefix>/<action>_<NNNN>/`` (H3.6M: ``images/Human3.6m/...``):
``input_img.png``, ``input_pose.png``, ``gt_/ours_/pose_%04d.png`` and ``ours.gif``, ``gt.gif``, ``pose.gif`` (7 fps).
Every future frame is generated from ground-truth frame 9 and its pose (no recursion).

The work is :func:`vidpred_tf.papers.hierchvid.imggen_workflow.test`.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.papers.hierchvid import options
from vidpred_tf.quiet import import_tensorflow_quietly

SCRIPT = "test_imggen"
options.define_test_imggen(flags.FLAGS)
flags.adopt_module_key_flags(options)  # defined there: this module's --helpshort / --help lists them
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options.resolve_dataset_defaults(FLAGS, SCRIPT)
    import_tensorflow_quietly()
    from vidpred_tf.papers.hierchvid import imggen_workflow  # noqa: PLC0415  (TensorFlow loads once the flags parsed)

    imggen_workflow.test(FLAGS)


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
