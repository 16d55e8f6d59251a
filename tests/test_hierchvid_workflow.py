"""hierchvid workflow: run names, the four scripts' flags and flag files, and the pose LSTM train -> resume -> test
pipeline on fake Penn Action / Human3.6M files (in-process, tiny sizes)."""

import glob
import os
import pathlib

import cv2
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from fixtures.hierchvid_data import write_h36m_lists, write_h36m_video, write_penn_lists, write_penn_video
from PIL import Image

from vidpred_tf.errors import InputError
from vidpred_tf.papers.hierchvid import lstm_workflow, options, run_names

REPO = pathlib.Path(__file__).resolve().parent.parent
FLAGS_DIR = REPO / "flags" / "hierchvid"
PENN_ACTIONS = ("tennis_serve", "golf_swing", "jump_rope", "baseball_pitch")
TINY_LSTM = ["--batch_size=2", "--lstm_units=8", "--image_size=16"]


# ------------------------------------------------------------------------------------------------- run names
@pytest.mark.parametrize("dataset", run_names.DATASETS)
def test_run_names_reproduce_the_readme_strings_and_parse_back(dataset):
    readme = run_names.README_LSTM_RUN_NAMES[dataset]
    assert run_names.lstm_run_name(dataset) == readme
    assert run_names.imggen_run_name(dataset) == run_names.README_IMGGEN_RUN_NAMES[dataset]
    parsed = run_names.parse_lstm_run_name(readme, dataset)
    expected = {"image_size": 128, "num_layer": 1, "lstm_units": 1024, "seen_step": 10, "keep_prob": 1.0,
                "learning_rate": 0.001}
    if dataset == "h36m":
        expected["fskip"] = 4
    assert parsed == expected
    assert run_names.parse_imggen_run_name(run_names.README_IMGGEN_RUN_NAMES[dataset]) == {
        "imgsize": 128, "layer": 3, "alpha": 1.0, "beta": 1.0, "gamma": 1.0, "lr": 0.0001}
    other = run_names.lstm_run_name(dataset, lstm_units=64, num_layer=2, keep_prob=0.5, learning_rate=1e-5)
    again = run_names.parse_lstm_run_name(other, dataset)
    assert (again["lstm_units"], again["num_layer"], again["keep_prob"], again["learning_rate"]) == (64, 2, 0.5, 1e-5)
    assert "learning_rate=1e-05" in other and "keep_prob=0.5" in other


def test_run_name_values_are_python2_strings_and_bad_names_are_one_error():
    assert [run_names.py2_str(v) for v in (1.0, 0.001, 1e-5, 0.1 + 0.2, 128, 2e-4)] == \
        ["1.0", "0.001", "1e-05", "0.3", "128", "0.0002"]
    with pytest.raises(InputError, match="--prefix='PENNACTION_DET_LSTM_x=1': the run name has no 'image_size='"):
        run_names.parse_lstm_run_name("PENNACTION_DET_LSTM_x=1", "penn")
    # The Penn README name has no fskip: the H3.6M test script cannot read it.
    with pytest.raises(InputError, match="no 'fskip=' item"):
        run_names.parse_lstm_run_name(run_names.README_LSTM_RUN_NAMES["penn"], "h36m")
    with pytest.raises(InputError, match="'lstm_units=many' is not an int"):
        run_names.parse_lstm_run_name(run_names.README_LSTM_RUN_NAMES["penn"].replace("1024", "many"), "penn")


# ------------------------------------------------------------------------------------------------------ flags
ORIGINAL_FLAGS = {
    "train_lstm": {"gpu": None, "image_size": 128, "batch_size": 256, "num_layer": 1, "lstm_units": 1024,
                   "seen_step": 10, "fut_step": 32, "mem_frac": 0.4, "keep_prob": 1.0, "learning_rate": 0.001},
    "test_lstm": {"gpu": None, "prefix": None, "steps": None, "mem_frac": 0.1},
    "train_imggen": {"lr": 0.0001, "image_size": 128, "batch_size": 8, "layer": 3, "alpha": 1.0, "beta": 1.0,
                     "gamma": 1.0, "steps": {"penn": 30, "h36m": 1000}, "num_iter": 100000, "gpu": None},
    "test_imggen": {"imggen_prefix": None, "lstm_prefix": None, "image_size": 128, "batch_size": 1,
                    "fut_step": {"penn": 64, "h36m": 128}, "gpu": None},
}
FLAGFILE_SCRIPT = {"train_det_rnn": "train_lstm", "test_det_rnn": "test_lstm", "train": "train_imggen",
                   "test": "test_imggen"}
