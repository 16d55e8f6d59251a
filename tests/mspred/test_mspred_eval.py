"""MSPred evaluation outputs (checklist item 17), processed metrics and figure files, with a stand-in model.

The stand-in predicts like an MSPred model (same output dict and target masks) but draws its "latents" from the
sample index alone, so the best-of-N result of every sequence can be recomputed here independently of batching.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vidpred_tf.models.mspred.params import model_num_preds, sequence_length
from vidpred_tf.papers.mspred import evaluation
from vidpred_tf.papers.mspred import figures as mspred_figures
from vidpred_tf.viz.video import read_video

SIZE = 16
CONTEXT = 3
PERIODS = [1, 2, 4]


def mspred_masks(num_frames, context, num_preds, periods):
    """MSPred's target masks: level 0 frames context.., level h frames context - 1 + (k + 1) * p_h."""
    masks = {}
    for level, (count, period) in enumerate(zip(num_preds, periods)):
        mask = np.zeros(num_frames, bool)
        for k in range(count):
            mask[context - 1 + (k + 1) * period] = True
        masks[level] = mask
    return masks


def standin_prediction(frames, sample, level, count, channels):
    """Sample s of level h: the last context frame (or a fixed blob map) shifted by a sample-dependent offset."""
    if level == 0:
        base = np.repeat(frames[:, CONTEXT - 1:CONTEXT], count, axis=1)
    else:
        base = np.zeros(frames.shape[:1] + (count, SIZE, SIZE, channels), np.float32)
        base[:, :, 4 + sample, 5 + 2 * level, :] = 0.9
    offset = 0.05 * ((sample * 7 + level) % 3)
    return np.clip(base + offset * np.linspace(0, 1, count)[None, :, None, None, None], 0, 1).astype(np.float32)


class StandinModel:
    def __init__(self, channels=(3, 1)):
        self.channels = channels
        self.training_flags = []

    def __call__(self, x, context, num_preds, teacher_force=False, training=False, seed=None, eps=None):
        frames = np.asarray(x)
        sample = int(np.asarray(seed)[1]) % 1000003
        self.training_flags.append(training)
        masks = mspred_masks(frames.shape[1], context, num_preds, PERIODS)
        preds = {h: standin_prediction(frames, sample, h, num_preds[h], ([3] + list(self.channels))[h])
                 for h in range(3)}
        return {"preds": preds, "target_masks": masks}


class StandinDataset:
    def __init__(self, num_items, num_frames, channels=(3, 1)):
        rng = np.random.default_rng(7)
        self.items = []
        for _ in range(num_items):
            frames = rng.random((num_frames, SIZE, SIZE, 3)).astype(np.float32)
            maps = []
            for count in channels:
                heat = np.zeros((num_frames, SIZE, SIZE, count), np.float32)
                heat[:, rng.integers(1, SIZE), rng.integers(1, SIZE), :] = 1.0
                maps.append(heat)
            self.items.append({"frames": frames, "heatmaps": maps, "class_name": ""})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def exp_params(dataset_name, num_preds, batch_size=2):
    return {
        "dataset": {"dataset_name": dataset_name, "img_size": SIZE, "num_channels": 3},
        "model": {"model_type": "SpatioTempHierarchConvLSTM",
                  "HierarchLSTM": {"periods": PERIODS, "aux_outputs": True}},
        "eval": {"context": CONTEXT, "num_preds": num_preds, "batch_size": batch_size},
    }


def test_tracker_keeps_the_best_sample_per_metric_and_sequence():
    gt = np.full((1, 2, 12, 12, 3), 0.5, np.float32)
    # Sample A: frame mses 1e-4 and 0.1 (psnr sum 50 dB); sample B: 0.04 and 0.04 (psnr sum 28 dB).
    sample_a = gt + np.array([0.01, math.sqrt(0.1)], np.float32)[None, :, None, None, None]
    sample_b = gt + np.float32(0.2)
    tracker = evaluation.LevelMetricTracker(["mse", "psnr"])
    tracker.add_batch([sample_a, sample_b], gt)
    results = tracker.results()
    np.testing.assert_allclose(results["framewise_mse"], [0.04, 0.04], rtol=1e-4)  # B: lower mse sum
    np.testing.assert_allclose(results["framewise_psnr"], [40.0, 10.0], rtol=1e-4)  # A: higher psnr sum
    assert results["mean_mse"] == pytest.approx(0.04, rel=1e-4)


