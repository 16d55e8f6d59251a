"""EPVA's readers (vidpred_tf/data/epva_records.py, human36m_epva, google_robot_epva) on small fake files:
checklist items 2 (shapes, the joint_poses concat, zero human poses) and 3 (legacy bicubic resize, unclipped) of
the EPVA spec, the golden outputs of the original reader, augmentation, order, and the one-line errors."""

import importlib.util
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from fixtures.epva_data import truncate_file, write_fake_epva_records

from vidpred_tf.data import epva_records, registry
from vidpred_tf.errors import InputError, MissingInputError, user_error_message
from vidpred_tf.golden.common import CaseReport
from vidpred_tf.papers.epva import golden_reader

GOLDEN_READER = "/work/shared/golden/epva/reader"
DATASETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "datasets", "epva")


def _script(name):
    spec = importlib.util.spec_from_file_location(f"epva_{name}", os.path.join(DATASETS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_line(err):
    return user_error_message(err)


def _keys_cubic(x, a=-0.75):
    """Keys' cubic convolution kernel (the TF1 ResizeBicubic kernel), evaluated in float64."""
    x = np.abs(x)
    return np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))


def _legacy_bicubic_numpy(image, size=64):
    """Independent float64 legacy (align_corners=False, half_pixel_centers=False) bicubic: output pixel o samples
    input coordinate o * in/out, taps floor-1..floor+2 clamped to the edge."""
    image = image.astype(np.float64)

    def axis_matrix(n_in):
        matrix = np.zeros((size, n_in))
        for o in range(size):
            coord = o * n_in / size
            base = int(np.floor(coord))
            for tap in range(base - 1, base + 3):
                matrix[o, min(max(tap, 0), n_in - 1)] += _keys_cubic(coord - tap)
        return matrix

    rows, cols = axis_matrix(image.shape[0]), axis_matrix(image.shape[1])
    return np.einsum("oh,hwc,pw->opc", rows, image, cols)


@pytest.fixture(scope="module")
def robot_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("robot") / "robot_train.tfrecord")
    return path, write_fake_epva_records(path, "robot", num_examples=2, num_frames=20, seed=3)


# ------------------------------------------------------------------------------------------------ checklist 2


def test_robot_shapes_actions_and_joint_pose_concat(robot_file):
    path, written = robot_file
    dataset = epva_records.epva_dataset(path, "robot", sequence_length=20, skip_num=2, batch_size=2, shuffle=False)
    batches = list(dataset)
    assert len(batches) == 1  # one pass in file order without shuffle
    batch = batches[0]
    assert batch["images"].shape == (2, 10, 64, 64, 3) and batch["images"].dtype == tf.float32
    assert batch["actions"].shape == (2, 10, 5) and batch["joint_poses"].shape == (2, 10, 12)
    read = list(range(0, 20, 2))
    for row, example in enumerate(written):
        np.testing.assert_array_equal(batch["actions"][row].numpy(), example["action"][read])
        np.testing.assert_array_equal(batch["joint_poses"][row, :, :7].numpy(), example["joint_positions"][read])
        np.testing.assert_array_equal(batch["joint_poses"][row, :, 7:].numpy(), example["state"][read])
        angles = batch["joint_poses"][row, :, 10:].numpy()
        assert np.all(np.abs(angles) <= np.pi)


def test_human_records_give_zero_actions_and_poses(tmp_path):
    path = str(tmp_path / "humans_train.tfrecord")
    write_fake_epva_records(path, "human", num_examples=1, num_frames=7, seed=4)
    reader = registry.get_reader("human36m_epva")
    batch = next(iter(reader(path, batch_size=1, sequence_length=7, skip_num=3, shuffle=False)))
    assert batch["images"].shape == (1, 3, 64, 64, 3)
    np.testing.assert_array_equal(batch["actions"].numpy(), np.zeros((1, 3, 5), np.float32))
    np.testing.assert_array_equal(batch["joint_poses"].numpy(), np.zeros((1, 3, 12), np.float32))


