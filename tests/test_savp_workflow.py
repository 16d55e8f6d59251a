"""SAVP workflow: the scripts' flags, options/hparams JSONs, the evaluation protocol and its files, the
non-trainable models, the flagfiles.

The entry modules define absl flags on import, so they are read here with ``ast`` (never imported in the test
process); the two that run end to end do so in subprocesses.
"""

import ast
import csv
import json
import os
import pathlib
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.errors import InputError, MissingInputError
from vidpred_tf.models.savp import model as savp_model
from vidpred_tf.models.savp import non_trainable
from vidpred_tf.models.savp.defaults import BASE
from vidpred_tf.papers.savp import evaluation, options

REPO = pathlib.Path(__file__).resolve().parent.parent
PAPER = REPO / "vidpred_tf" / "papers" / "savp"
FLAGS_DIR = REPO / "flags" / "savp"
ORIGINAL_HPARAMS = REPO / "flags" / "savp" / "hparams"
ENV = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")

_DEFINES = {"DEFINE_string": "str", "DEFINE_integer": "int", "DEFINE_float": "float", "DEFINE_boolean": "bool",
            "DEFINE_bool": "bool", "DEFINE_enum": "enum", "DEFINE_multi_string": "multi", "DEFINE_list": "list"}


def defined_flags(path: pathlib.Path) -> dict:
    """``{name: (kind, default, enum values)}`` of the module's ``flags.DEFINE_*`` calls, aliases included."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in _DEFINES:
                args = [ast.literal_eval(arg) for arg in node.args[:3]]
                found[args[0]] = (_DEFINES[name], args[1], args[2] if name == "DEFINE_enum" else None)
            elif name == "DEFINE_alias":
                found[ast.literal_eval(node.args[0])] = ("alias", ast.literal_eval(node.args[1]), None)
    return found


# ------------------------------------------------------------------------------------------------ flags
GENERATE_FLAGS = {
    "input_dir": ("str", None), "results_dir": ("str", "results"), "results_gif_dir": ("str", None),
    "results_png_dir": ("str", None), "output_gif_dir": ("str", None), "output_png_dir": ("str", None),
    "checkpoint": ("str", None), "mode": ("enum", "val"), "dataset": ("str", None), "dataset_hparams": ("str", None),
    "model": ("str", None), "model_hparams": ("str", None), "batch_size": ("int", 8), "num_samples": ("int", None),
    "num_epochs": ("int", 1), "num_stochastic_samples": ("int", 5), "gif_length": ("int", None), "fps": ("int", 4),
    "gpu_mem_frac": ("float", 0), "seed": ("int", 7),
}
EVALUATE_FLAGS = {
    "input_dir": ("str", None), "results_dir": ("str", "results"), "output_dir": ("str", None),
    "checkpoint": ("str", None), "mode": ("enum", "val"), "dataset": ("str", None), "dataset_hparams": ("str", None),
    "model": ("str", None), "model_hparams": ("str", None), "batch_size": ("int", 8), "num_samples": ("int", None),
    "num_epochs": ("int", 1), "eval_substasks": ("multi", ["max", "avg", "min"]), "only_metrics": ("bool", False),
    "num_stochastic_samples": ("int", 100), "gt_inputs_dir": ("str", None), "gt_outputs_dir": ("str", None),
    "eval_parallel_iterations": ("int", 10), "gpu_mem_frac": ("float", 0), "seed": ("int", 7),
}
# train.py's flags with the original's defaults (spec 2.2), and the port-only ones.
TRAIN_FLAGS = {
    "input_dir": ("str", None), "val_input_dir": ("str", None), "logs_dir": ("str", "logs"),
    "output_dir": ("str", None), "output_dir_postfix": ("str", ""), "checkpoint": ("str", None),
    "resume": ("bool", False), "dataset": ("str", None), "dataset_hparams": ("str", None),
    "dataset_hparams_dict": ("str", None), "model": ("str", None), "model_hparams": ("str", None),
    "model_hparams_dict": ("str", None), "summary_freq": ("int", 1000), "image_summary_freq": ("int", 5000),
    "eval_summary_freq": ("int", 25000), "accum_eval_summary_freq": ("int", 100000), "progress_freq": ("int", 100),
    "save_freq": ("int", 5000), "aggregate_nccl": ("int", 0), "gpu_mem_frac": ("float", 0), "seed": ("int", None),
}
TRAIN_PORT_FLAGS = {"max_steps", "eval_num_samples", "jit_compile", "checkpoint_every_s"}


def test_train_has_the_original_flags_with_their_defaults():
    found = defined_flags(PAPER / "train.py")
    for name, (kind, default) in TRAIN_FLAGS.items():
        assert found.get(name, (None, None))[:2] == (kind, default), f"--{name}: {found.get(name)}"
    assert set(found) - set(TRAIN_FLAGS) == TRAIN_PORT_FLAGS


@pytest.mark.parametrize("module, expected", [("generate", GENERATE_FLAGS), ("evaluate", EVALUATE_FLAGS)])
def test_generate_and_evaluate_have_the_original_flags_with_their_defaults(module, expected):
    found = defined_flags(PAPER / f"{module}.py")
    for name, (kind, default) in expected.items():
        assert name in found, f"{module}.py lacks --{name}"
        assert found[name][:2] == (kind, default), f"--{name}: {found[name]}"
    assert found["mode"][2] == ["val", "test"]
    extra = set(found) - set(expected)
    assert extra == ({"lpips_weights"} if module == "evaluate" else set())
    # the module's options.json lists every flag it defines
    tree = ast.parse((PAPER / f"{module}.py").read_text())
    names = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FLAG_NAMES")
    assert set(names) == set(found)


def test_plot_and_combine_results_flags_and_the_shims():
    plot = defined_flags(PAPER / "plot_results.py")
    assert plot["plot_fname"][:2] == ("str", "metrics.pdf")
    assert plot["mode"] == ("enum", "paper", ["paper", "rebuttal"])
    assert plot["use_tex"] == ("alias", "usetex", None) and plot["save"][:2] == ("bool", False)
    combine = defined_flags(PAPER / "combine_results.py")
    assert combine["batch_size"][:2] == ("int", 1)
    assert {"method_dirs", "method_names", "web_dir", "sort_by", "no_ffmpeg", "num_samples", "show_se",
            "only_metrics"} <= set(combine)
    for name in ("generate", "evaluate", "plot_results", "combine_results"):
        text = (REPO / "scripts" / "savp" / f"{name}.py").read_text()
        assert f"from vidpred_tf.papers.savp.{name} import main" in text and "cli.run(main)" in text


# ------------------------------------------------------------------------------------------------ options
@pytest.mark.parametrize("model, hparams, expected", [
    ("savp", None, "model.savp.None"),
    ("savp", "lr=2e-4,batch_size=16", "model.savp.lr.2e-4.batch_size.16"),
    ("savp", "decay_steps=[200000,300000],nz=8", "model.savp.decay_steps.200000..300000.nz.8"),
])
def test_model_fname(model, hparams, expected):
    assert options.model_fname(model, hparams) == expected
    assert options.train_output_dir("logs", model, hparams, "_x") == os.path.join("logs", expected) + "_x"


def _checkpoint(tmp_path, options_json=None, dataset_hparams=None, model_hparams=None):
    folder = tmp_path / "models" / "ours_savp"
    folder.mkdir(parents=True)
    if options_json is not None:
        (folder / "options.json").write_text(json.dumps(options_json))
    if dataset_hparams is not None:
        (folder / "dataset_hparams.json").write_text(json.dumps(dataset_hparams))
    if model_hparams is not None:
        (folder / "model_hparams.json").write_text(json.dumps(model_hparams))
    return folder


def test_checkpoint_options_and_hparams_precedence(tmp_path):
    folder = _checkpoint(tmp_path, {"dataset": "bair", "model": "savp"}, {"sequence_length": 30},
                         {"lr": 0.5, "nz": 8})
    dict_file = tmp_path / "dict.json"
    dict_file.write_text(json.dumps({"lr": 0.1, "batch_size": 4}))
    logged = []
    resolved = options.resolve_options(None, None, str(folder / "model-300000"), None, str(dict_file),
                                       log=lambda *a: logged.append(" ".join(map(str, a))))
    # a checkpoint prefix names its folder; options.json fills dataset/model; checkpoint JSON beats the dict file
    assert resolved.checkpoint_dir == str(folder)
    assert (resolved.dataset, resolved.model) == ("bair", "savp")
    assert resolved.model_hparams_dict == {"lr": 0.5, "batch_size": 4, "nz": 8}
    assert resolved.dataset_hparams_dict == {"sequence_length": 30}
    # the flags win over options.json
    flagged = options.resolve_options("kth", "sv2p", str(folder), log=lambda *a: None)
    assert (flagged.dataset, flagged.model) == ("kth", "sv2p")
    # the dataset imposes context_frames, sequence_length and repeat
    merged = savp_model.model_hparams_with_dataset({"lr": 0.5, "context_frames": 5},
                                                {"context_frames": 2, "sequence_length": 30, "time_shift": 2})
    assert merged == {"lr": 0.5, "context_frames": 2, "sequence_length": 30, "repeat": 2}
    assert options.results_output_dir("results", None, resolved.checkpoint_dir, "savp") == \
        os.path.join("results", "ours_savp")
    assert options.generate_output_dirs("r", "g", None, None, "p_out", str(folder), "savp") == \
        (os.path.join("g", "ours_savp"), "p_out")
    assert options.generate_output_dirs("r", None, None, None, None, None, "ground_truth") == \
        (os.path.join("r", "model.ground_truth"),) * 2

    bare = _checkpoint(tmp_path / "b", {"dataset": "bair", "model": "savp"})
    logged.clear()
    resolved = options.resolve_options(None, None, str(bare), log=lambda *a: logged.append(" ".join(map(str, a))))
    assert resolved.model_hparams_dict == {} and resolved.dataset_hparams_dict == {}
    assert "model_hparams.json was not loaded because it does not exist" in logged


def test_options_errors_name_the_flag(tmp_path):
    with pytest.raises(InputError, match="--dataset is required"):
        options.resolve_options(None, "savp")
    with pytest.raises(InputError, match="--model is required"):
        options.resolve_options("bair", None)
    with pytest.raises(MissingInputError, match="--checkpoint"):
        options.resolve_options(None, None, str(tmp_path / "nowhere" / "model-1"))
    no_options = _checkpoint(tmp_path)
    with pytest.raises(MissingInputError, match="options.json"):
        options.resolve_options(None, None, str(no_options))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="--model_hparams_dict"):
        options.resolve_options("bair", "savp", model_hparams_dict_path=str(tmp_path / "bad.json"))
    assert options.model_mode("val") == options.model_mode("test") == "test"  # Q1 fixed
    assert options.model_mode("train") == "train"


def test_run_jsons_are_sorted_indent_4_in_every_folder(tmp_path):
    folders = [str(tmp_path / "gif"), str(tmp_path / "png")]
    options.write_run_jsons(folders, {"seed": 7, "mode": "test"}, {"b": 1, "a": [1, 2]}, {"lr": 0.001})
    for folder in folders:
        assert (pathlib.Path(folder) / "options.json").read_text() == '{\n    "mode": "test",\n    "seed": 7\n}'
        assert json.loads((pathlib.Path(folder) / "dataset_hparams.json").read_text()) == {"a": [1, 2], "b": 1}
        assert json.loads((pathlib.Path(folder) / "model_hparams.json").read_text()) == {"lr": 0.001}


# --------------------------------------------------------------------------------------- evaluation
def _fake_batch(seed=0, batch=3, length=5, size=16, channels=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (batch, length, size, size, channels)).astype(np.float32)


def _np_mse(a, b):
    return ((a.astype(np.float64) - b) ** 2).mean(axis=(-3, -2, -1))


def test_metrics_are_on_future_frames_only_and_lpips_is_negated():
    images = _fake_batch()
    gen = images[:, 1:] + 0.05
    gen[:, :1] = 0.0  # a context reconstruction: must not count
    fake_lpips = lambda a, b, input_range: np.abs(np.asarray(a) - np.asarray(b)).mean(axis=(-3, -2, -1))  # noqa
    values = evaluation.future_metrics(images, gen, 2, evaluation.metric_fns(fake_lpips))
    assert list(values) == ["psnr", "mse", "ssim", "lpips"]
    np.testing.assert_allclose(values["mse"], _np_mse(images[:, 2:], gen[:, 1:]), rtol=1e-5)
    np.testing.assert_allclose(values["psnr"], 10 * np.log10(1 / _np_mse(images[:, 2:], gen[:, 1:])), rtol=1e-5)
    np.testing.assert_allclose(values["ssim"], tf.image.ssim(images[:, 2:], gen[:, 1:], 1.0).numpy(), rtol=1e-5)
    np.testing.assert_allclose(values["lpips"], -0.05, rtol=1e-4)
    assert values["mse"].shape == (3, 3)


def test_best_avg_worst_selection_matches_numpy_and_mse_max_is_the_worst():
    images = _fake_batch(1)
    rng = np.random.default_rng(2)
    samples = [np.clip(images[:, 1:] + rng.normal(0, sigma, images[:, 1:].shape), 0, 1).astype(np.float32)
               for sigma in (0.05, 0.2, 0.1, 0.3)]
    fns = evaluation.metric_fns()
    results = evaluation.eval_outputs_and_metrics(images, lambda i: samples[i], 2, fns, len(samples),
                                                  deterministic=False)
    per_sample = {name: np.stack([evaluation.future_metrics(images, s, 2, fns)[name] for s in samples])
                  for name in fns}
    mse = np.stack([_np_mse(images[:, 2:], s[:, 1:]) for s in samples])  # [N, B, F]
    for name in fns:
        for subtask in ("max", "avg", "min"):
            np.testing.assert_allclose(results["eval_%s/%s" % (name, subtask)],
                                       evaluation.select_by_time_mean(per_sample[name], subtask), rtol=1e-5)
    # mse "max" is the sample with the largest mse: the noisiest one (sigma 0.3), the worst prediction (Q8)
    worst = mse.mean(axis=2).argmax(axis=0)
    assert list(worst) == [3, 3, 3]
    np.testing.assert_allclose(results["eval_mse/max"], mse[3], rtol=1e-4)
    np.testing.assert_array_equal(results["eval_gen_images_mse/max"], samples[3])
    # psnr "max" is the best: the least noisy sample, with its images; avg images are the mean
    np.testing.assert_array_equal(results["eval_gen_images_psnr/max"], samples[0])
    np.testing.assert_array_equal(results["eval_gen_images_psnr/min"], samples[3])
    np.testing.assert_allclose(results["eval_gen_images_ssim/avg"], np.mean(samples, axis=0), rtol=1e-5)
    assert "eval_diversity" not in results


def test_diversity_is_the_mean_distance_of_consecutive_samples_over_the_first_ten():
    images = _fake_batch(3, batch=2, length=4)
    samples = [np.full(images[:, 1:].shape, k / 20.0, np.float32) for k in range(13)]
    distance = lambda a, b: np.abs(a - b).mean(axis=(-3, -2, -1))  # noqa: E731
    results = evaluation.eval_outputs_and_metrics(images, lambda i: samples[i], 1, {"mse": evaluation.metric_fns()[
        "mse"]}, 13, deterministic=False, diversity_distance=distance)
    # pairs (0,1) ... (9,10): 10 distances of 1/20, divided by 10; pairs beyond the 10th are not counted
    np.testing.assert_allclose(results["eval_diversity"], np.full((2, 3), 0.05), rtol=1e-5)
    short = evaluation.eval_outputs_and_metrics(images, lambda i: samples[2 * i], 1, {}, 3, deterministic=False,
                                                diversity_distance=distance)
    np.testing.assert_allclose(short["eval_diversity"], np.full((2, 3), 2 * 0.1 / 10), rtol=1e-5)


def test_deterministic_models_report_their_single_sample_under_every_subtask():
    images = _fake_batch(4)
    calls = []
    results = evaluation.eval_outputs_and_metrics(images, lambda i: calls.append(i) or images[:, 1:], 2,
                                                  evaluation.metric_fns(), 100, deterministic=True)
    assert calls == [0]
    assert np.all(np.isinf(results["eval_psnr/max"]))
    np.testing.assert_array_equal(results["eval_mse/min"], results["eval_mse/max"])
    assert "eval_gen_images" in results and "eval_diversity" not in results


def test_csv_format_write_then_append_and_load(tmp_path):
    prefix = str(tmp_path / "task" / "metrics" / "psnr")
    first = np.array([[1.5, 2.25], [3.0, 4.0]], np.float32)
    second = np.array([[0.1, 0.2]], np.float32)
    evaluation.save_metrics(prefix, first, sample_start_ind=0)
    evaluation.save_metrics(prefix, second, sample_start_ind=2)
    text = pathlib.Path(prefix + ".csv").read_bytes().decode()
    expected = ("sample_ind\t0\t1\tmean\r\n0\t1.5\t2.25\t1.875\r\n1\t3.0\t4.0\t3.5\r\n"
                "2\t%s\t%s\t%s\r\n" % (np.float32(0.1), np.float32(0.2), np.mean(second[0])))
    assert text == expected
    with open(prefix + ".csv", newline="") as handle:
        assert list(csv.reader(handle, delimiter="\t"))[0] == ["sample_ind", "0", "1", "mean"]
    np.testing.assert_array_equal(evaluation.load_metrics(prefix), np.concatenate([first, second]))
    evaluation.save_metrics(prefix, second, sample_start_ind=0)  # a new run starts the file again
    assert evaluation.load_metrics(prefix).shape == (1, 2)


def test_png_truncation_bgr_and_gray(tmp_path):
    frame = np.zeros((2, 2, 3), np.float32)
    frame[0, 0] = [0.999, 0.5, 0.0]  # 254.7 -> 254, 127.5 -> 127: truncation, not rounding
    evaluation.write_png(str(tmp_path / "rgb.png"), frame)
    pixels = cv2.imread(str(tmp_path / "rgb.png"), cv2.IMREAD_UNCHANGED)
    assert pixels[0, 0].tolist() == [0, 127, 254]  # BGR on disk
    gray = np.full((2, 2, 1), 0.3, np.float32)
    evaluation.write_png(str(tmp_path / "gray.png"), gray)
    pixels = cv2.imread(str(tmp_path / "gray.png"), cv2.IMREAD_UNCHANGED)
    assert pixels.shape == (2, 2, 3) and np.all(pixels == int(np.float32(0.3) * np.float32(255)))


def test_output_layout_summary_table_and_plots(tmp_path, capsys):
    images = _fake_batch(5, batch=2, length=4)
    results = evaluation.deterministic_results(images, images[:, 1:] * 0.9, 2, evaluation.metric_fns())
    results["images"] = images
    task = str(tmp_path / "prediction_eval")
    evaluation.save_prediction_eval_results(task, results, 2, 4, 0, False, ["max", "min"])
    evaluation.save_prediction_eval_results(task, results, 2, 4, 2, True, ["max", "min"])
    for name in ("psnr", "mse", "ssim"):
        for subtask in ("max", "min"):
            folder = tmp_path / ("prediction_eval_%s_%s" % (name, subtask))
            assert evaluation.load_metrics(str(folder / "metrics" / name)).shape == (4, 2)
            assert sorted(os.listdir(folder / "inputs")) == ["context_image_%05d_%02d.png" % (i, t)
                                                             for i in range(2) for t in range(2)]
            assert sorted(os.listdir(folder / "outputs")) == ["gen_image_%05d_%02d.png" % (i, t)
                                                              for i in range(2) for t in range(2)]
    assert not (tmp_path / "prediction_eval_psnr_avg").exists()
    table = evaluation.summary_table(str(tmp_path))
    assert "prediction_eval_ssim_max ssim" in table and "mean (std)" in table
    ssim = evaluation.load_metrics(str(tmp_path / "prediction_eval_ssim_max" / "metrics" / "ssim"))
    assert "{:>10} {:>10.4f} ({:>7.4f})".format(0, ssim.mean(axis=0)[0], ssim.std(axis=0)[0]) in table
    written = evaluation.plot_results_dir(str(tmp_path), 2, subtasks=["max", "min"])
    assert [os.path.basename(path) for path in written] == ["psnr.png", "mse.png", "ssim.png"]
    assert cv2.imread(written[0]) is not None


def test_generate_file_names_and_frames(tmp_path):
    assert evaluation.png_name_pattern(28) == "gen_image_%05d_%02d_%02d.png"
    assert evaluation.png_name_pattern(101) == "gen_image_%05d_%02d_%03d.png"
    images = _fake_batch(6, batch=2, length=5, size=8)
    gen = images[:, 1:]
    evaluation.save_generated(None, str(tmp_path), images, gen, 2, sample_ind=8, stochastic_sample_ind=3)
    assert sorted(os.listdir(tmp_path)) == ["gen_image_%05d_03_%02d.png" % (i, t) for i in (8, 9) for t in range(3)]
    pixels = cv2.imread(str(tmp_path / "gen_image_00009_03_02.png"))
    np.testing.assert_array_equal(pixels[..., ::-1], (images[1, 4] * 255).astype(np.uint8))


# ------------------------------------------------------------------------------- non-trainable models
def test_ground_truth_and_repeat_models_q9_fixed():
    assert savp_model.default_hparams("repeat") == savp_model.default_hparams("ground_truth") == BASE
    images = _fake_batch(7, batch=2, length=6, size=4)  # [B, T, ...]
    hparams = {"context_frames": 3, "sequence_length": 6}

    def build(name, hparams_dict, hparams_string=None, mode="test"):
        resolved = savp_model.resolve_model_hparams(name, hparams_dict, hparams_string)
        return savp_model.build_model(name, resolved, images.shape[2:], mode=mode)

    truth = build("ground_truth", hparams)
    np.testing.assert_array_equal(truth.generate({"images": images})["gen_images"], images[:, 1:])
    repeat = build("repeat", hparams)
    assert repeat.trainable_model is False and repeat.deterministic and repeat.mode == "test"
    assert not repeat.weights
    out = np.asarray(repeat.generate({"images": images})["gen_images"])
    assert out.shape == (2, 5, 4, 4, 3)  # T-1 frames, channels unchanged (the original concatenated channels)
    expected = np.concatenate([images[:, 1:3], np.repeat(images[:, 2:3], 3, axis=1)], axis=1)
    np.testing.assert_array_equal(out, expected)
    time_major = non_trainable.repeat_generator({"images": np.swapaxes(images, 0, 1)}, repeat.hparams)
    np.testing.assert_array_equal(np.swapaxes(time_major["gen_images"], 0, 1), expected)
    with pytest.raises(InputError, match="unknown hparam"):
        build("repeat", hparams, "nz=8")
    with pytest.raises(InputError, match="6 frames"):
        build("repeat", {"context_frames": 3, "sequence_length": 7}).generate({"images": images})


def test_ssim_scikit_is_scikit_images_defaults_with_its_float_data_range():
    from skimage.metrics import structural_similarity

    from vidpred_tf.metrics import ssim_scikit

    rng = np.random.default_rng(8)
    a = rng.uniform(0, 1, (2, 16, 16, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    expected = [structural_similarity(x, y, data_range=2.0, channel_axis=-1) for x, y in zip(a, b)]
    np.testing.assert_allclose(ssim_scikit(a, b), expected, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ flagfiles
MISSING_HPARAMS = {f"bair/{m}" for m in ("ours_deterministic_l1", "ours_deterministic_l2", "ours_vae_l1",
                                         "ours_vae_l2", "ours_gan", "ours_savp", "sna_l1", "sna_l2")} | \
    {"bair_action_free/ours_vae_l2"}


def _flagfile_lines(path):
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def test_flagfiles_use_existing_flags_and_hparams_files():
    known = {
        "train": set(defined_flags(PAPER / "train.py")),
        "generate": set(GENERATE_FLAGS), "evaluate": set(EVALUATE_FLAGS),
        "plot_results": set(defined_flags(PAPER / "plot_results.py")),
    }
    kinds = {name: defined_flags(PAPER / f"{name}.py") for name in ("generate", "evaluate", "plot_results")}
    kinds["train"] = defined_flags(PAPER / "train.py")
    files = sorted(FLAGS_DIR.glob("*.flags"))
    counts = {}
    readme = (FLAGS_DIR / "README.md").read_text()
    missing_seen = set()
    for path in files:
        script = next(name for name in ("train", "generate", "evaluate", "plot_results")
                      if path.name.startswith(name + "_"))
        counts[script] = counts.get(script, 0) + 1
        assert "`%s`" % path.name in readme
        for line in _flagfile_lines(path):
            match = re.fullmatch(r"--(\w+)(=(.*))?", line)
            assert match and match.group(1) in known[script], f"{path.name}: {line}"
            kind = kinds[script].get(match.group(1))
            if kind and kind[0] == "int":
                int(match.group(3))
            if kind and kind[0] == "enum":
                assert match.group(3) in kind[2], f"{path.name}: {line}"
            if match.group(1) == "model_hparams_dict":
                hparams_path = REPO / match.group(3)
                relative = hparams_path.parent.relative_to(ORIGINAL_HPARAMS).as_posix()
                if relative in MISSING_HPARAMS:
                    missing_seen.add(relative)
                    assert f"flags/savp/hparams/{relative}/model_hparams.json" in readme
                else:
                    assert json.loads(hparams_path.read_text())
    # one flagfile per line of train_all.sh (19), generate_all.sh (16), evaluate_all.sh (23), plot_results_all.sh (10)
    assert counts == {"train": 19, "generate": 16, "evaluate": 23, "plot_results": 10}
    assert missing_seen == MISSING_HPARAMS
    assert len(list(ORIGINAL_HPARAMS.glob("*/*/model_hparams.json"))) == 11
    savp = json.loads((ORIGINAL_HPARAMS / "kth" / "ours_savp" / "model_hparams.json").read_text())
    assert savp["kl_weight"] == 0.01 and savp["nz"] == 32
    assert _flagfile_lines(FLAGS_DIR / "evaluate_kth_ours_vae_gan.flags") == [
        "--input_dir=data/kth", "--dataset_hparams=sequence_length=40", "--checkpoint=models/kth/ours_vae_gan",
        "--mode=test", "--results_dir=results_test/kth", "--batch_size=1"]


# ------------------------------------------------------------------------------------------------ end to end
def _results_tree(root: pathlib.Path, methods):
    rng = np.random.default_rng(9)
    for offset, method in enumerate(methods):
        images = rng.uniform(0, 1, (2, 4, 12, 12, 3)).astype(np.float32)
        results = evaluation.deterministic_results(images, np.clip(images[:, 1:] * (0.9 - 0.1 * offset), 0, 1), 2,
                                                   evaluation.metric_fns())
        results["images"] = images
        evaluation.save_prediction_eval_results(str(root / method / "prediction_eval"), results, 2, 4, 0, False,
                                                ["max"])


def test_plot_results_and_combine_results_scripts(tmp_path):
    root = tmp_path / "kth"
    _results_tree(root, ["ours_vae_gan", "repeat"])
    code = ("import runpy, sys; from vidpred_tf import cli; "
            "m = runpy.run_path(sys.argv[1], run_name='x'); cli.run(m['main'], argv=sys.argv[1:])")
    plot = subprocess.run([sys.executable, "-c", code, str(REPO / "scripts/savp/plot_results.py"), str(root),
                           "--plot_metric_names=psnr", "--plot_metric_names=ssim", "--plot_fname=m.png"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert cv2.imread(str(root / "web" / "plots" / "m.png")) is not None
    combine = subprocess.run([sys.executable, "-c", code, str(REPO / "scripts/savp/combine_results.py"), str(root),
                              "--sort_by=prediction_eval_psnr_max,psnr"],
                             capture_output=True, text=True, env=ENV, timeout=120)
    assert combine.returncode == 0, combine.stderr
    page = (root / "web" / "index.html").read_text()
    assert "prediction_eval_psnr_max" in page and "psnr (mean)" in page and page.index("repeat") > 0
    assert (root / "web" / "images" / "prediction_eval_psnr_max" / "outputs" / "gen_image_00001.gif").exists()
    assert (root / "web" / "images" / "prediction_eval_psnr_max" / "inputs" / "context_image_00000_01.png").exists()


_FAKE_SESSION = """
import runpy, sys
from vidpred_tf.quiet import import_tensorflow_quietly
import_tensorflow_quietly()
import numpy as np, tensorflow as tf
from vidpred_tf import cli
from vidpred_tf.hparams import HParams
from vidpred_tf.papers.savp import runtime

