"""The data layer: the batch contract, the reader registry, the project TFRecord format, tf.data pipeline
helpers and Moving MNIST. ``get_reader(name)`` finds the readers of the original formats."""

from vidpred_tf.data.batch import ACTIONS, IMAGES, KNOWN_KEYS, MASKS, POSES, STATES, validate_batch
from vidpred_tf.data.moving_mnist.digits import MnistDigits, load_mnist_digits
from vidpred_tf.data.moving_mnist.generate import (
    MovingMNISTConfig,
    bouncing_trajectories,
    generate_moving_mnist,
    read_mnist_test_seq,
    read_moving_mnist,
    render_sequences,
    sample_moving_mnist,
    write_moving_mnist_tfrecords,
)
from vidpred_tf.data.pipeline import dataset_fn_for_strategy, make_dataset
from vidpred_tf.data.registry import get_reader, list_readers, register_reader
from vidpred_tf.data.tfrecord import (
    FORMAT_VERSION,
    CorruptRecordError,
    check_files,
    encode_example,
    error_naming_file,
    find_corrupt_record,
    iterate_checked,
    keys_in_file,
    list_files,
    parse_example,
    raise_with_file,
    read_tfrecords,
    write_tfrecords,
)

__all__ = [
    "ACTIONS", "IMAGES", "KNOWN_KEYS", "MASKS", "POSES", "STATES", "validate_batch",
    "get_reader", "list_readers", "register_reader",
    "FORMAT_VERSION", "CorruptRecordError", "check_files", "encode_example", "error_naming_file",
    "find_corrupt_record", "iterate_checked", "keys_in_file", "list_files", "parse_example", "raise_with_file",
    "read_tfrecords", "write_tfrecords",
    "dataset_fn_for_strategy", "make_dataset",
    "MnistDigits", "load_mnist_digits",
    "MovingMNISTConfig", "bouncing_trajectories", "generate_moving_mnist", "read_mnist_test_seq",
    "read_moving_mnist", "render_sequences", "sample_moving_mnist", "write_moving_mnist_tfrecords",
]
