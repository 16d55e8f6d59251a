"""``python -m vidpred_tf.golden savp``: every public case passes; cases are found by their files under any name;
a perturbed recording fails naming what differs; the checkpoint file must hold exactly the model's variables."""

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf

from vidpred_tf.convert.tf1 import write_tf1_checkpoint
from vidpred_tf.golden.__main__ import main as golden_main


@pytest.fixture(scope="module")
def savp_golden(golden_dir):
    path = golden_dir / "savp"
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no savp/ folder")
    return path


def _run(capsys, path):
    code = golden_main(["savp", str(path)])
    out = capsys.readouterr().out
    return code, out


def test_every_public_savp_case_passes(savp_golden, capsys):
    code, out = _run(capsys, savp_golden)
    assert code == 0, out[-4000:]
    inventories = {p.stem for p in (savp_golden / "inventory").glob("*__*.json")}
    passed = set(re.findall(r"^case (\S+): PASS", out, flags=re.M))
    assert passed == inventories | {"savp_small", "deterministic_action_small"}, out[-3000:]
    assert "FAIL" not in out and f"== savp: {len(passed)}/{len(passed)} cases passed" in out
    # Every recorded generator output, both discriminator passes, each loss term and the gradients have a line.
    for pattern in (r"ok   output    out/gen_images_samples: max_abs=\S+", r"ok   output    out_post/discrim_video_sn_"
                    r"feature6_enc_fake: ", r"ok   loss      g_losses_post/gen_video_sn_vae_gan_feature_cdist_loss: ",
                    r"ok   loss      g_losses/gen_kl_loss: .*cancelling sum", r"ok   gradient  dgrad/discriminator/",
                    r"ok   gradient  ggrad/generator/encoder/layer_1/conv2d/kernel: ",
                    r"conv bias under an instance norm has gradient exactly 0",
                    r"ok   exact     discriminator: parameter count: .*port 10,288,002, original 10,288,002"):
        assert re.search(pattern, out), pattern


def test_cases_under_other_names_are_found(savp_golden, tmp_path, capsys):
    os.symlink(savp_golden / "deterministic_action_small", tmp_path / "another_recording")
    inventory = tmp_path / "counts"
    inventory.mkdir()
    shutil.copy(savp_golden / "inventory" / "kth__ours_vae_l1.json", inventory / "my_config.json")
    (inventory / "notes.json").write_text(json.dumps({"not": "an inventory"}))
    code, out = _run(capsys, tmp_path)
    assert code == 0, out[-3000:]
    assert re.search(r"^case another_recording: PASS", out, re.M) and re.search(r"^case my_config: PASS", out, re.M)
    assert "== savp: 2/2 cases passed" in out


def test_a_perturbed_recording_fails_and_names_the_key(savp_golden, tmp_path, capsys):
    case = tmp_path / "deterministic"
    shutil.copytree(savp_golden / "deterministic_action_small", case)
    with np.load(case / "golden.npz") as archive:
        arrays = dict(archive)
    arrays["out/gen_states"] = arrays["out/gen_states"] + 1e-3
    arrays["g_losses/gen_l2_loss"] = arrays["g_losses/gen_l2_loss"] * 1.01
    os.chmod(case / "golden.npz", 0o644)
    np.savez(case / "golden.npz", **arrays)
    code, out = _run(capsys, case)
    assert code == 1
    failed = {line.split()[2].rstrip(":") for line in out.splitlines() if line.strip().startswith("FAIL")}
    assert failed == {"out/gen_states", "g_losses/gen_l2_loss"}, out[-3000:]


def test_the_checkpoint_file_must_hold_exactly_the_models_variables(savp_golden, tmp_path, capsys):
    case = tmp_path / "extra_variable"
    shutil.copytree(savp_golden / "deterministic_action_small", case)
    for path in case.glob("model-0.*"):
        os.chmod(path, 0o644)
    reader = tf.train.load_checkpoint(str(case / "model-0"))
    values = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    values["generator/rnn/savp_cell/h0/extra/kernel"] = np.zeros((2, 2), np.float32)
    write_tf1_checkpoint(str(case / "model-0"), values)
    code, out = _run(capsys, case)
    assert code == 1
    assert re.search(r"FAIL .*checkpoint file holds exactly the model's variables.*only in file: "
                     r"\['generator/rnn/savp_cell/h0/extra/kernel'\]", out), out[-3000:]