def test_evaluate_experiment_writes_the_metrics_files(tmp_path):
    num_preds = [2, 2, 2]
    params = exp_params("kth", 2)
    num_frames = CONTEXT + max(n * p for n, p in zip(num_preds, PERIODS))
    dataset = StandinDataset(5, num_frames, channels=(3, 1))
    model = StandinModel(channels=(3, 1))
    messages = []
    written = evaluation.evaluate_experiment(tmp_path, "ckpt.pth", n_samples_per_seq=3, dataset=dataset,
                                             model=model, exp_params=params, log=messages.append)
    assert model.training_flags and not any(model.training_flags)  # eval mode: prior latents
    assert any("LPIPS skipped" in m for m in messages)
    results_dir = tmp_path / "results" / "results_ckpt.pth"
    plots_dir = tmp_path / "results" / "plots_ckpt.pth"
    assert sorted(os.listdir(results_dir)) == ["metrics_0.json", "metrics_1.json", "metrics_2.json"]
    expected_metrics = [["mse", "mae", "psnr", "ssim"], evaluation.METRIC_SETS["keypoint"], ["mpjpe"]]
    masks = mspred_masks(num_frames, CONTEXT, num_preds, PERIODS)
    for level in range(3):
        data = json.loads((results_dir / f"metrics_{level}.json").read_text())
        assert set(data) == {f"{kind}_{m}" for m in expected_metrics[level] for kind in ("mean", "framewise")}
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            assert all(v == round(v, 5) for v in values if not math.isnan(v)), key
            if key.startswith("framewise"):
                assert len(value) == num_preds[level]
        for metric in expected_metrics[level]:
            assert (plots_dir / evaluation.plot_name(f"framewise_{metric}", level)).is_file()
        assert written[level]["json"] == str(results_dir / f"metrics_{level}.json")
    # Independent best-of-3 per sequence and metric, for mse (level 0) and mpjpe (level 2).
    level0 = json.loads((results_dir / "metrics_0.json").read_text())
    level2 = json.loads((results_dir / "metrics_2.json").read_text())
    best_mse, best_mpjpe = [], []
    for item in dataset.items:
        frames = item["frames"][None]
        target0 = frames[:, masks[0]]
        per_sample = [np.mean((standin_prediction(frames, s, 0, 2, 3) - target0) ** 2, axis=(2, 3, 4))[0]
                      for s in range(3)]
        best_mse.append(min(per_sample, key=lambda curve: curve.sum()))
        target2 = item["heatmaps"][1][masks[2]]
        curves = []
        for s in range(3):
            pred2 = standin_prediction(frames, s, 2, 2, 1)[0]
            curve = []
            for f in range(2):
                py, px = np.unravel_index(pred2[f, ..., 0].argmax(), (SIZE, SIZE))
                ty, tx = np.unravel_index(target2[f, ..., 0].argmax(), (SIZE, SIZE))
                curve.append(math.hypot(py - ty, px - tx))
            curves.append(np.array(curve))
        best_mpjpe.append(min(curves, key=lambda curve: curve.sum()))
    assert level0["mean_mse"] == pytest.approx(round(float(np.mean(best_mse)), 5), abs=2e-5)
    np.testing.assert_allclose(level0["framewise_mse"], np.mean(best_mse, axis=0), atol=2e-5)
    assert level2["mean_mpjpe"] == pytest.approx(round(float(np.mean(best_mpjpe)), 5), abs=2e-5)


def test_segmentation_keys_and_classwise_lists(tmp_path):
    num_preds = [2, 2, 2]
    num_frames = CONTEXT + 8
    dataset = StandinDataset(3, num_frames, channels=(23, 1))
    evaluation.evaluate_experiment(tmp_path, "c", n_samples_per_seq=2, dataset=dataset,
                                   model=StandinModel(channels=(23, 1)), exp_params=exp_params("synpick", num_preds),
                                   log=lambda message: None)
    data = json.loads((tmp_path / "results" / "results_c" / "metrics_1.json").read_text())
    assert set(data) == {"mean_segmentation_accuracy", "framewise_segmentation_accuracy",
                         "classwise_segmentation_accuracy", "mean_iou", "framewise_iou", "classwise_iou"}
    assert len(data["classwise_iou"]) == 23 and len(data["classwise_segmentation_accuracy"]) == 23
    assert (tmp_path / "results" / "plots_c" / "results_accuracy_level_1.png").is_file()
    processed = evaluation.process_metrics_dir(tmp_path, "c", log=lambda message: None)
    assert sorted(os.path.basename(p) for p in processed) == [f"processed_metrics_{h}.json" for h in range(3)]
    level1 = json.loads((tmp_path / "results" / "results_c" / "processed_metrics_1.json").read_text())
    assert set(level1) == {"mean_segmentation_accuracy", "mean_iou"} | {
        f"classwise_{m}_{part}" for m in ("segmentation_accuracy", "iou")
        for part in ("moving", "background", "static")}


