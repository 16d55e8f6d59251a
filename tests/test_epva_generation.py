"""The port of EPVA's generation.ipynb: presets, the PNG dumps (names, -1 shift of GT, min-max rescale), GIFs."""

import pathlib

import cv2
import numpy as np
import pytest
import tensorflow as tf
from fixtures.epva_data import write_fake_epva_records

from vidpred_tf.errors import InputError
from vidpred_tf.models.epva.config import EPVAConfig
from vidpred_tf.models.epva.network import EPVANetwork
from vidpred_tf.papers.epva import generation

NOTEBOOK = pathlib.Path(__file__).resolve().parent.parent / "notebooks" / "generation.ipynb"


def _read_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_presets_are_the_notebook_cells():
    gan = generation.published_flags("epva_gan")
    assert (gan["enc_pred_use_l2norm"], gan["enc_size"], gan["pred_noise_std"]) == (True, 64, 1.0)
    assert (gan["sequence_length"], gan["skip_num"], gan["context_frames"]) == (256, 2, 5)
    assert generation.frames_after_skip(gan) == 128
    epva = generation.published_flags("epva")
    assert (epva["enc_size"], epva["sequence_length"], epva["pred_noise_std"]) == (64, 64, 0.0)
    e2e = generation.published_flags("e2e")
    assert (e2e["enc_size"], e2e["use_legacy_vars"], e2e["sequence_length"]) == (32, True, 64)
    robot = generation.get_flags("robot")
    assert (robot["sequence_length"], robot["skip_num"], robot["context_frames"], robot["use_legacy_vars"]) == (
        20, 1, 2, True)
    assert gan["enc_keep_prob"] == gan["van_keep_prob"] == 1.0 and gan["is_training"] is False
    with pytest.raises(InputError, match="dataset_type must be 'human' or 'robot'; got 'cats'"):
        generation.get_flags("cats")
    with pytest.raises(InputError, match="unknown published model 'vae'"):
        generation.published_flags("vae")


