"""SAVP's train.py workflow end to end on fake BAIR files (tiny widths): the output folder as the original's,
the D-then-G step, summaries, checkpoints, resume, restore from an original TF1 checkpoint, and the front door
(``vidpred predict`` on the folder train.py wrote)."""

import json
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from fixtures.savp_data import write_fake_bair
from test_predict import write_test_mp4

from vidpred_tf import inference
from vidpred_tf.commands import predict as predict_command
from vidpred_tf.convert import savp as converter
from vidpred_tf.convert.tf1 import write_tf1_checkpoint
from vidpred_tf.data.batch import validate_batch
from vidpred_tf.papers.savp import runtime, training
from vidpred_tf.viz import read_video

REPO = pathlib.Path(__file__).resolve().parent.parent
# The train.py flags at the original's defaults (spec 2.2) and the port-only ones.
TRAIN_DEFAULTS = dict(
    input_dir=None, val_input_dir=None, logs_dir="logs", output_dir=None, output_dir_postfix="", checkpoint=None,
    resume=False, dataset=None, dataset_hparams=None, dataset_hparams_dict=None, model=None, model_hparams=None,
    model_hparams_dict=None, summary_freq=1000, image_summary_freq=5000, eval_summary_freq=25000,
    accum_eval_summary_freq=100000, progress_freq=100, save_freq=5000, aggregate_nccl=0, gpu_mem_frac=0.0,
    seed=None, max_steps=None, eval_num_samples=100, jit_compile=False, checkpoint_every_s=None)
TINY = ("ngf=4,nef=4,ndf=2,nz=2,num_samples=1,clip_length=4,batch_size=2,video_sn_vae_gan_weight=0.1,"
        "video_sn_gan_weight=0.1,vae_gan_feature_cdist_weight=1.0,l1_weight=1.0,kl_weight=1.0")
DATASET_HPARAMS = "sequence_length=5,long_sequence_length=5"


def _flags(**overrides):
    values = dict(TRAIN_DEFAULTS)
    values.update(overrides)
    return types.SimpleNamespace(**values)


def _tags(folder: pathlib.Path):
    tags = set()
    for path in folder.glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            tags.update(value.tag for value in event.summary.value)
    return tags


@pytest.fixture(scope="module")
def bair(tmp_path_factory):
    root = tmp_path_factory.mktemp("bair")
    write_fake_bair(str(root), "train", num_examples=4, steps=8, size=32)
    write_fake_bair(str(root), "val", first=256, num_examples=2, steps=8, size=32)
    return root


@pytest.fixture(scope="module")
def trained(bair, tmp_path_factory):
    output = tmp_path_factory.mktemp("logs") / "tiny_savp"
    training.run(_flags(input_dir=str(bair), dataset="bair", dataset_hparams=DATASET_HPARAMS, model="savp",
                        model_hparams=TINY, output_dir=str(output), max_steps=2, save_freq=2, summary_freq=1,
                        image_summary_freq=2, eval_summary_freq=2, accum_eval_summary_freq=0, progress_freq=1,
                        eval_num_samples=2, seed=3))
    return output


def test_actions_of_one_step_fewer_than_the_frames_follow_the_batch_contract():
    validate_batch({"images": np.zeros((2, 5, 4, 4, 3), np.float32), "actions": np.zeros((2, 4, 4), np.float32)})
    with pytest.raises(ValueError, match=r"'actions' must be \[B, T, A\] or \[B, T-1, A\]"):
        validate_batch({"images": np.zeros((2, 5, 4, 4, 3), np.float32), "actions": np.zeros((2, 3, 4))})


def test_train_writes_the_original_output_folder(trained):
    options = json.loads((trained / "options.json").read_text())
    assert options["model"] == "savp" and options["dataset"] == "bair" and options["output_dir"] == str(trained)
    assert options["summary_freq"] == 1 and options["model_hparams"] == TINY
    model_hparams = json.loads((trained / "model_hparams.json").read_text())
    # The dataset's geometry goes into the model: context_frames, sequence_length, repeat = time_shift.
    assert (model_hparams["context_frames"], model_hparams["sequence_length"], model_hparams["repeat"]) == (2, 5, 2)
    assert model_hparams["ngf"] == 4 and model_hparams["decay_steps"] == [200000, 300000]
    assert list(model_hparams) == sorted(model_hparams)  # sort_keys, as the original wrote them
    dataset_hparams = json.loads((trained / "dataset_hparams.json").read_text())
    assert dataset_hparams["sequence_length"] == 5 and dataset_hparams["time_shift"] == 2
    assert tf.train.latest_checkpoint(str(trained)).endswith("model-2")


