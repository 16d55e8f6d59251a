"""`vidpred evaluate`: two checkpoints and copy-last on a TFRecord dataset (CSV, plots, JSON), best/avg/worst of N
samples of a stochastic stand-in adapter, and the usage errors."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vidpred_tf import evaluation, inference
from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.errors import InputError

CONTEXT, HORIZON, SIZE, NUM_VIDEOS = 3, 3, 16, 5


def train_tiny_baseline(directory, seed):
    from vidpred_tf.models.baseline.convlstm import ConvLSTMConfig
    from vidpred_tf.models.baseline.task import NextFrameTask
    from vidpred_tf.papers.baseline.predictor import write_baseline_manifest
    from vidpred_tf.training import Trainer, TrainerConfig, make_strategy

    config = ConvLSTMConfig(image_size=SIZE, context_frames=CONTEXT, encoder_filters=(4,), lstm_filters=(4,))
    write_baseline_manifest(directory, config, horizon=HORIZON)
    videos = np.random.default_rng(seed).random((8, CONTEXT + HORIZON, SIZE, SIZE, 1)).astype("float32")
    trainer = Trainer(NextFrameTask(config, num_frames=CONTEXT + HORIZON),
                      TrainerConfig(model_dir=str(directory), num_steps=2, global_batch_size=4, seed=seed,
                                    checkpoint_every=2, log_every=10), make_strategy("one_device"))
    trainer.fit(lambda context: tf.data.Dataset.from_tensor_slices({"images": videos}).repeat().batch(4))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """Two tiny checkpoints and a TFRecord file of NUM_VIDEOS smooth 7-frame videos."""
    from vidpred_tf.data.tfrecord import write_tfrecords

    root = tmp_path_factory.mktemp("evaluate")
    for name, seed in (("a", 0), ("b", 1)):
        train_tiny_baseline(root / name, seed)
    rng = np.random.default_rng(9)
    base = rng.random((NUM_VIDEOS, 1, SIZE, SIZE, 1))
    videos = np.clip(base + 0.05 * np.arange(7)[None, :, None, None, None], 0, 1)
    videos = (np.round(videos * 255) / 255).astype(np.float32)  # exactly what the uint8 records hold
    write_tfrecords(str(root / "data" / "videos"), [{"images": v} for v in videos])
    return root, videos


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_two_checkpoints_and_copy_last(setup, capsys):
    root, videos = setup
    out = root / "out"
    metrics = ["mse", "psnr", "ssim_tf", "mse_openstl_frame_sum"]
    code = vidpred(["evaluate", "--checkpoint", str(root / "a"), "--checkpoint", str(root / "b"), "--label", "A",
                    "--label", "B", "--dataset", "tfrecord", "--data", str(root / "data" / "videos*"),
                    "--copy_last", "--metrics", ",".join(metrics), "--seed", "5", "--output_dir", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = read_csv(out / "metrics_per_step.csv")
    assert list(rows[0]) == ["checkpoint", "statistic", "step", "frame"] + metrics
    assert [(r["checkpoint"], r["statistic"], int(r["step"]), int(r["frame"])) for r in rows] == [
        (label, "mean", step, CONTEXT + step) for label in ("A", "B", "copy_last") for step in (1, 2, 3)]

    # copy_last against NumPy; the checkpoints against their own predictions.
    truth = videos[:, CONTEXT:CONTEXT + HORIZON]
    copy_mse = np.mean((truth - videos[:, CONTEXT - 1:CONTEXT]) ** 2, axis=(0, 2, 3, 4))
    by_label = {label: [r for r in rows if r["checkpoint"] == label] for label in ("A", "B", "copy_last")}
    np.testing.assert_allclose([float(r["mse"]) for r in by_label["copy_last"]], copy_mse, rtol=1e-5)
    predicted = inference.run_predictor(inference.load_predictor(root / "a"), videos[:, :CONTEXT], HORIZON)
    model_mse = np.mean((truth - predicted) ** 2, axis=(0, 2, 3, 4))
    np.testing.assert_allclose([float(r["mse"]) for r in by_label["A"]], model_mse, rtol=1e-5)
    model_psnr = np.mean(10 * np.log10(1.0 / np.mean((truth - predicted) ** 2, axis=(2, 3, 4))), axis=0)
    np.testing.assert_allclose([float(r["psnr"]) for r in by_label["A"]], model_psnr, rtol=1e-4)
    for row in rows:  # OpenSTL's per-frame sum is the per-pixel mean times H*W*C
        assert float(row["mse_openstl_frame_sum"]) == pytest.approx(float(row["mse"]) * SIZE * SIZE, rel=1e-5)
    assert by_label["A"] != by_label["B"]

    for name in metrics:
        with Image.open(out / f"{name}.png") as image:
            assert image.size[0] > 200 and image.size[1] > 150
    summary = json.loads((out / "summary.json").read_text())
    for key in ("dataset", "num_videos", "context_frames", "horizon", "seed", "samples_requested", "conventions",
                "device", "checkpoints", "files", "metrics"):
        assert key in summary, key
    assert summary["seed"] == 5 and summary["num_videos"] == NUM_VIDEOS and summary["samples_requested"] == 1
    assert (summary["context_frames"], summary["horizon"]) == (CONTEXT, HORIZON)
    assert set(summary["conventions"]) == set(metrics) and "per pixel" in summary["conventions"]["mse"]
    assert summary["device"]["logical_devices"] and summary["device"]["tensorflow"] == tf.__version__
    assert [c["label"] for c in summary["checkpoints"]] == ["A", "B", "copy_last"]
    a_mse = summary["checkpoints"][0]["metrics"]["mse"]
    np.testing.assert_allclose(a_mse["per_timestep"], model_mse, rtol=1e-5)
    assert a_mse["mean"] == pytest.approx(float(model_mse.mean()), rel=1e-5)
    assert summary["checkpoints"][0]["predictor"]["paper"] == "baseline"
    assert "summary:" in capsys.readouterr().out


class NoisyCopyLast(inference.Predictor):
    """A stochastic stand-in: the last context frame plus seeded noise of a size that depends on the seed."""

    paper, model_name, stochastic = "test", "noisy_copy_last", True
    context_frames, default_horizon, image_size, channels = CONTEXT, HORIZON, (SIZE, SIZE), 1

    def predict(self, context, horizon, seed=0):
        rng = np.random.default_rng(seed)
        noise = (0.05 + 0.1 * (seed % 3)) * rng.standard_normal((context.shape[0], horizon) + context.shape[2:])
        return np.clip(context[:, -1:] + noise, 0, 1).astype(np.float32)


def test_best_avg_worst_of_n_samples(setup, tmp_path, capsys, monkeypatch):
    root, videos = setup
    model_dir = tmp_path / "noisy_model"
    model_dir.mkdir()
    # A loader of this test beside the papers' adapters (papers add theirs through their descriptors).
    adapters = inference.import_adapters()
    adapters["test_noisy"] = inference.LoaderEntry("test_noisy", lambda path: path.name == "noisy_model",
                                                   lambda path: NoisyCopyLast())
    monkeypatch.setattr(inference.registry, "import_adapters", lambda: adapters)
    out = tmp_path / "out"
    code = vidpred(["evaluate", "--checkpoint", str(model_dir), "--checkpoint", str(root / "a"), "--label", "noisy",
                    "--label", "det", "--dataset", "tfrecord", "--data", str(root / "data" / "videos*"),
                    "--samples", "3", "--seed", "10", "--metrics", "mse,psnr", "--output_dir", str(out)])
    assert code == 0, capsys.readouterr().err
    rows = read_csv(out / "metrics_per_step.csv")
    assert sorted({(r["checkpoint"], r["statistic"]) for r in rows}) == [
        ("det", "mean"), ("noisy", "avg"), ("noisy", "best"), ("noisy", "worst")]

    # Independently: per video the sample with the lowest summed MSE (best) / highest (worst), seeds 10, 11, 12.
    truth = videos[:, CONTEXT:CONTEXT + HORIZON]
    samples = np.stack([NoisyCopyLast().predict(videos[:, :CONTEXT], HORIZON, seed) for seed in (10, 11, 12)])
    mse = np.mean((samples - truth[None]) ** 2, axis=(3, 4, 5))  # [S, N, T]
    best = mse[mse.sum(axis=2).argmin(axis=0), np.arange(NUM_VIDEOS)].mean(axis=0)
    worst = mse[mse.sum(axis=2).argmax(axis=0), np.arange(NUM_VIDEOS)].mean(axis=0)
    for statistic, expected in (("best", best), ("avg", mse.mean(axis=(0, 1))), ("worst", worst)):
        got = [float(r["mse"]) for r in rows if r["checkpoint"] == "noisy" and r["statistic"] == statistic]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    # PSNR ranks the other way: its best sample is the one with the highest PSNR sum.
    psnr = 10 * np.log10(1.0 / mse)
    best_psnr = psnr[psnr.sum(axis=2).argmax(axis=0), np.arange(NUM_VIDEOS)].mean(axis=0)
    got = [float(r["psnr"]) for r in rows if r["checkpoint"] == "noisy" and r["statistic"] == "best"]
    np.testing.assert_allclose(got, best_psnr, rtol=1e-4)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples_requested"] == 3 and summary["sample_seeds"] == [10, 11, 12]
    noisy, det = summary["checkpoints"]
    assert noisy["samples"] == 3 and det["samples"] == 1  # a deterministic model runs once
    assert set(noisy["metrics"]["mse"]) >= {"best", "avg", "worst"}
    assert noisy["metrics"]["mse"]["best"]["mean"] == pytest.approx(float(best.mean()), rel=1e-5)


def test_evaluate_usage_errors(setup, tmp_path, capsys):
    root, _ = setup
    common = ["evaluate", "--checkpoint", str(root / "a"), "--output_dir", str(tmp_path / "o")]
    data = ["--data", str(root / "data" / "videos*")]
    cases = [
        (["--dataset", "no_such_reader"], ["'no_such_reader' is not a registered dataset", "tfrecord"]),
        (["--dataset", "tfrecord", *data, "--horizon", "9"], ["7 frames", "--horizon 9 needs 12"]),
        (["--dataset", "tfrecord", *data, "--metrics", "mse,nope"], ["unknown metric 'nope'"]),
        (["--dataset", "tfrecord", *data, "--dataset_arg", "oops"], ["--dataset_arg 'oops': expected KEY=VALUE"]),
        (["--dataset", "tfrecord", *data, "--label", "x", "--label", "y"], ["2 --label for 1 --checkpoint"]),
        (["--dataset", "tfrecord", *data, "--dataset_arg", "bogus=1"], ["does not take these arguments"]),
    ]
    corrupt = tmp_path / "corrupt.tfrecord"
    corrupt.write_bytes(b"\x00" * 64)
    cases.append((["--dataset", "tfrecord", "--data", str(corrupt)], ["--dataset=tfrecord", "corrupt.tfrecord"]))
    for extra, words in cases:
        assert vidpred(common + extra) == 2, extra
        error = capsys.readouterr().err
        for word in words:
            assert word in error, (word, error)
    assert vidpred(["evaluate", "--dataset", "tfrecord", "--output_dir", str(tmp_path)]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_ssim_needs_frames_as_large_as_its_window(setup):
    _, videos = setup
    tiny = evaluation.CopyLastFrame((8, 8), 1, CONTEXT, HORIZON)
    with pytest.raises(InputError, match="ssim_tf needs frames of at least 11x11"):
        evaluation.evaluate_predictors({"tiny": tiny}, videos[:, :, :8, :8], metrics=["ssim_tf"])
    result = evaluation.evaluate_predictors({"tiny": tiny}, videos[:, :, :8, :8], metrics=["mse"])
    expected = np.mean((videos[:, CONTEXT:, :8, :8] - videos[:, CONTEXT - 1:CONTEXT, :8, :8]) ** 2, axis=(2, 3, 4))
    np.testing.assert_allclose(result.checkpoints[0].values["mse"][0], expected[:, :HORIZON], rtol=1e-5)


def test_dataset_arguments_parse_as_json():
    assert evaluation.parse_dataset_args(["split=test", "num_sequences=4", "flag=true", "name=x=y"]) == {
        "split": "test", "num_sequences": 4, "flag": True, "name": "x=y"}


def test_missing_or_wrong_metric_weights_fail_before_predicting(setup, tmp_path, capsys):
    root, _ = setup
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not hdf5")
    common = ["evaluate", "--checkpoint", str(root / "a"), "--dataset", "tfrecord", "--data",
              str(root / "data" / "videos*"), "--output_dir", str(tmp_path / "o")]
    cases = [
        (["--lpips_weights", str(tmp_path / "none.weights.h5")], "--lpips_weights", "does not exist"),
        (["--lpips_weights", str(junk)], "--lpips_weights", "junk.weights.h5"),
        (["--i3d_weights", str(tmp_path / "none.weights.h5")], "--i3d_weights", "does not exist"),
        (["--i3d_weights", str(junk)], "--i3d_weights", "junk.weights.h5"),
    ]
    for extra, flag, words in cases:
        assert vidpred(common + extra) == 2, extra
        captured = capsys.readouterr()
        error = captured.err.strip()
        assert error.startswith(f"vidpred evaluate: error: {flag} ") and words in error, error
        assert "\n" not in error and "sample" not in captured.out  # nothing was predicted
    assert not (tmp_path / "o").exists()


def test_fvd_needs_sixteen_frames_and_two_videos(setup):
    _, videos = setup
    reference = evaluation.CopyLastFrame((SIZE, SIZE), 1, CONTEXT, HORIZON)
    never_used = object()  # the checks come before the network is touched
    with pytest.raises(InputError, match="at least 16 frames; --context 3 \\+ --horizon 3 gives 6"):
        evaluation.evaluate_predictors({"r": reference}, videos, i3d_model=never_used, metrics=["mse"])
    long_videos = np.repeat(videos, 3, axis=1)[:1]
    with pytest.raises(InputError, match="at least 2 videos"):
        evaluation.evaluate_predictors({"r": reference}, long_videos, horizon=13, i3d_model=never_used,
                                       metrics=["mse"])


def test_evaluation_outputs_are_replaced_whole_or_not_at_all(setup, tmp_path, monkeypatch, capsys):
    root, _ = setup
    out = tmp_path / "ev"
    args = ["evaluate", "--checkpoint", str(root / "a"), "--dataset", "tfrecord", "--data",
            str(root / "data" / "videos*"), "--metrics", "mse,psnr", "--output_dir", str(out)]
    assert vidpred(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(before) == {"metrics_per_step.csv", "mse.png", "psnr.png", "summary.json"}
    summary = json.loads(before["summary.json"])
    assert summary["files"]["csv"] == str(out / "metrics_per_step.csv")

    calls = []

    def plot_then_fail(path, *a, **k):
        calls.append(path)
        if len(calls) == 2:  # the first plot is written, the second fails
            raise RuntimeError("matplotlib broke")
        return original(path, *a, **k)

    original = evaluation.plot_metric_curves
    monkeypatch.setattr(evaluation, "plot_metric_curves", plot_then_fail)
    with pytest.raises(RuntimeError, match="matplotlib broke"):
        vidpred(args[:-4] + ["--metrics", "mse,psnr", "--seed", "3", "--output_dir", str(out)])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert vidpred(args[:-1] + [str(blocker)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{blocker} is a file, not a directory")
