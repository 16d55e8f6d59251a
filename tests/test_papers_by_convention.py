"""Papers are found by convention: a package ``vidpred_tf/papers/<name>/`` with a descriptor is seen by ``vidpred
list``, ``vidpred train``, ``vidpred predict``, ``vidpred convert``, the dataset registry and the golden command, and
nothing else in the package is edited. A descriptor that names a missing module is an error naming it."""

import ast
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from fixtures.fake_paper import forget_fake_paper, write_fake_checkpoint, write_fake_golden_case, write_fake_paper

import vidpred_tf.papers
from vidpred_tf import papers
from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.data import registry
from vidpred_tf.golden.__main__ import main as golden_main
from vidpred_tf.inference import import_adapters

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(root, *args):
    """``python -m ...`` with the fake paper's folder on the path after the checkout (as a plugin would be)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(root)]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=str(root), env=env,
                          timeout=600)


@pytest.fixture
def fake_paper(tmp_path, monkeypatch):
    """The fake paper, added to this process's papers too (as ``sys.path`` would at start-up)."""
    write_fake_paper(tmp_path)
    monkeypatch.setattr(vidpred_tf.papers, "__path__",
                        list(vidpred_tf.papers.__path__) + [str(tmp_path / "vidpred_tf" / "papers")])
    yield tmp_path
    forget_fake_paper("fakepaper")


def test_the_shipped_papers_have_descriptors_whose_modules_exist():
    found = papers.all_papers()
    assert {"baseline", "e3d", "mspred"} <= set(found)
    for name, paper in found.items():
        assert paper.name == name
        for part in ("predictor", "converter", "golden"):
            paper.module(part)  # raises when a descriptor names a module that is not there
        for script, target in paper.entry_points.items():
            # Entry modules define absl flags when imported (two of them in one process would clash): read, not run.
            module, _, function = target.partition(":")
            spec = importlib.util.find_spec(module)
            assert spec is not None, (name, script, module)
            tree = ast.parse(pathlib.Path(spec.origin).read_text())
            assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, target
    assert found["e3d"].original == "kevinstan/video_prediction"
    assert found["mspred"].original == "AIS-Bonn/MSPred"


def test_a_fake_paper_on_sys_path_is_listed_by_the_command(tmp_path):
    # In a fresh process, as a plugin would be found: a vidpred_tf/papers/<name>/ folder on sys.path.
    write_fake_paper(tmp_path)
    listed = run(tmp_path, "-m", "vidpred_tf.commands", "list", "--json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    listing = json.loads(listed.stdout)
    fake = listing["papers"]["fakepaper"]
    assert fake["original"] == "example/fakepaper" and fake["train"] and fake["predict"] and fake["golden"]
    assert listing["models"]["fakepaper"] == ["copy_last_fake"]
    assert listing["datasets"]["fake_fakepaper"] == "a reader of the fake paper"


def test_a_fake_paper_trains_predicts_converts_and_checks_goldens(fake_paper, capsys):
    tmp_path = fake_paper
    record = tmp_path / "record.json"
    code = vidpred(["train", "--paper", "fakepaper", f"--record={record}", "--fake_steps", "4", "--fake_switch",
                    "True"])
    assert code == 3  # the entry point's status
    assert json.loads(record.read_text()) == {"argv": [], "fake_steps": 4, "fake_switch": True}

    checkpoint = write_fake_checkpoint(tmp_path / "ckpt", context=2, horizon=3, size=8)
    clip = np.random.default_rng(0).random((5, 8, 8, 1)).astype(np.float32)
    np.save(tmp_path / "clip.npy", clip)
    assert vidpred(["predict", "--checkpoint", str(checkpoint), "--input", str(tmp_path / "clip.npy"),
                    "--output_dir", str(tmp_path / "out")]) == 0, capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "prediction.json").read_text())
    assert summary["predictor"]["paper"] == "fakepaper" and summary["horizon"] == 3
    np.testing.assert_allclose(np.load(tmp_path / "out" / "prediction.npy")[0], np.repeat(clip[1:2], 3, axis=0),
                               atol=1e-6)

    capsys.readouterr()
    assert vidpred(["convert", "fakepaper", "--from", "x"]) == 0
    assert "fake converter got --from x" in capsys.readouterr().out

    frames = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    write_fake_golden_case(tmp_path / "golden" / "good", frames, np.repeat(frames[-1:], 2, axis=0))
    assert golden_main(["fakepaper", str(tmp_path / "golden")]) == 0
    assert "== fakepaper: 1/1 cases passed" in capsys.readouterr().out
    write_fake_golden_case(tmp_path / "golden" / "bad", frames, np.repeat(frames[:1], 2, axis=0))
    assert golden_main(["fakepaper", str(tmp_path / "golden")]) == 1
    assert "== fakepaper: 1/2 cases passed" in capsys.readouterr().out


def test_the_registries_of_this_process_see_an_added_paper(fake_paper):
    assert "fakepaper" in papers.paper_names()
    assert import_adapters()["fakepaper"].models == ("copy_last_fake",)
    examples = list(registry.get_reader("fake_fakepaper")(num_videos=2, length=3, size=4))
    assert len(examples) == 2 and examples[0]["images"].shape == (3, 4, 4, 1)


def test_a_descriptor_naming_a_missing_module_is_an_error_not_a_silently_dropped_paper(tmp_path, monkeypatch):
    write_fake_paper(tmp_path, name="brokenpaper", predictor_module="no_such_module")
    monkeypatch.setattr(vidpred_tf.papers, "__path__",
                        list(vidpred_tf.papers.__path__) + [str(tmp_path / "vidpred_tf" / "papers")])
    with pytest.raises(ImportError, match="predictor of paper brokenpaper names module "
                                          "vidpred_tf.papers.brokenpaper.no_such_module, which does not exist"):
        import_adapters()


def test_a_package_without_a_descriptor_is_named(tmp_path, monkeypatch):
    package = tmp_path / "vidpred_tf" / "papers" / "nodescriptor"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""No PAPER here."""\n')
    monkeypatch.setattr(vidpred_tf.papers, "__path__",
                        list(vidpred_tf.papers.__path__) + [str(tmp_path / "vidpred_tf" / "papers")])
    with pytest.raises(TypeError, match="vidpred_tf.papers.nodescriptor .* defines no PAPER = Paper"):
        papers.all_papers()
    with pytest.raises(Exception,
                       match="unknown paper 'nothere'; papers: baseline, e3d, epva, hierchvid, mspred, nodescriptor, "
                             "savp"):
        papers.get_paper("nothere")