def test_train_summaries_carry_the_original_tags(trained):
    tags = _tags(trained)
    for tag in ("d_loss", "g_loss", "g_loss_post", "gen_l1_loss", "gen_kl_loss", "gen_video_sn_gan_loss",
                "discrim_video_sn_gan_loss", "learning_rate", "kl_weight", "ground_truth_sampling_mean",
                "psnr_1", "eval_psnr/max_1", "eval_mse/min_1"):
        assert tag in tags, (tag, sorted(tags))
    assert any("gen_images" in tag for tag in tags)  # the GIF summaries
    assert list((trained / "eval").glob("eval_*.png"))


DETERMINISTIC = "ngf=4,nz=0,batch_size=2,l1_weight=1.0,schedule_sampling=none"


def test_finetune_from_an_original_tf1_checkpoint_then_resume(bair, tmp_path):
    """A published model's folder (a TF1 checkpoint beside the original's JSONs) as --checkpoint, then --resume."""
    original = tmp_path / "original"
    original.mkdir()
    (original / "options.json").write_text(json.dumps({"dataset": "bair", "model": "savp"}))
    (original / "dataset_hparams.json").write_text(json.dumps({"context_frames": 2, "sequence_length": 5,
                                                               "long_sequence_length": 5, "time_shift": 2}))
    model = converter.model_from_checkpoint_folder(str(original), model_hparams=DETERMINISTIC, image_shape=(32, 32, 3),
                                                   mode="train")
    (original / "model_hparams.json").write_text(json.dumps(model.hparams.values()))
    rng = np.random.default_rng(0)
    for variable in model.original_variables().values():
        variable.assign(rng.normal(size=variable.shape).astype(np.float32) * 0.1)
    converter.export(model, str(original / "model-100"))
    (original / "checkpoint").write_text('model_checkpoint_path: "model-100"\n')

    output = tmp_path / "finetune"
    quiet = dict(summary_freq=0, image_summary_freq=0, eval_summary_freq=0, accum_eval_summary_freq=0, seed=3)
    training.run(_flags(input_dir=str(bair), dataset_hparams=DATASET_HPARAMS, checkpoint=str(original),
                        output_dir=str(output), max_steps=1, save_freq=1, **quiet))
    options = json.loads((output / "options.json").read_text())
    assert (options["dataset"], options["model"]) == ("bair", "savp")  # from the checkpoint folder's options.json
    assert json.loads((output / "model_hparams.json").read_text())["nz"] == 0
    loaded = converter.model_from_checkpoint_folder(str(output), mode="train")
    runtime.restore(loaded, str(output))
    # One step from the original's weights: Adam's first step moves each weight by at most lr (1e-3), far less
    # than the distance to a fresh initialisation.
    for name, variable in loaded.original_variables().items():
        np.testing.assert_allclose(variable.numpy(), model.original_variables()[name].numpy(), atol=1.01e-3,
                                   rtol=0, err_msg=name)

    # --resume: the dataset, model and hparams come from the output folder; training continues at step 1.
    training.run(_flags(input_dir=str(bair), dataset_hparams=DATASET_HPARAMS, output_dir=str(output), resume=True,
                        max_steps=2, save_freq=1, **quiet))
    assert tf.train.latest_checkpoint(str(output)).endswith("model-2")
    assert json.loads((output / "options.json").read_text())["resume"] is True