def test_bytescale_matches_scipy_misc_imsave_rule():
    image = np.array([[[0.2, 0.4, 0.6]], [[0.3, 0.5, 0.7]]], np.float32)  # min 0.2, max 0.7
    expected = np.floor((image - 0.2) / 0.5 * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(generation.bytescale(image), expected)
    assert generation.bytescale(image).min() == 0 and generation.bytescale(image).max() == 255
    np.testing.assert_array_equal(generation.bytescale(np.full((2, 2, 3), 0.5)), np.zeros((2, 2, 3), np.uint8))


def test_save_imgs_names_shift_and_contents(tmp_path):
    rng = np.random.default_rng(0)
    runs = [{"gt_images": rng.uniform(0.1, 0.9, (4, 8, 8, 3)).astype(np.float32),
             "van_out_all": rng.uniform(0.3, 0.6, (3, 8, 8, 3)).astype(np.float32),
             "mask_out_all": rng.uniform(0.0, 1.0, (3, 8, 8, 1)).astype(np.float32)} for _ in range(2)]
    gt_dir = generation.save_imgs(runs, tmp_path / "human_gt", "gt_images")
    assert sorted(p.name for p in (gt_dir / "1").iterdir()) == ["frame-1.png", "frame0.png", "frame1.png",
                                                                "frame2.png"]
    # GT frame k+1 and prediction k share a file name.
    np.testing.assert_array_equal(_read_rgb(gt_dir / "1" / "frame0.png"), generation.bytescale(runs[1]["gt_images"][1]))
    van_dir = generation.save_imgs(runs, tmp_path / "human_epva", "van_out_all")
    assert sorted(p.name for p in (van_dir / "0").iterdir()) == ["frame0.png", "frame1.png", "frame2.png"]
    written = _read_rgb(van_dir / "0" / "frame2.png")
    np.testing.assert_array_equal(written, generation.bytescale(runs[0]["van_out_all"][2]))
    assert written.min() == 0 and written.max() == 255  # rescaled although the values span only 0.3..0.6
    mask = _read_rgb(generation.save_imgs(runs, tmp_path / "m", "mask_out_all", gif=False) / "0" / "frame0.png")
    assert (mask[..., 0] == mask[..., 2]).all() and not (tmp_path / "m" / "0.gif").exists()
    plain = _read_rgb(generation.save_imgs(runs, tmp_path / "plain", "van_out_all", rescale=False) / "0" / "frame0.png")
    np.testing.assert_array_equal(plain, np.floor(runs[0]["van_out_all"][0] * 255 + 0.5).astype(np.uint8))
    assert (tmp_path / "human_epva" / "0.gif").read_bytes()[:3] == b"GIF"
    with pytest.raises(InputError, match="run 0 has no output 'van_on_enc_all'"):
        generation.save_imgs(runs, tmp_path / "x", "van_on_enc_all")


def test_save_cell_uses_the_original_folder_names(tmp_path):
    runs = [{"gt_images": np.random.default_rng(1).random((3, 4, 4, 3)),
             "van_out_all": np.random.default_rng(2).random((2, 4, 4, 3)),
             "mask_out_all": np.random.default_rng(3).random((2, 4, 4, 3))}]
    generation.save_cell(runs, "epva_gan", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "human_epva_wgan_frames", "human_epva_wgan_masks", "human_gt"]


TINY_FLAGS = {"enc_size": 8, "van_first_depth": 4, "vgg_width_divisor": 16, "sequence_length": 14}


def _tiny_model_dir(tmp_path):
    """Random weights of the tiny 'epva' cell saved as .weights.h5, and two fake human test records."""
    flags = generation.published_flags("epva", **TINY_FLAGS)
    network = EPVANetwork(EPVAConfig.from_flags(flags))
    frames = generation.frames_after_skip(flags)
    network({"images": tf.zeros((1, frames, 64, 64, 3)), "actions": tf.zeros((1, frames, 5)),
             "joint_poses": tf.zeros((1, frames, 12))}, training=False, seed=tf.constant([0, 0], tf.int32))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    network.save_weights(str(model_dir / "epva.weights.h5"))
    write_fake_epva_records(str(tmp_path / "humans-test-00000"), "human", num_examples=2, num_frames=14)
    return flags, network, model_dir


def test_get_images_and_the_notebook_on_a_tiny_model(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    flags, network, model_dir = _tiny_model_dir(tmp_path)
    pattern = str(tmp_path / "humans-test*")
    examples = generation.get_images(generation.load_network(model_dir, flags),
                                     generation.deterministic_reader(pattern, flags, batch_size=2), num_to_eval=5)
    assert len(examples) == 2
    first = examples[0]
    assert first["gt_images"].shape == (7, 64, 64, 3) and first["van_out_all"].shape == (6, 64, 64, 3)
    assert first["mask_out_all"].shape == (6, 64, 64, 3) and first["van_on_enc_all"].shape == (6, 64, 64, 3)
    np.testing.assert_allclose(first["mask_out_all"].max(axis=(1, 2, 3)), 1.0, atol=1e-5)  # per-image max
    # The restored network is the saved one: its own forward on the same batch gives the same frames.
    batch = next(iter(generation.deterministic_reader(pattern, flags, batch_size=2)))
    direct = network(dict(batch), training=False, seed=np.array([0, 0], np.int32))
    np.testing.assert_allclose(first["van_out_all"], np.asarray(direct["van_out_all"][0]), atol=1e-5)

    base = tmp_path / "out"
    monkeypatch.setenv("EPVA_MODEL", "epva")
    monkeypatch.setenv("EPVA_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("EPVA_DATA_PATTERN", pattern)
    monkeypatch.setenv("EPVA_BASE_DIR", str(base))
    monkeypatch.setenv("EPVA_BATCH_SIZE", "2")
    monkeypatch.setenv("EPVA_SEQUENCE_LENGTH", "14")
    monkeypatch.setenv("EPVA_MODEL_FLAGS", "enc_size=8,van_first_depth=4,vgg_width_divisor=16")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert any("parameters" in cell.metadata.get("tags", []) for cell in notebook.cells)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    mimes = [mime for output in outputs for mime in output.get("data", {})]
    assert "image/gif" in mimes and "image/png" in mimes
    text = "".join(output.get("text", "") for output in outputs)
    assert "epva: 7 frames per example, context 5" in text and "2 examples" in text
    assert sorted(p.name for p in (base / "human_epva" / "1").iterdir()) == [f"frame{k}.png" for k in range(6)]
    np.testing.assert_array_equal(_read_rgb(base / "human_epva" / "0" / "frame3.png"),
                                  generation.bytescale(first["van_out_all"][3]))