def test_registered_robot_reader_repeats_and_shuffles_with_seed(robot_file):
    path, written = robot_file
    reader = registry.get_reader("google_robot_epva")

    def first_actions(seed):
        dataset = reader(path, batch_size=2, sequence_length=4, skip_num=1, seed=seed)
        return np.concatenate([batch["actions"].numpy() for batch in dataset.take(5)])  # 10 rows of 2 records

    rows = first_actions(7)
    np.testing.assert_array_equal(rows, first_actions(7))
    which = [[np.array_equal(row, example["action"][:4]) for example in written].index(True) for row in rows]
    assert sorted(set(which)) == [0, 1]
    orders = {tuple([np.array_equal(r, written[0]["action"][:4]) for r in first_actions(s)]) for s in range(6)}
    assert len(orders) > 1  # the seed changes the order


# ------------------------------------------------------------------------------------------------ checklist 3


def test_legacy_bicubic_matches_tf1_kernel_and_independent_math():
    rng = np.random.RandomState(0)
    image = rng.randint(0, 256, size=(80, 96, 3)).astype(np.uint8)
    ours = epva_records.legacy_bicubic_resize(image).numpy()
    tf1 = tf.compat.v1.image.resize_bicubic(image[None], (64, 64), align_corners=False,
                                            half_pixel_centers=False)[0].numpy()
    np.testing.assert_array_equal(ours, tf1)
    np.testing.assert_allclose(ours, _legacy_bicubic_numpy(image), atol=2e-4)
    tf2 = tf.image.resize(image, (64, 64), method="bicubic").numpy()
    assert np.abs(tf2 - ours).max() > 1.0  # the half-pixel kernel is a different resize
    assert ours.min() < 0 and ours.max() > 255  # unclipped overshoot on random pixels


def test_64x64_frames_come_back_unchanged():
    image = np.random.RandomState(1).randint(0, 256, size=(64, 64, 3)).astype(np.uint8)
    np.testing.assert_array_equal(epva_records.legacy_bicubic_resize(image).numpy(), image.astype(np.float32))


def test_reader_frames_are_legacy_bicubic_over_255_unclipped(robot_file):
    path, written = robot_file
    batch = next(iter(epva_records.epva_dataset(path, "robot", 3, 1, 1, shuffle=False)))
    for t in range(3):
        frame = written[0]["frames"][t]
        assert frame.shape == (80, 96, 3)
        expected = tf.compat.v1.image.resize_bicubic(frame[None], (64, 64), half_pixel_centers=False)[0] / 255.0
        np.testing.assert_array_equal(batch["images"][0, t].numpy(), expected.numpy())
    images = batch["images"].numpy()
    assert images.min() < 0.0 or images.max() > 1.0  # the square's edges overshoot


def test_golden_reader_outputs_of_the_original():
    if not os.path.isdir(GOLDEN_READER):
        pytest.skip("no epva reader goldens here")
    (case,) = golden_reader.find_reader_cases(GOLDEN_READER)
    lines = []
    report = CaseReport(case.name, print_fn=lines.append)
    golden_reader.check_reader_case(case, report)
    assert report.passed, "\n".join(lines)
    assert sum("images" in line and "output" in line for line in lines) == 3


def test_color_augment_is_seeded_and_one_delta_per_sequence(robot_file):
    path, _ = robot_file

    def images(augment, seed):
        dataset = epva_records.epva_dataset(path, "robot", 4, 1, 2, shuffle=False, color_data_augment=augment,
                                            seed=seed)
        return next(iter(dataset))["images"].numpy()

    plain, first, again = images(False, None), images(True, 5), images(True, 5)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - plain).max() > 0.01
    # One delta per sequence: the hue shift that maps frame 0 onto its augmented version maps every frame.
    for row in range(2):
        deltas = np.linspace(-0.5, 0.5, 2001)
        errors = [np.abs(tf.image.adjust_hue(plain[row, 0], d).numpy() - first[row, 0]).max() for d in deltas]
        best = deltas[int(np.argmin(errors))]
        np.testing.assert_allclose(tf.image.adjust_hue(plain[row], best).numpy(), first[row], atol=0.02)