REQUIRED = {"test_lstm": ["--prefix=p", "--steps=1"], "test_imggen": ["--imggen_prefix=a", "--lstm_prefix=b"]}


def parsed_flags(script, argv=(), dataset_shim=None):
    values = flags.FlagValues()
    options.DEFINERS[script](values)
    if dataset_shim:
        options.set_dataset(values, dataset_shim, script)
    values(["prog", *REQUIRED.get(script, []), *argv])
    options.resolve_dataset_defaults(values, script)
    return values


@pytest.mark.parametrize("script", sorted(ORIGINAL_FLAGS))
@pytest.mark.parametrize("dataset", run_names.DATASETS)
def test_every_original_flag_exists_with_its_default(script, dataset):
    values = parsed_flags(script, [f"--dataset={dataset}"])
    shim = parsed_flags(script, dataset_shim=dataset)  # scripts/hierchvid/<original name>.py
    for name, default in ORIGINAL_FLAGS[script].items():
        expected = default[dataset] if isinstance(default, dict) else default
        if name in ("prefix", "steps", "imggen_prefix", "lstm_prefix"):
            continue  # required: given above
        assert getattr(values, name) == expected, (script, name)
        assert getattr(shim, name) == expected, (script, name)
    assert shim.dataset == dataset
    for folder, default in (("models_dir", "./models"), ("data_root", "./datasets")):
        assert getattr(values, folder) == default
    # A given per-dataset flag wins over the dataset's default.
    if script == "train_imggen":
        assert parsed_flags(script, ["--dataset=h36m", "--steps=7"]).steps == 7
    if script in ("train_imggen", "test_imggen"):
        assert parsed_flags(script, ["--gpu=1,2"]).gpu == ["1", "2"]
        assert options.first_gpu(["1", "2"]) == 1


def test_required_test_flags_are_required():
    values = flags.FlagValues()
    options.define_test_lstm(values)
    with pytest.raises(flags.IllegalFlagValueError, match="prefix"):
        values(["prog", "--steps=3"])


def test_each_readme_command_has_a_flagfile_that_parses():
    found = sorted(path.name for path in FLAGS_DIR.glob("*.flags"))
    assert found == sorted(f"{stem}_{dataset}.flags" for stem in FLAGFILE_SCRIPT for dataset in ("penn", "h36m"))
    for path in FLAGS_DIR.glob("*.flags"):
        stem, dataset = path.stem.rsplit("_", 1)
        values = parsed_flags(FLAGFILE_SCRIPT[stem], [f"--flagfile={path}"])
        assert values.dataset == dataset and values.gpu in (0, ["0"]), path
    test = parsed_flags("test_lstm", [f"--flagfile={FLAGS_DIR / 'test_det_rnn_h36m.flags'}"])
    assert test.steps == 128 and test.prefix == run_names.README_LSTM_RUN_NAMES["h36m"]
    penn = parsed_flags("test_imggen", [f"--flagfile={FLAGS_DIR / 'test_penn.flags'}"])
    assert penn.fut_step == 64 and penn.lstm_prefix == run_names.README_LSTM_RUN_NAMES["penn"]
    assert penn.imggen_prefix == run_names.README_IMGGEN_RUN_NAMES["penn"]
    assert parsed_flags("test_imggen", [f"--flagfile={FLAGS_DIR / 'test_h36m.flags'}"]).fut_step == 128
    assert parsed_flags("train_imggen", [f"--flagfile={FLAGS_DIR / 'train_h36m.flags'}"]).steps == 1000
    assert (FLAGS_DIR / "README.md").is_file()


