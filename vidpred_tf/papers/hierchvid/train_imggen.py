"""hierchvid ``imggen_src/train_{penn,h36m}.py``: train the image-analogy generator (with its pose-conditioned
discriminator and the AlexNet / hourglass feature losses), with the original's flags.

    python scripts/hierchvid/train_penn.py --gpu=0
    python -m vidpred_tf.papers.hierchvid.train_imggen --dataset=h36m --gpu=0

Needs ``<perceptual_dir>`` (``perceptual_models/download.sh``: ``alexnet/bvlc_alexnet.npy`` and
``hourglass/hourglass_weights_<i>.npy``). Writes ``<models_dir>/<prefix>/IMGGEN.model-<counter>`` (TF1, GEN and
DIS under the original names), ``<models_dir>/<prefix>/trainer/`` (resume), ``<logs_dir>/<prefix>/`` and
``<samples_dir>/<prefix>/train_<iters>.png``; run name ``PENNACTION_ANALOGY_imgsize=128_layer=3_...``.

This module is the command (its flags, defined on import, and ``main``); the work is
:mod:`vidpred_tf.papers.hierchvid.imggen_workflow`. Flag notes: :mod:`vidpred_tf.papers.hierchvid.options`.
"""

from __future__ import annotations

from absl import app, flags

from vidpred_tf.papers.hierchvid import options
from vidpred_tf.quiet import import_tensorflow_quietly

SCRIPT = "train_imggen"
options.define_train_imggen(flags.FLAGS)
flags.adopt_module_key_flags(options)  # defined there: this module's --helpshort / --help lists them
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    options.resolve_dataset_defaults(FLAGS, SCRIPT)
    import_tensorflow_quietly()
    from vidpred_tf.papers.hierchvid import imggen_workflow  # noqa: PLC0415  (TensorFlow loads once the flags parsed)

    imggen_workflow.train(FLAGS)


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
