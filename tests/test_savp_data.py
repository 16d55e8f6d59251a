"""SAVP's dataset readers (vidpred_tf.data.savp_video and vidpred_tf/data/<dataset>/savp.py) on small fake files:
checklist items 11 (BAIR) and 12 (KTH) of the SAVP spec, slicing with frame_skip, crop/scale, the other readers,
the one-line errors, and datasets/savp/kth_dataset.py."""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from fixtures import savp_data

from vidpred_tf.data import registry, savp_video
from vidpred_tf.data.bair.savp import SoftmotionVideoDataset
from vidpred_tf.data.kth.savp import KTHVideoDataset
from vidpred_tf.errors import InputError, MissingInputError, user_error_message
from vidpred_tf.hparams import HParams

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _batches(dataset, count=None):
    out = []
    for index, batch in enumerate(dataset):
        if count is not None and index >= count:
            break
        out.append({key: value.numpy() for key, value in batch.items()})
    return out


def _match(clip, written, key="images", scale=255.0):
    """(example index, start offset) of the written example whose frames ``clip`` equals."""
    found = []
    for index, example in enumerate(written):
        frames = example[key].astype(np.float32) / scale
        for start in range(len(frames) - len(clip) + 1):
            if np.allclose(frames[start:start + len(clip)], clip, atol=1e-6):
                found.append((index, start))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def bair64(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("bair64"))
    return root, {
        "train": savp_data.write_fake_bair(root, "train", num_examples=3, seed=0),
        "val": savp_data.write_fake_bair(root, "val", first=256, num_examples=2, seed=1),
        "test": savp_data.write_fake_bair(root, "test", first=0, num_examples=2, seed=2),
    }


# ------------------------------------------------------------------------------------------------ checklist 11


def test_bair_train_clips_64x64_start_at_even_offsets(bair64):
    root, written = bair64
    data = SoftmotionVideoDataset(root, mode="train", seed=5, hparams_dict={"use_state": True})
    hp = data.hparams
    assert (hp.context_frames, hp.sequence_length, hp.long_sequence_length, hp.time_shift) == (2, 12, 30, 2)
    assert data.num_examples_per_epoch() == 3  # traj_0_to_2
    batches = _batches(data.make_dataset(batch_size=2), count=8)
    starts = set()
    for batch in batches:
        assert batch["images"].shape == (2, 12, 64, 64, 3) and batch["images"].dtype == np.float32
        assert 0.0 <= batch["images"].min() and batch["images"].max() <= 1.0
        assert batch["states"].shape == (2, 12, 3) and batch["actions"].shape == (2, 11, 4)
        assert list(batch) == ["images", "states", "actions"]
        for b in range(2):
            index, start = _match(batch["images"][b], written["train"])
            assert start in range(0, 19, 2)
            np.testing.assert_array_equal(batch["states"][b], written["train"][index]["states"][start:start + 12])
            np.testing.assert_array_equal(batch["actions"][b], written["train"][index]["actions"][start:start + 11])
            starts.add(start)
    assert len(starts) >= 3  # random starts (16 draws from 10 values)
    again = _batches(SoftmotionVideoDataset(root, mode="train", seed=5, hparams_dict={"use_state": True})
                     .make_dataset(batch_size=2), count=8)
    for first, second in zip(batches, again):  # the same seed gives the same clips
        np.testing.assert_array_equal(first["images"], second["images"])


@pytest.mark.parametrize("mode", ["val", "test"])
def test_bair_val_and_test_start_at_zero_in_file_order(bair64, mode):
    root, written = bair64
    data = SoftmotionVideoDataset(root, mode=mode, num_epochs=1, seed=3)
    assert data.input_dir == os.path.join(root, mode)
    (batch,) = _batches(data.make_dataset(batch_size=2))
    assert list(batch) == ["images"]
    for b in range(2):
        np.testing.assert_allclose(batch["images"][b], written[mode][b]["images"][:12] / 255.0, atol=1e-6)