# ------------------------------------------------------------------------------------------------ errors


def test_no_files_for_pattern(tmp_path):
    pattern = str(tmp_path / "*validation*")
    with pytest.raises(MissingInputError) as err:
        epva_records.epva_dataset(pattern, "human", 4, 1, 1)
    assert _one_line(err.value) == f"epva: no TFRecord file matches {pattern!r}"


def test_missing_key_names_file_record_and_key(tmp_path):
    path = str(tmp_path / "robot_train.tfrecord")
    write_fake_epva_records(path, "robot", num_examples=1, num_frames=4, skip_keys=("joint_positions_2",))
    with pytest.raises(InputError) as err:
        registry.get_reader("google_robot_epva")(path, batch_size=1, sequence_length=4, skip_num=1)
    assert _one_line(err.value) == f"google_robot_epva: {path}: record 0: missing key 'joint_positions_2'"
    # skip 3 reads frames 0 and 3 only: fine
    batch = next(iter(epva_records.epva_dataset(path, "robot", 4, 3, 1, shuffle=False)))
    assert batch["images"].shape == (1, 2, 64, 64, 3)


def test_truncated_file_first_and_later_record(tmp_path):
    first = str(tmp_path / "cut_train.tfrecord")
    write_fake_epva_records(first, "human", num_examples=1, num_frames=3)
    truncate_file(first)
    with pytest.raises(InputError) as err:
        epva_records.epva_dataset(first, "human", 3, 1, 1)
    assert _one_line(err.value).startswith(f"epva: {first}: record 0: corrupt or truncated record")

    later = str(tmp_path / "later_train.tfrecord")
    write_fake_epva_records(later, "human", num_examples=3, num_frames=3)
    truncate_file(later, keep_fraction=0.8)
    files = [later]
    spec = epva_records.feature_spec("human", 3, 1)
    dataset = epva_records.epva_dataset(later, "human", 3, 1, 1, shuffle=False)  # record 0 is fine
    with pytest.raises(InputError) as err:
        list(epva_records.iterate_checked(dataset, files, spec))
    assert _one_line(err.value).startswith(f"epva: {later}: record 2: corrupt or truncated record")


def test_bad_arguments(robot_file):
    path, _ = robot_file
    with pytest.raises(InputError, match="dataset_type must be one of robot, human; got 'push'"):
        epva_records.epva_dataset(path, "push", 4, 1, 1)
    with pytest.raises(InputError, match="skip_num must be a positive integer; got 0"):
        epva_records.epva_dataset(path, "robot", 4, 0, 1)


# ------------------------------------------------------------------------------------------------ datasets/epva


def _write_fake_push(path, steps, drop=None, seed=0):
    rng = np.random.RandomState(seed)
    written = []
    with tf.io.TFRecordWriter(path) as writer:
        for _ in range(2):
            feature, content = {}, {"state": [], "action": [], "joints": [], "jpeg": []}
            for i in range(steps):
                frame = rng.randint(0, 256, size=(48, 40, 3)).astype(np.uint8)
                jpeg = tf.io.encode_jpeg(frame).numpy()
                state, action, joints = rng.normal(size=5), rng.normal(size=5), rng.normal(size=7)
                feature[f"move/{i}/image/encoded"] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[jpeg]))
                for key, values in (("endeffector/vec_pitch_yaw", state), ("commanded_pose/vec_pitch_yaw", action),
                                    ("joint/positions", joints)):
                    feature[f"move/{i}/{key}"] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
                for name, value in (("state", state), ("action", action), ("joints", joints), ("jpeg", jpeg)):
                    content[name].append(value)
            if drop:
                feature.pop(drop)
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
            written.append(content)
    return written