def test_total_steps_is_the_originals():
    assert lstm_workflow.total_steps(256) == 37500
    assert lstm_workflow.total_steps(100) == 96000


# ------------------------------------------------------------------------------------------- LSTM pipeline
def fake_penn(root):
    data = root / "datasets" / "PennAction"
    data.mkdir(parents=True)
    videos = ["0001", "0002", "0003", "0004"]
    visibility = np.ones((14, 13), np.uint8)
    visibility[:, 3] = 0  # a masked input joint
    for index, (video, action) in enumerate(zip(videos, PENN_ACTIONS)):
        # 0001 is shorter than seen + steps (its frames are capped at nframes) and than a training window.
        write_penn_video(str(data), video, 14 if index == 0 else 48, action=action, seed=index,
                         visibility=visibility if index == 0 else None)
    write_penn_lists(str(data), {"train_subset_list.txt": videos, "test_subset_list.txt": videos[:2]})
    return root


def lstm_flags(root, script, *argv):
    folders = [f"--{name}={root / default}" for name, default in (
        ("models_dir", "models"), ("logs_dir", "logs"), ("samples_dir", "samples"), ("results_dir", "results"),
        ("data_root", "datasets")) if name in options_names(script)]
    return parsed_flags(script, [*folders, *argv])


def options_names(script):
    values = flags.FlagValues()
    options.DEFINERS[script](values)
    return set(values)