def test_bair_frame_skip_and_image_name_choice(tmp_path):
    # image_view0 and image_main both present: image_view0 wins (after image_aux1, absent here).
    written = savp_data.write_fake_bair(str(tmp_path), "train", num_examples=2, size=4, image_name="image_view0",
                                        extra_image_names=["image_main"], seed=4)
    data = SoftmotionVideoDataset(str(tmp_path / "train"), mode="val", num_epochs=1,
                                  hparams="use_state=true,sequence_length=5,frame_skip=1")
    assert data.state_like_names_and_shapes["images"] == ("%d/image_view0/encoded", (4, 4, 3))
    (batch,) = _batches(data.make_dataset(batch_size=2))
    for b in range(2):
        np.testing.assert_allclose(batch["images"][b], written[b]["images"][0:9:2] / 255.0, atol=1e-6)
        np.testing.assert_array_equal(batch["states"][b], written[b]["states"][0:9:2])
        np.testing.assert_array_equal(batch["actions"][b], written[b]["actions"][0:8].reshape(4, 8))
    # Train: num_shifts = (29 - 4 * 2) // 2 = 10, so starts 0, 2, ..., 20; frames every other step from there.
    train = SoftmotionVideoDataset(str(tmp_path), mode="train", seed=1, hparams_dict={"sequence_length": 5,
                                                                                        "frame_skip": 1})
    starts = set()
    for batch in _batches(train.make_dataset(batch_size=2), count=10):
        for clip in batch["images"]:
            for example in written:
                frames = example["images"] / 255.0
                hits = [s for s in range(0, 21) if np.allclose(frames[s:s + 9:2], clip, atol=1e-6)]
                if hits:
                    assert hits[0] % 2 == 0
                    starts.add(hits[0])
    assert len(starts) >= 3 and max(starts) <= 20


def test_sequence_length_zero_takes_the_longest_and_too_short_is_an_error(tmp_path):
    savp_data.write_fake_bair(str(tmp_path), "train", num_examples=2, size=2, steps=9)
    data = SoftmotionVideoDataset(str(tmp_path / "train"), mode="val",
                                  hparams_dict={"sequence_length": 0, "frame_skip": 1})
    assert data.hparams.sequence_length == 5  # (9 - 1) // 2 + 1
    with pytest.raises(InputError, match=r"traj_0_to_1.tfrecords: examples have 9 steps; sequence_length=12"):
        SoftmotionVideoDataset(str(tmp_path), mode="train")