def test_process_metrics_hand_case():
    classwise = [0.5] + [float(i) for i in range(1, 22)] + [0.25]
    data = {"mean_mpjpe": 2.0, "framewise_mpjpe": [1.0, 3.0], "mean_pdj@0.1": 0.2, "mean_pdj@0.2": 0.4,
            "framewise_pdj@0.2": [0.4, 0.4], "mean_pck@0.1": 0.3, "mean_pck@0.2": 0.5, "classwise_iou": classwise}
    assert evaluation.process_metrics(data) == {
        "mean_mpjpe": 2.0, "mean_pdj@0.2": 0.4, "mean_pck@0.2": 0.5,
        "classwise_iou_moving": 0.25, "classwise_iou_background": 0.5, "classwise_iou_static": 11.0,
        "AR0.1:0.2": pytest.approx(0.3), "AP0.1:0.2": pytest.approx(0.4)}
    with pytest.raises(ValueError, match="classwise_iou: a classwise list needs 23 classes"):
        evaluation.process_metrics({"classwise_iou": [1.0, 2.0]})


def test_json_rounding_and_helpers():
    payload = evaluation.results_to_json({"mean_mse": np.float32(0.123456789),
                                          "framewise_mse": np.array([0.1111119, 2.0000031], np.float32),
                                          "classwise_iou": np.array([0.5, 0.25], np.float32)})
    assert payload == {"mean_mse": 0.12346, "framewise_mse": [0.11111, 2.0], "classwise_iou": [0.5, 0.25]}
    assert evaluation.frame_numbers(mspred_masks(11, 3, [2, 2, 2], PERIODS)[2], 2, 3).tolist() == [6, 10]
    assert evaluation.plot_name("framewise_pdj@0.1", 1) == "results_pdj@0.1_level_1.png"
    hierarchical = {"eval": {"context": 17, "num_preds": 5},
                    "model": {"model_type": "SpatioTempHierarchConvLSTM", "HierarchLSTM": {"periods": [1, 4, 8]}}}
    assert (model_num_preds(hierarchical, "eval"), sequence_length(hierarchical, "eval")) == ([5, 5, 5], 57)
    svg = {"eval": {"context": 17, "num_preds": [5, 3]}, "model": {"model_type": "LP"}}
    assert (model_num_preds(svg, "eval"), sequence_length(svg, "eval")) == (5, 22)
    with pytest.raises(ValueError, match="unknown metric 'fvd'"):
        evaluation.LevelMetricTracker(["fvd"])
    with pytest.raises(ValueError, match="has no evaluation metrics"):
        evaluation.level_metrics("cityscapes")


def test_figures_and_assembled_figures(tmp_path):
    num_frames = CONTEXT + 20
    dataset = StandinDataset(2, num_frames, channels=(3, 1))
    model = StandinModel(channels=(3, 1))
    params = exp_params("kth", 5, batch_size=1)
    written = evaluation.generate_figures(tmp_path, "ck", num_imgs=1, dataset=dataset, model=model,
                                          exp_params=params, log=lambda message: None)
    assert model.training_flags == [True]  # train-mode (posterior) latents, as the original
    plots = tmp_path / "results" / "plots_ck"
    assert [os.path.basename(p) for p in written] == ["img_1.png", "img_1_gt.png"]
    with Image.open(plots / "images" / "img_1.png") as image:
        assert image.size == (3 * (CONTEXT + 5) * 100, 900)
    for suffix in ("", "_gt"):
        resources = plots / "gif_resources" / f"seq_1{suffix}"
        assert sorted(os.listdir(resources / "hier_0")) == [f"img_{i:02d}.png" for i in range(CONTEXT + 5)]
        assert sorted(os.listdir(resources / "hier_1")) == [f"img_{i:02d}.png" for i in range(CONTEXT, CONTEXT + 5)]
        assert len(os.listdir(resources / "hier_2")) == 5
    with Image.open(plots / "gif_resources" / "seq_1" / "hier_1" / "img_03.png") as image:
        assert image.size == (SIZE + 2, SIZE + 2)  # keypoint blobs get a 1-pixel black frame
    assert read_video(plots / "gifs" / "seq_1.gif").shape[0] == CONTEXT + 5

    # KTH's grid shows context frames 0, 4 and 8 (its context is 9): with 3 context frames that is an error.
    with pytest.raises(ValueError, match=r"combined grid for 'kth' shows context frames \[0, 4, 8\]"):
        evaluation.assemble_figures(tmp_path, "ck", params, log=lambda message: None)
    assert not (plots / "gifs" / "combined_gif_1.gif").exists()  # refused before anything was written
    # SynpickVP's layout (context frames 0, 2, 3; 12 x 6 inches) fits.
    params["dataset"]["dataset_name"] = "synpick"
    assembled = evaluation.assemble_figures(tmp_path, "ck", params, log=lambda message: None)
    assert [os.path.basename(p) for p in assembled] == ["combined_gif_1.gif", "combined_img_1.png"]
    with Image.open(plots / "images" / "combined_img_1.png") as image:
        assert image.size == (1200, 600)
    gif = read_video(plots / "gifs" / "combined_gif_1.gif")
    assert gif.shape[0] == 5 * max(PERIODS) + CONTEXT and gif.shape[1:3] == (600, 480)