def scalar_steps(logs, tag):
    steps = []
    for path in glob.glob(str(logs / "*" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            steps += [event.step for value in event.summary.value if value.tag == tag]
    return sorted(steps)


def gif_info(path):
    image = Image.open(path)
    return image.n_frames, image.info["duration"]


@pytest.fixture(scope="module")
def penn_run(tmp_path_factory):
    """3 steps, then a resume to 5."""
    root = fake_penn(tmp_path_factory.mktemp("penn"))
    values = lstm_flags(root, "train_lstm", "--num_steps=3", *TINY_LSTM)
    first = lstm_workflow.train(values)
    run = lstm_workflow.describe_run(values)
    after_first = sorted(os.listdir(run.models_dir))
    second = lstm_workflow.train(lstm_flags(root, "train_lstm", "--num_steps=5", *TINY_LSTM))
    return root, run, first, second, after_first


def test_train_lstm_writes_original_checkpoints_events_samples_and_resumes(penn_run):
    root, run, first, second, after_first = penn_run
    assert run.prefix == run_names.lstm_run_name("penn", batch_size=2, lstm_units=8, image_size=16)
    assert (first.step, second.step) == (3, 5)
    assert {"DET_LSTM.model-3.index", "checkpoint", "trainer"} <= set(after_first)
    assert tf.train.latest_checkpoint(run.models_dir).endswith("DET_LSTM.model-5")  # the true step
    assert tf.train.latest_checkpoint(run.trainer_dir).endswith("ckpt-5")
    reader = tf.train.load_checkpoint(os.path.join(run.models_dir, "DET_LSTM.model-5"))
    names = reader.get_variable_to_shape_map()
    assert int(reader.get_tensor("Variable")) == 5
    assert names["lm_enc/Matrix"] == [26, 32] and "lm_enc/Matrix/optimizer" in names
    # The loss of every step at the step number before its update; the resumed run continues the count.
    assert scalar_steps(root / "logs", "loss") == [0, 1, 2, 3, 4]
    samples = sorted(os.listdir(run.samples_dir))
    assert len(samples) == 1 and samples[0].startswith("0000000_")
    assert samples[0][len("0000000_"):-len(".png")] in PENN_ACTIONS
    sample = cv2.imread(os.path.join(run.samples_dir, samples[0]), cv2.IMREAD_UNCHANGED)
    assert sample.shape == (16, 16 * 42) and sample.max() == 255 and sample.min() == 0  # bytescaled


def test_train_lstm_resumes_from_an_original_checkpoint_without_trainer_state(penn_run, capsys):
    root, run, *_ = penn_run
    for path in glob.glob(os.path.join(run.trainer_dir, "*")):
        os.remove(path)
    result = lstm_workflow.train(lstm_flags(root, "train_lstm", "--num_steps=6", *TINY_LSTM))
    assert result.step == 6
    assert "resuming at step 5, from its Variable" in capsys.readouterr().out
    assert tf.train.latest_checkpoint(run.models_dir).endswith("DET_LSTM.model-6")


def test_test_lstm_penn_writes_joints_and_a_7fps_gif(penn_run):
    root, run, *_ = penn_run
    values = lstm_flags(root, "test_lstm", f"--prefix={run.prefix}", "--steps=6")
    folders = lstm_workflow.test(values)
    assert [os.path.basename(f) for f in folders] == ["00000_tennis_serve", "00001_golf_swing"]
    joints = np.load(os.path.join(folders[0], "joints.npy"))
    assert joints.shape == (1, 16, 26) and joints.dtype == np.float32
    # Joint 3 is masked in every input step: x and y are exactly (0 + 1) / 2 * image_size (64.0 at 128; 8.0 here).
    assert np.all(joints[0, :10, 3] == 8.0) and np.all(joints[0, :10, 13 + 3] == 8.0)
    assert np.all(joints[0, 10:] != 8.0)
    # The short video renders min(nframes, 10 + steps) = 14 frames, the other all 16; PNGs deleted (Penn).
    assert gif_info(os.path.join(folders[0], "pred_tennis_serve.gif")) == (14, 140)
    assert gif_info(os.path.join(folders[1], "pred_golf_swing.gif")) == (16, 140)
    assert sorted(os.listdir(folders[0])) == ["joints.npy", "pred_tennis_serve.gif"]


def test_test_lstm_without_a_checkpoint_is_one_error(tmp_path):
    values = lstm_flags(tmp_path, "test_lstm", f"--prefix={run_names.README_LSTM_RUN_NAMES['penn']}", "--steps=2")
    with pytest.raises(InputError, match="Load failed: .* holds no DET_LSTM checkpoint"):
        lstm_workflow.test(values)


def test_h36m_train_and_test_keep_the_pngs_with_the_original_borders(tmp_path):
    data = tmp_path / "datasets" / "Human3.6M"
    train = [("S1", "Directions 1.54138969"), ("S5", "WalkingDog 1.55011271")]
    test = [("S9", "Eating.54138969")]
    for index, (subject, name) in enumerate(train + test):
        write_h36m_video(str(data), subject, name, 200, seed=index, hourglass=subject == "S9", num_pngs=1)
    write_h36m_lists(str(data), train=train, test=test)
    train_values = lstm_flags(tmp_path, "train_lstm", "--dataset=h36m", "--num_steps=1", "--batch_size=2",
                              "--lstm_units=8", "--image_size=32")
    lstm_workflow.train(train_values)
    run = lstm_workflow.describe_run(train_values)
    assert run.prefix.startswith("HUMAN3.6M_DET_LSTM_fskip=4_keep_prob=1.0_image_size=32_batch_size=2_lm_size=32")
    assert [name.split("_", 1)[1] for name in os.listdir(run.samples_dir)] in (["directions.png"], ["walkdog.png"])
    folders = lstm_workflow.test(lstm_flags(tmp_path, "test_lstm", f"--prefix={run.prefix}", "--steps=3",
                                            "--dataset=h36m"))
    assert [os.path.basename(f) for f in folders] == ["00000_eating"]
    assert np.load(os.path.join(folders[0], "joints.npy")).shape == (1, 13, 64)
    assert gif_info(os.path.join(folders[0], "pred_eating.gif")) == (13, 140)
    pngs = sorted(name for name in os.listdir(folders[0]) if name.endswith(".png"))
    assert pngs == [f"{t:05d}.png" for t in range(13)]
    seen, predicted = (cv2.imread(os.path.join(folders[0], pngs[t])) for t in (9, 10))
    assert seen.shape == (32, 32, 3)
    assert (seen[0, 5] == [0, 255, 0]).all() and (seen[5, 0] == [0, 255, 0]).all()
    assert (predicted[0, 5] == [0, 0, 255]).all()  # red top edge (BGR)
    assert predicted[5, 0, 0] == 0 and predicted[5, 0, 2] == 255  # left edge: B and R set, G kept (quirk)