def test_evaluate_and_generate_run_the_trained_model(bair, trained, tmp_path):
    results = tmp_path / "results"
    command = [sys.executable, str(REPO / "scripts" / "savp" / "evaluate.py"), f"--input_dir={bair}",
               f"--checkpoint={trained}", f"--results_dir={results}", "--batch_size=2",  # --mode val (Q1)
               "--num_stochastic_samples=2", f"--dataset_hparams={DATASET_HPARAMS}"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=str(REPO))
    assert process.returncode == 0, process.stderr[-3000:]
    out = results / trained.name
    header, *rows = (out / "prediction_eval_psnr_max" / "metrics" / "psnr.csv").read_text().splitlines()
    assert header.split("\t") == ["sample_ind", "0", "1", "2", "mean"] and len(rows) == 2
    best = np.array([row.split("\t")[1:] for row in rows], float)
    worst = np.loadtxt(out / "prediction_eval_psnr_min" / "metrics" / "psnr.csv", skiprows=1)[:, 1:]
    assert (best[:, -1] >= worst[:, -1]).all() and np.isfinite(best).all()
    assert sorted(p.name for p in (out / "prediction_eval_ssim_avg" / "outputs").glob("*.png"))[0] == \
        "gen_image_00000_00.png"
    assert "psnr" in process.stdout


def test_vidpred_predict_runs_the_trained_folder_on_an_mp4(trained, tmp_path):
    predictor = inference.load_predictor(trained)
    assert (predictor.paper, predictor.model_name, predictor.context_frames, predictor.default_horizon) == (
        "savp", "savp", 2, 3)
    assert predictor.stochastic and predictor.image_size == (32, 32) and predictor.channels == 3
    video = tmp_path / "clip.mp4"
    write_test_mp4(video, num_frames=8, width=40, height=32)
    out = tmp_path / "out"
    assert predict_command.main(["--checkpoint", str(trained), "--input", str(video), "--output_dir", str(out)]) == 0
    prediction = np.load(out / "prediction.npy")
    assert prediction.shape == (1, 3, 32, 32, 3) and np.isfinite(prediction).all()
    assert read_video(out / "prediction.mp4").shape[0] == 5  # context + horizon frames
    # Stochastic: another seed gives another sample; the same seed the same one.
    frames = inference.fit_frames(read_video(video).astype(np.float32) / 255.0, (32, 32), 3)[None, :2]
    first, again = (inference.run_predictor(predictor, frames, 3, seed=1) for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert np.abs(inference.run_predictor(predictor, frames, 3, seed=2) - first).max() > 0


def test_converter_command_round_trip_and_the_old_cell_scope(trained, tmp_path, capsys):
    model = converter.model_from_checkpoint_folder(str(trained), mode="train")
    runtime.restore(model, str(trained))
    original = tmp_path / "original"
    original.mkdir()
    for name in ("options.json", "model_hparams.json", "dataset_hparams.json", "vidpred_model.json"):
        (original / name).write_text((trained / name).read_text())
    values = {name: variable.numpy() for name, variable in model.original_variables().items()}
    # Older checkpoints of the original name the cell dna_cell: read as savp_cell.
    old_names = {name.replace("/savp_cell/", "/dna_cell/"): value for name, value in values.items()}
    old_names["global_step"] = np.int64(300000)
    old_names["v1/generator/encoder/layer_1/conv2d/kernel"] = values["generator/encoder/layer_1/conv2d/kernel"]
    write_tf1_checkpoint(str(original / "model-300000"), old_names)
    (original / "checkpoint").write_text('model_checkpoint_path: "model-300000"\n')

    weights = tmp_path / "port.weights.h5"
    assert converter.main(["--checkpoint", str(original), "--output", str(weights)]) == 0
    assert f"wrote {weights}" in capsys.readouterr().out
    back = tmp_path / "back" / "model-1"
    assert converter.main(["--to_tf1", "--checkpoint", str(weights), "--options_dir", str(original),
                           "--output", str(back)]) == 0
    reader = tf.train.load_checkpoint(str(back))
    assert set(reader.get_variable_to_shape_map()) == set(values)  # the current names, no slots, no step
    for name, value in values.items():
        np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)

    del old_names["generator/encoder/z_mu/dense/bias"]
    write_tf1_checkpoint(str(original / "model-300000"), old_names)
    assert converter.main(["--checkpoint", str(original), "--output", str(tmp_path / "x.weights.h5")]) == 1
    assert "'generator/encoder/z_mu/dense/bias'" in capsys.readouterr().err and not (tmp_path / "x.weights.h5").exists()
