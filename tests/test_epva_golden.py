"""``python -m vidpred_tf.golden epva``: every public case passes; a renamed copy of a case is still found."""

import os
import re
import shutil

import pytest

from vidpred_tf.golden.__main__ import main as golden_main


@pytest.fixture(scope="module")
def epva_golden(golden_dir):
    path = golden_dir / "epva"
    if not path.is_dir():
        stop = pytest.fail if "VIDPRED_GOLDEN_DIR" in os.environ else pytest.skip
        stop(f"the goldens at {golden_dir} have no epva/ folder")
    return path


def test_every_public_epva_case_passes(epva_golden, capsys):
    code = golden_main(["epva", str(epva_golden)])
    out = capsys.readouterr().out
    assert code == 0, out[-4000:]
    passed = set(re.findall(r"^case (\S+): PASS", out, flags=re.M))
    expected = {p.name for p in epva_golden.iterdir() if p.is_dir() and any(p.glob("*.index"))}
    assert expected <= passed and "variable_inventory" in passed, out[-3000:]
    assert "FAIL" not in out
    for pattern in (r"ok   loss      loss_enc_pred_loss_scale: ", r"ok   output    out_discrim_gen_logits: ",
                    r"ok   gradient  after_step_var__timestep__predict__LSTMCell__W_0__Adam_1: ",
                    r"human_epva_readme: parameter count: .*port 23,594,482, original 23,594,482"):
        assert re.search(pattern, out), pattern


def test_a_renamed_copy_is_found(epva_golden, tmp_path, capsys):
    source = epva_golden / "small_epva"
    target = tmp_path / "another_recording"
    target.mkdir()
    renames = {"model.ckpt.index": "weights.index", "model.ckpt.data-00000-of-00001": "weights.data-00000-of-00001",
               "io.npz": "recorded.npz", "meta.json": "info.json"}
    for old, new in renames.items():
        shutil.copy(source / old, target / new)
    code = golden_main(["epva", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert re.search(r"^case another_recording: PASS", out, re.M) and "== epva: 1/1 cases passed" in out