def test_convert_push_writes_the_epva_robot_format(tmp_path, capsys):
    convert = _script("convert_push")
    source = str(tmp_path / "push_train.tfrecord-00000-of-00001")
    written = _write_fake_push(source, steps=4)
    prefix = str(tmp_path / "out" / "robot_train")
    assert convert.main(["--input", source, "--output_prefix", prefix]) == 0
    target = prefix + "-00000-of-00001.tfrecord"
    assert os.listdir(tmp_path / "out") == [os.path.basename(target)]
    first = tf.train.Example.FromString(next(iter(tf.data.TFRecordDataset([target]))).numpy()).features.feature
    assert first["image_3"].bytes_list.value[0] == written[0]["jpeg"][3]  # JPEG bytes copied as they were
    batch = next(iter(epva_records.epva_dataset(os.path.join(tmp_path, "out", "*train*"), "robot", 4, 1, 2,
                                                shuffle=False)))
    for row, content in enumerate(written):
        np.testing.assert_allclose(batch["actions"][row].numpy(), np.float32(content["action"]))
        np.testing.assert_allclose(batch["joint_poses"][row, :, :7].numpy(), np.float32(content["joints"]))
        np.testing.assert_allclose(batch["joint_poses"][row, :, 7:].numpy(), np.float32(content["state"]))
    assert f"{source}: 2 records -> {target}" in capsys.readouterr().out

    broken = str(tmp_path / "push_bad.tfrecord")
    _write_fake_push(broken, steps=3, drop="move/1/joint/positions")
    assert convert.main(["--input", broken, "--output_prefix", str(tmp_path / "bad" / "robot_train")]) == 2
    assert f"{broken}: record 0: missing key 'move/1/joint/positions'" in capsys.readouterr().err
    assert os.listdir(tmp_path / "bad") == []  # no partial output left behind


class _FakeBucket:
    """Answers the bucket's JSON listing (two pages) and object URLs from a dict, recording the URLs asked."""

    def __init__(self, objects):
        self.objects, self.urls = objects, []

    def __call__(self, url):
        self.urls.append(url)
        if "/storage/v1/b/" in url:
            names = sorted(self.objects)
            if "pageToken=2" in url:
                page = {"items": [{"name": n, "size": str(len(self.objects[n]))} for n in names[1:]]}
            else:
                page = {"items": [{"name": names[0], "size": str(len(self.objects[names[0]]))}],
                        "nextPageToken": "2"}
            return io.BytesIO(json.dumps(page).encode())
        name = url.split("/unsupervised-hierarch-video/", 1)[1]
        return io.BytesIO(self.objects[name])


def test_download_lists_pages_and_fetches_public_urls(tmp_path):
    download = _script("download")
    bucket = _FakeBucket({"pretrained_models/epva_human/checkpoint": b"model_checkpoint_path: 'model.ckpt-1'",
                          "pretrained_models/epva_human/model.ckpt-1.index": b"index-bytes"})
    paths = download.fetch_https(["pretrained_models/epva_human/"], str(tmp_path), opener=bucket)
    assert [os.path.relpath(p, tmp_path) for p in paths] == ["pretrained_models/epva_human/checkpoint",
                                                             "pretrained_models/epva_human/model.ckpt-1.index"]
    assert open(paths[1], "rb").read() == b"index-bytes"
    assert "https://storage.googleapis.com/unsupervised-hierarch-video/pretrained_models/epva_human/checkpoint" \
        in bucket.urls
    assert download.PREFIXES["vgg16"] == ["pretrained_models/vgg_16.ckpt"]
    with pytest.raises(FileNotFoundError, match="gs://unsupervised-hierarch-video/data/: no such object"):
        download.fetch_https(["data/"], str(tmp_path), opener=lambda url: io.BytesIO(b"{}"))