class Noisy:  # a stochastic model: gen_images = the truth plus seed-dependent noise
    trainable_model, deterministic = True, False
    def __init__(self, hparams):
        self.hparams = hparams
    def predict_images(self, inputs, seed=None):
        images = inputs["images"][:, 1:]
        return tf.clip_by_value(images + tf.random.stateless_normal(tf.shape(images), seed, 0, 0.1), 0, 1)

def fake_session(resolved, input_dir, mode, dataset_hparams, model_hparams, batch_size, num_samples, num_epochs,
                 seed, checkpoint):
    images = np.random.default_rng(0).uniform(0, 1, (4, 5, 12, 12, 3)).astype(np.float32)
    data = HParams(context_frames=2, sequence_length=5, time_shift=1)
    hparams = HParams(context_frames=2, sequence_length=5, repeat=1, nz=8)
    if resolved.model == "repeat":
        model = runtime.build_model("repeat", {"context_frames": 2, "sequence_length": 5}, None, {"images": images})
    else:
        model = Noisy(hparams)
    dataset = tf.data.Dataset.from_tensor_slices({"images": images}).batch(batch_size)
    return runtime.Session(dataset, data, 4, model, seed, num_samples)

runtime.build_session = fake_session
module = runpy.run_path(sys.argv[1], run_name="x")
cli.run(module["main"], argv=sys.argv[1:])
"""


def _run_fake(script, *args):
    return subprocess.run([sys.executable, "-c", _FAKE_SESSION, str(REPO / "scripts" / "savp" / script), *args],
                          capture_output=True, text=True, env=ENV, timeout=120)


def test_evaluate_main_writes_the_layout_jsons_and_table(tmp_path):
    process = _run_fake("evaluate.py", "--input_dir=unused", "--dataset=bair", "--model=savp", "--batch_size=2",
                        f"--results_dir={tmp_path}", "--num_stochastic_samples=3", "--eval_substasks=max",
                        "--eval_substasks=min")
    assert process.returncode == 0, process.stderr
    out = tmp_path / "model.savp"
    options_json = json.loads((out / "options.json").read_text())
    assert options_json["eval_substasks"] == ["max", "min"] and options_json["output_dir"] == str(out)
    assert json.loads((out / "model_hparams.json").read_text())["nz"] == 8
    psnr_max = evaluation.load_metrics(str(out / "prediction_eval_psnr_max" / "metrics" / "psnr"))
    psnr_min = evaluation.load_metrics(str(out / "prediction_eval_psnr_min" / "metrics" / "psnr"))
    assert psnr_max.shape == (4, 3) and np.all(psnr_max.mean(axis=1) >= psnr_min.mean(axis=1))
    assert np.any(psnr_max.mean(axis=1) > psnr_min.mean(axis=1))  # fresh noise per sample
    assert len(os.listdir(out / "prediction_eval_mse_min" / "outputs")) == 4 * 3
    assert "prediction_eval_psnr_max psnr" in process.stdout and "LPIPS and diversity are skipped" in process.stdout
    assert (out / "plots" / "psnr.png").exists()
    bad = _run_fake("evaluate.py", "--input_dir=x", "--dataset=bair", "--model=savp", "--eval_substasks=best")
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "evaluate.py: error: --eval_substasks 'best': expected one of ['max', 'avg', 'min']"]


def test_generate_main_writes_gifs_pngs_and_jsons_in_both_folders(tmp_path):
    process = _run_fake("generate.py", "--input_dir=unused", "--dataset=bair", "--model=repeat", "--batch_size=2",
                        f"--results_gif_dir={tmp_path / 'gif'}", f"--results_png_dir={tmp_path / 'png'}",
                        "--num_stochastic_samples=2", "--gif_length=4", "--mode=test")
    assert process.returncode == 0, process.stderr
    gif_dir, png_dir = tmp_path / "gif" / "model.repeat", tmp_path / "png" / "model.repeat"
    gifs = sorted(name for name in os.listdir(gif_dir) if name.endswith(".gif"))
    assert gifs == ["gen_image_%05d_%02d.gif" % (i, s) for i in range(4) for s in range(2)]
    pngs = sorted(name for name in os.listdir(png_dir) if name.endswith(".png"))
    assert pngs == ["gen_image_%05d_%02d_%02d.png" % (i, s, t) for i in range(4) for s in range(2) for t in range(3)]
    from vidpred_tf.viz.video import read_video

    assert read_video(str(gif_dir / "gen_image_00000_00.gif")).shape[0] == 4  # --gif_length
    for folder in (gif_dir, png_dir):
        assert {"options.json", "dataset_hparams.json", "model_hparams.json"} <= set(os.listdir(folder))
        assert json.loads((folder / "model_hparams.json").read_text()) == {
            "context_frames": 2, "sequence_length": 5, "repeat": 1}
    # the repeat model: every future PNG is the last context frame
    last = cv2.imread(str(png_dir / "gen_image_00001_01_00.png"))
    np.testing.assert_array_equal(cv2.imread(str(png_dir / "gen_image_00001_01_02.png")), last)