def test_crop_and_scale(tmp_path):
    written = savp_data.write_fake_bair(str(tmp_path), "train", num_examples=2, size=8, steps=4, seed=6)
    frames = written[0]["images"][:3].astype(np.float64) / 255.0

    def first_clip(**hparams):
        data = SoftmotionVideoDataset(str(tmp_path / "train"), mode="test", num_epochs=1,
                                      hparams_dict=dict(sequence_length=3, **hparams))
        return _batches(data.make_dataset(batch_size=1), count=1)[0]["images"][0]

    np.testing.assert_allclose(first_clip(crop_size=6), frames[:, 1:7, 1:7], atol=1e-6)  # centre crop
    # AREA down by 2: the mean of each 2x2 block.
    area = frames.reshape(3, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(first_clip(scale_size=4), area, atol=1e-5)
    # BILINEAR up by 2 as TF1's resize_images (no half-pixel centres): even outputs are the input pixels, odd ones
    # the mean of two neighbours, the last row/column repeated.
    up = first_clip(crop_size=4, scale_size=8)
    cropped = frames[:, 2:6, 2:6]
    np.testing.assert_allclose(up[:, ::2, ::2], cropped, atol=1e-5)
    np.testing.assert_allclose(up[:, 1:7:2, ::2], (cropped[:, :-1] + cropped[:, 1:]) / 2, atol=1e-5)
    np.testing.assert_allclose(up[:, 7, ::2], cropped[:, 3], atol=1e-5)
    assert up.shape == (3, 8, 8, 3) and up.max() <= 1.0


def test_object_pos_gives_pixel_distributions(tmp_path):
    written = savp_data.write_fake_bair(str(tmp_path), "train", num_examples=1, size=6, steps=4, object_pos=1)
    data = SoftmotionVideoDataset(str(tmp_path / "train"), mode="test", num_epochs=1,
                                  hparams_dict={"sequence_length": 3})
    (batch,) = _batches(data.make_dataset(batch_size=1))
    assert batch["pix_distribs"].shape == (1, 3, 6, 6, 1) and batch["object_pos"].shape == (1, 3, 2)
    for t in range(3):
        y, x = written[0]["object_pos"][t]
        expected = np.zeros((6, 6))
        for yy, wy in ((int(np.floor(y)), 1 - (y - np.floor(y))), (int(np.floor(y)) + 1, y - np.floor(y))):
            for xx, wx in ((int(np.floor(x)), 1 - (x - np.floor(x))), (int(np.floor(x)) + 1, x - np.floor(x))):
                if yy < 6 and xx < 6:
                    expected[yy, xx] += wy * wx
        np.testing.assert_allclose(batch["pix_distribs"][0, t, :, :, 0], expected, atol=1e-5)


# ------------------------------------------------------------------------------------------------ checklist 12


def _conversion_script():
    spec = importlib.util.spec_from_file_location("savp_kth_dataset",
                                                  os.path.join(ROOT, "datasets", "savp", "kth_dataset.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kth_drops_short_sequences_and_starts_at_random_in_every_mode(tmp_path):
    root = str(tmp_path)
    lengths = (25, 12, 40, 19, 20)
    written = {mode: savp_data.write_fake_kth(root, mode, lengths=lengths, seed=i)
               for i, mode in enumerate(("train", "val", "test"))}
    for mode in ("train", "val", "test"):
        data = KTHVideoDataset(root, mode=mode, num_epochs=4, seed=7)
        hp = data.hparams
        assert (hp.context_frames, hp.sequence_length, hp.long_sequence_length) == (10, 20, 40)
        assert hp.force_time_shift and hp.shuffle_on_val
        assert data.num_examples_per_epoch() == 3
        batches = _batches(data.make_dataset(batch_size=2))
        assert len(batches) == 6  # 4 epochs x 3 long-enough sequences, in batches of 2
        starts = {}
        for batch in batches:
            assert batch["images"].shape == (2, 20, 64, 64, 1) and batch["images"].dtype == np.float32
            for clip in batch["images"]:
                index, start = _match(clip, written[mode])
                assert lengths[index] >= 20 and 0 <= start <= lengths[index] - 20
                starts.setdefault(index, set()).add(start)
        assert set(starts) == {0, 2, 4}  # the 12- and 19-frame sequences are never read
        assert starts[4] == {0} and len(starts[2]) > 1  # random in this mode too (40 frames: 21 starts)
    # The seed fixes the starts (generate/evaluate pass --seed 7).
    first = _batches(KTHVideoDataset(root, mode="test", num_epochs=1, seed=7).make_dataset(batch_size=1))
    second = _batches(KTHVideoDataset(root, mode="test", num_epochs=1, seed=7).make_dataset(batch_size=1))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a["images"], b["images"])


def test_kth_conversion_script_writes_the_original_format(tmp_path, capsys):
    processed = str(tmp_path / "processed")
    videos = {
        "person01_walking_d1": [[1, 2, 3, 4, 5, 6], [4, 5, 6, 7, 8]],
        "person02_boxing_d2": [[2, 3, 4, 5, 6, 7, 8, 9]],
        "person17_walking_d1": [[1, 2, 3, 4, 5, 6, 7]],
    }
    frames = savp_data.write_kth_png_tree(processed, videos, size=8, num_frames=10)
    out = str(tmp_path / "kth")
    script = _conversion_script()
    # One run through the command line (a fresh process), the others in this one.
    result = subprocess.run([sys.executable, script.__file__, processed, out, "8", "--seed", "0"],
                            capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    assert result.returncode == 0, result.stderr
    # 2 train videos -> int(0.95 * 2) = 1 train, 1 val; person 17 -> test.
    lengths = {}
    for partition in ("train", "val", "test"):
        with open(os.path.join(out, partition, "sequence_lengths.txt")) as stream:
            lengths[partition] = [int(line) for line in stream]
    assert sorted(lengths["train"] + lengths["val"]) == [5, 6, 8] and lengths["test"] == [7]
    assert sorted(os.listdir(os.path.join(out, "test"))) == ["sequence_0_to_0.tfrecords", "sequence_lengths.txt"]
    data = KTHVideoDataset(out, mode="test", num_epochs=1, seed=0, hparams_dict={"sequence_length": 7})
    assert data.state_like_names_and_shapes["images"] == ("images/encoded", (8, 8, 1))
    (batch,) = _batches(data.make_dataset(batch_size=1))
    np.testing.assert_allclose(batch["images"][0, :, :, :, 0], frames["person17_walking_d1"][0:7] / 255.0,
                               atol=1e-6)
    # The train/val split is fixed by --seed: running again gives the same files.
    again = str(tmp_path / "kth_again")
    assert script.main([processed, again, "8"]) == 0  # --seed defaults to 0
    for partition in ("train", "val"):
        with open(os.path.join(again, partition, "sequence_lengths.txt")) as stream:
            assert [int(line) for line in stream] == lengths[partition]
    # Files of sequences_per_file (128 by default) sequences, named by their first and last sequence.
    video_dirs = [os.path.join(processed, "walking", "person01_walking_d1"),
                  os.path.join(processed, "boxing", "person02_boxing_d2")]
    paths = script.save_partition(str(tmp_path / "chunks" / "train"), video_dirs, 8, sequences_per_file=2)
    assert [os.path.basename(path) for path in paths] == ["sequence_0_to_1.tfrecords", "sequence_2_to_2.tfrecords"]
    chunks = _batches(KTHVideoDataset(str(tmp_path / "chunks" / "train"), mode="test", num_epochs=1,
                                      hparams_dict={"sequence_length": 5, "force_time_shift": False})
                      .make_dataset(batch_size=3))[0]["images"]
    walking = frames["person01_walking_d1"] / 255.0
    np.testing.assert_allclose(chunks[1, :, :, :, 0], walking[3:8], atol=1e-6)  # frames 4..8, all 5 of them
    assert script.SEQUENCES_PER_FILE == 128
    # A video missing from its meta pickle: one error line naming the pickle.
    os.makedirs(os.path.join(processed, "walking", "person03_walking_d1"))
    assert script.main([processed, str(tmp_path / "bad"), "8"]) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert "kth_dataset.py: error: " in stderr
    assert "train_meta8x8.pkl: expected one entry for video person03_walking_d1" in stderr


# ------------------------------------------------------------------------------------------------ other readers


def test_cartgripper_reader(tmp_path):
    written = savp_data.write_fake_cartgripper(str(tmp_path), "val", num_examples=2, steps=16)
    data, hparams, count = savp_video.make_dataset("cartgripper", str(tmp_path), "val", batch_size=2, num_epochs=1)
    assert (hparams.context_frames, hparams.sequence_length, hparams.time_shift, hparams.use_state) == (2, 15, 3, True)
    assert count == 2
    (batch,) = _batches(data)
    assert batch["images"].shape == (2, 15, 48, 64, 3)
    assert batch["states"].shape == (2, 15, 6) and batch["actions"].shape == (2, 14, 3)
    np.testing.assert_allclose(batch["images"][1], written[1]["images"][:15] / 255.0, atol=1e-6)
    np.testing.assert_array_equal(batch["actions"][1], written[1]["actions"][:14])


def test_google_robot_reader(tmp_path):
    written = savp_data.write_fake_google_robot(str(tmp_path), "push_train", num_examples=2, steps=16)
    data = savp_video.get_dataset_class("google_robot")(str(tmp_path / "push_train"), mode="test", num_epochs=1,
                                                        hparams_dict={"use_state": True})
    assert data.num_examples_per_epoch() == 51615  # the original's count of push_train
    (batch,) = _batches(data.make_dataset(batch_size=2))
    assert batch["images"].shape == (2, 15, 512, 640, 3)
    assert batch["states"].shape == (2, 15, 5) and batch["actions"].shape == (2, 14, 5)
    np.testing.assert_allclose(batch["images"][0], written[0]["decoded"][:15] / 255.0, atol=1e-6)
    assert np.abs(batch["images"][0] - written[0]["images"][:15] / 255.0).mean() < 0.03  # JPEG of the frames
    np.testing.assert_array_equal(batch["states"][0], written[0]["states"][:15])
    os.rename(tmp_path / "push_train", tmp_path / "other")
    assert savp_video.get_dataset_class("google_robot")(str(tmp_path / "other")).num_examples_per_epoch() == 2


def test_sv2p_shape_and_humans(tmp_path):
    written = savp_data.write_fake_sv2p(str(tmp_path), "shape", "train", num_examples=2, steps=8)
    reader = savp_video.get_dataset_class("sv2p")
    data = reader(str(tmp_path / "shape"), mode="train", seed=0, hparams_dict={"use_state": True})
    assert (data.hparams.context_frames, data.hparams.sequence_length, data.hparams.time_shift) == (1, 6, 0)
    batch = _batches(data.make_dataset(batch_size=2), count=1)[0]
    assert batch["images"].shape == (2, 6, 64, 64, 3)
    assert batch["states"].shape == (2, 6, 2) and batch["actions"].shape == (2, 5, 2)
    for b in range(2):  # time_shift=0: train clips start at 0 too
        index = [i for i in range(2) if np.array_equal(batch["states"][b], written[i]["states"][:6])]
        assert len(index) == 1
        np.testing.assert_allclose(batch["images"][b], written[index[0]]["decoded"][:6] / 255.0, atol=1e-6)
    savp_data.write_fake_sv2p(str(tmp_path), "humans", "val", num_examples=1, steps=20)
    humans = reader(str(tmp_path / "humans"), mode="val")
    assert (humans.hparams.context_frames, humans.hparams.sequence_length) == (10, 20)
    assert humans.num_examples_per_epoch() == 10472
    with pytest.raises(InputError, match="humans data .* has no states"):
        reader(str(tmp_path / "humans"), mode="val", hparams_dict={"use_state": True})
    os.rename(tmp_path / "humans", tmp_path / "faces")
    with pytest.raises(InputError, match="must be named shape or humans"):
        reader(str(tmp_path / "faces"), mode="val")


def test_ucf101_reader(tmp_path):
    written = savp_data.write_fake_ucf101(str(tmp_path), "train", lengths=(9, 7, 8))
    reader = savp_video.get_dataset_class("ucf101")
    data = reader(str(tmp_path / "train"), mode="test", num_epochs=1)
    assert (data.hparams.context_frames, data.hparams.sequence_length) == (4, 8)
    assert data.num_examples_per_epoch() == 3  # sequence_0_to_2
    batches = _batches(data.make_dataset(batch_size=1))
    assert len(batches) == 2 and batches[0]["images"].shape == (1, 8, 240, 320, 3)  # the 7-frame one skipped
    np.testing.assert_allclose(batches[1]["images"][0], written[2]["decoded"] / 255.0, atol=1e-6)
    cropped = _batches(reader(str(tmp_path), mode="train", seed=2, hparams_dict={"random_crop_size": 32})
                       .make_dataset(batch_size=2), count=1)[0]
    assert cropped["images"].shape == (2, 8, 32, 32, 3)
    with pytest.raises(InputError, match="crop_size and scale_size are not supported"):
        reader(str(tmp_path / "train"), hparams_dict={"scale_size": 64})


# ------------------------------------------------------------------------------------------------ API, hparams


def test_registry_names_and_original_dataset_names(tmp_path):
    savp_data.write_fake_bair(str(tmp_path), "test", num_examples=2, size=2, steps=12)
    dataset = registry.get_reader("bair_savp")(str(tmp_path), mode="test", batch_size=2, num_epochs=1,
                                               hparams_dict={"use_state": True})
    (batch,) = _batches(dataset)
    assert batch["images"].shape == (2, 12, 2, 2, 3) and batch["actions"].shape == (2, 11, 4)
    names = registry.list_readers()
    for name in ("bair_savp", "kth_savp", "google_robot_savp", "cartgripper_savp", "sv2p_savp", "ucf101_savp"):
        assert name in names
    assert savp_video.get_dataset_class("bair") is savp_video.get_dataset_class("softmotion") \
        is SoftmotionVideoDataset
    assert savp_video.get_dataset_class("kth") is KTHVideoDataset
    assert {savp_video.get_dataset_class(name).__name__ for name in savp_video.SAVP_DATASETS} == {
        "SoftmotionVideoDataset", "KTHVideoDataset", "GoogleRobotVideoDataset", "CartgripperVideoDataset",
        "SV2PVideoDataset", "UCF101VideoDataset"}
    with pytest.raises(InputError, match="invalid SAVP dataset 'mnist'"):
        savp_video.get_dataset_class("mnist")


def test_hparams_dict_string_and_hparams_object(tmp_path):
    savp_data.write_fake_bair(str(tmp_path), "train", num_examples=2, size=2)
    base = SoftmotionVideoDataset(str(tmp_path), hparams_dict=HParams(**dict(
        SoftmotionVideoDataset.DEFAULT_HPARAMS, sequence_length=10)), hparams=["context_frames=3"])
    assert base.hparams.values() == dict(savp_video.BASE_HPARAMS, context_frames=3, sequence_length=10,
                                         long_sequence_length=30, time_shift=2)
    assert KTHVideoDataset.DEFAULT_HPARAMS["long_sequence_length"] == 40
    with pytest.raises(InputError, match="unknown hparam 'seq_len'"):
        SoftmotionVideoDataset(str(tmp_path), hparams="seq_len=3")
    with pytest.raises(InputError, match="hparam 'use_state' is bool"):
        SoftmotionVideoDataset(str(tmp_path), hparams_dict={"use_state": 1})


# ------------------------------------------------------------------------------------------------ errors


def _one_line(err):
    message = user_error_message(err)
    assert message is not None and "\n" not in message
    return message


def test_missing_folder_and_no_files(tmp_path):
    with pytest.raises(MissingInputError) as err:
        SoftmotionVideoDataset(str(tmp_path / "nowhere"))
    assert _one_line(err.value) == f"bair_savp: input_dir {tmp_path / 'nowhere'} does not exist"
    (tmp_path / "train").mkdir()
    with pytest.raises(MissingInputError) as err:
        KTHVideoDataset(str(tmp_path), mode="train")
    assert f"no TFRecord files (*.tfrecord*) in {tmp_path} or {tmp_path / 'train'}" in _one_line(err.value)


def test_truncated_file(tmp_path):
    savp_data.write_fake_bair(str(tmp_path / "one"), "train", num_examples=1, size=2, steps=12)
    (path,) = [os.path.join(tmp_path, "one", "train", name) for name in os.listdir(tmp_path / "one" / "train")]
    savp_data.truncate_file(path)
    with pytest.raises(InputError) as err:  # the first record: when the dataset is made
        SoftmotionVideoDataset(str(tmp_path / "one"))
    assert _one_line(err.value).startswith(f"bair_savp: corrupt TFRecord file {path}: record 0:")

    savp_data.write_fake_kth(str(tmp_path / "kth"), "test", lengths=(20, 21, 22), size=2)
    path = str(tmp_path / "kth" / "test" / "sequence_0_to_2.tfrecords")
    savp_data.truncate_file(path)
    data = KTHVideoDataset(str(tmp_path / "kth"), mode="test", num_epochs=1)
    with pytest.raises(InputError) as err:  # a later record: while reading
        list(data.iterate_checked(data.make_dataset(batch_size=1)))
    assert _one_line(err.value).startswith(f"kth_savp: corrupt TFRecord file {path}: record 2: truncated or "
                                           "corrupt record")


def test_wrong_size_image_bytes(tmp_path):
    savp_data.write_fake_flat(str(tmp_path / "a" / "traj_0_to_0.tfrecords"), num_examples=1, steps=12,
                              image_key="%d/image_aux1/encoded", image_shape=(5, 4, 3))
    with pytest.raises(InputError) as err:  # not a square RGB image
        SoftmotionVideoDataset(str(tmp_path / "a"))
    assert _one_line(err.value) == (f"bair_savp: {tmp_path / 'a' / 'traj_0_to_0.tfrecords'}: record 0: "
                                    "'0/image_aux1/encoded' holds 60 bytes, not a square RGB uint8 image "
                                    "(H * W * 3 bytes with H = W)")
    # Record 1 has 3x3 frames where record 0 has 2x2: found while reading, named with file, record and key.
    path = str(tmp_path / "b" / "traj_0_to_1.tfrecords")
    records = []
    for size in (2, 3):
        savp_data.write_fake_bair(str(tmp_path / "tmp"), f"s{size}", num_examples=1, size=size, steps=12)
        records.append(next(iter(tf.data.TFRecordDataset(
            str(tmp_path / "tmp" / f"s{size}" / "traj_0_to_0.tfrecords")))).numpy())
    savp_data._write(path, records)
    data = SoftmotionVideoDataset(str(tmp_path / "b"), mode="test", num_epochs=1)
    with pytest.raises(InputError) as err:
        list(data.iterate_checked(data.make_dataset(batch_size=1)))
    assert _one_line(err.value) == (f"bair_savp: corrupt TFRecord file {path}: record 1: '0/image_aux1/encoded' "
                                    "holds 27 bytes; a 2x2x3 uint8 image needs 12")
    with pytest.raises(InputError, match="record 1: '0/image_aux1/encoded' holds 27 bytes"):
        data.make_dataset(batch_size=1, validate=True)
    # KTH: frames of the wrong size in the first record, checked when the dataset is made.
    kth = tmp_path / "kth" / "train"
    kth.mkdir(parents=True)
    record = savp_data.varlen_record(np.zeros((20, 4, 4, 1), np.uint8))
    example = tf.train.Example.FromString(record)
    example.features.feature["height"].int64_list.value[0] = 5
    savp_data._write(str(kth / "sequence_0_to_0.tfrecords"), [example.SerializeToString()])
    with pytest.raises(InputError) as err:
        KTHVideoDataset(str(tmp_path / "kth"))
    assert _one_line(err.value) == (f"kth_savp: corrupt TFRecord file {kth / 'sequence_0_to_0.tfrecords'}: "
                                    "record 0: 'images/encoded' frame 0 holds 16 bytes; a 5x4x1 uint8 image "
                                    "needs 20")