def test_structured_images():
    maps = np.zeros((8, 10, 3), np.float32)
    maps[..., 2] = 1.0
    maps[2:4, 2:4, 1] = 2.0
    maps[0, 0, 0] = 5.0
    painted = mspred_figures.segmentation_image(maps, np.zeros((8, 10, 3), np.float32))
    np.testing.assert_allclose(painted[5, 5], (128 / 255, 128 / 255, 0.0))  # class 2: "olive"
    np.testing.assert_allclose(painted[2, 3], (0.0, 128 / 255, 0.0))  # class 1: "green"
    np.testing.assert_allclose(painted[0, 0], (1.0, 245 / 255, 238 / 255))  # class 0: "seashell"
    blob = np.zeros((8, 8, 1), np.float32)
    blob[4, 4, 0] = 1.0
    np.testing.assert_allclose(mspred_figures.blob_heatmap_image(np.concatenate([blob, blob], -1))[4, 4], 1.0)
    drawn = mspred_figures.keypoint_blobs_image(blob)
    assert drawn.shape == (10, 10, 3)
    assert np.all(drawn[0] == 0.0) and np.all(drawn[:, -1] == 0.0)  # black frame
    with pytest.raises(ValueError, match="unknown structure type 'MESH'"):
        mspred_figures.structured_image(blob, "MESH")


def test_readme_typo_alias_runs_03_evaluate():
    """The original README's usage line says ``src/3_evaluate.py``: the alias must be 03_evaluate.py itself."""
    scripts = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "mspred")
    alias = os.path.join(scripts, "3_evaluate.py")
    shown = subprocess.run([sys.executable, alias, "--helpfull"], capture_output=True, text=True, timeout=60)
    assert "03_evaluate.py" in shown.stdout and "--n_samples_per_seq" in shown.stdout
    assert "--classwise_accuracy_as_recall" in shown.stdout
    missing = subprocess.run([sys.executable, alias, "-d", "experiments/x"], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode != 0
    assert "Flag --checkpoint must have a value other than None" in missing.stderr


def test_hierarchical_gif_shows_each_levels_picture_of_the_frame():
    """Frame i shows, per level, picture (i - context) // period (clamped; the level-0 frame i itself) and the
    ground-truth context frame i in every row before that. Every picture is a uniform patch of its own colour."""
    context, periods = 2, [1, 2, 4]

    def patch(level, which, index):  # colours on the 1/255 grid, far from the borders' red and green
        return np.full((12, 12, 3), [(40 + 60 * level) / 255, (30 + 100 * which) / 255, (20 + 25 * index) / 255])

    lengths = {0: 4, 1: 2, 2: 2}
    sequences = {h: tuple([patch(h, w, k) for k in range(lengths[h])] for w in range(2)) for h in range(3)}
    frames = mspred_figures.hierarchical_gif_frames(sequences, context, periods)
    assert frames.shape == (2 * 4 + context, 600, 480, 3)

    def colours(frame):  # the set of 0xRRGGBB codes in a picture
        rgb = frame.reshape(-1, 3).astype(np.int64)
        return set(np.unique((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).tolist())

    every = {}
    for h in range(3):
        for w in range(2):
            for k in range(lengths[h]):
                r, g, b = np.round(patch(h, w, k)[0, 0] * 255).astype(np.int64)
                every[(h, w, k)] = int((r << 16) | (g << 8) | b)
    for i, frame in enumerate(frames):
        if i < context:
            expected = {every[(0, 0, i)]}
        else:
            expected = {every[(h, w, min(i if h == 0 else (i - context) // periods[h], lengths[h] - 1))]
                        for h in range(3) for w in range(2)}
        present = colours(frame) & set(every.values())
        assert present == expected, f"frame {i}"
