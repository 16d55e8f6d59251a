"""The `vidpred` command: help, unknown commands, and the dispatch of demo, train, convert, golden and list."""

import json
import os
import re
import subprocess
import sys

import pytest
from fixtures.fake_paper import forget_fake_paper, write_fake_paper

import vidpred_tf.papers
from vidpred_tf.commands import main as main_module
from vidpred_tf.commands.main import COMMANDS
from vidpred_tf.commands.main import main as vidpred
from vidpred_tf.models.e3d.config import MODEL_NAMES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(*args, timeout=120, env=None):
    """``python -m vidpred_tf.commands ARGS`` in a fresh process (what the console script runs)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"} if env is None else env
    return subprocess.run([sys.executable, "-m", "vidpred_tf.commands", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env=env)


def test_console_script_is_declared_and_resolves():
    setup_text = open(os.path.join(REPO, "setup.py")).read()
    match = re.search(r'"vidpred=([\w.]+):(\w+)"', setup_text)
    assert match, "setup.py must declare the vidpred console script"
    module, function = match.groups()
    assert (module, function) == ("vidpred_tf.commands.main", "run")
    assert callable(getattr(main_module, function))


def test_help_lists_every_command(capsys):
    assert vidpred(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "train", "predict", "evaluate", "convert", "golden", "list"):
        assert re.search(rf"^  {command}\s+\S", out, re.MULTILINE), (command, out)
    assert set(COMMANDS) == {"demo", "train", "predict", "evaluate", "convert", "golden", "list"}
    assert vidpred([]) == 2  # no command is a usage error, with the same help
    assert "commands:" in capsys.readouterr().out


def test_unknown_command_is_a_one_line_usage_error(capsys):
    assert vidpred(["fly"]) == 2
    error = capsys.readouterr().err
    assert error.strip() == ("vidpred: error: unknown command 'fly'; commands: demo, train, predict, evaluate, "
                             "convert, golden, list")


@pytest.mark.parametrize("command,words", [
    ("predict", ["--checkpoint", "preset:NAME", "--input", "--context", "--horizon", "--samples", "--output_dir"]),
    ("evaluate", ["--checkpoint", "preset:NAME", "--dataset", "--samples", "--metrics", "--copy_last",
                  "--output_dir"]),
    ("list", ["papers", "models", "datasets", "presets", "--json"]),
    ("train", ["--paper NAME", "e3d, epva, hierchvid, mspred, savp"]),
    ("convert", ["e3d", "epva", "hierchvid", "lpips", "i3d", "mspred", "savp"]),
])
def test_subcommand_help(command, words, capsys):
    assert vidpred([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"vidpred {command}" in out
    for word in words:
        assert word in out, (command, word)


def test_demo_dispatches_to_the_demo_flags():
    process = run_module("demo", "--helpshort")
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.startswith("usage: vidpred demo")
    for flag in ("--out", "--minutes", "--model", "--max_steps"):
        assert flag in process.stdout, flag
    bad = run_module("demo", "--minutes", "soon")
    assert bad.returncode == 2
    assert "vidpred demo: error:" in bad.stderr and "soon" in bad.stderr


def test_train_passes_every_other_argument_to_the_papers_entry_point(tmp_path, monkeypatch, capsys):
    write_fake_paper(tmp_path, name="fake_train_paper")
    monkeypatch.setattr(vidpred_tf.papers, "__path__",
                        list(vidpred_tf.papers.__path__) + [str(tmp_path / "vidpred_tf" / "papers")])
    record = tmp_path / "argv.json"
    try:
        code = vidpred(["train", f"--record={record}", "--paper", "fake_train_paper", "--fake_switch", "True",
                        "--fake_steps=7", "positional"])
        help_code = vidpred(["train", "--paper=fake_train_paper", "--help"])  # the entry point's own flags
    finally:
        forget_fake_paper("fake_train_paper")
    assert code == 3  # the entry point's exit status
    assert json.loads(record.read_text()) == {"argv": ["positional"], "fake_steps": 7, "fake_switch": True}
    assert help_code == 0
    assert "--fake_steps" in capsys.readouterr().out

    assert vidpred(["train", "--paper", "nosuchpaper"]) == 2
    assert "--paper='nosuchpaper' has no training entry point; papers: " in capsys.readouterr().err
    assert vidpred(["train", "--lr", "0.1"]) == 2
    assert "--paper is required" in capsys.readouterr().err


def test_train_runs_the_real_e3d_script():
    process = run_module("train", "--paper", "e3d", "--helpshort")
    assert process.returncode == 0, process.stderr[-2000:]
    for flag in ("--train_data_paths", "--model_name", "--cell_kernel"):
        assert flag in process.stdout, flag


def test_convert_dispatches_to_the_converters(capsys):
    assert vidpred(["convert"]) == 2
    assert vidpred(["convert", "torch2tf"]) == 2
    assert ("unknown converter 'torch2tf'; converters: e3d, epva, hierchvid, mspred, savp, hierchvid_perceptual, i3d, "
            "lpips") in capsys.readouterr().err
    for name, flag in (("e3d", "--to_tf1"), ("lpips", "--backbone"), ("i3d", "--num_classes")):
        assert vidpred(["convert", name, "--help"]) == 0
        assert flag in capsys.readouterr().out, name
    # The converter's own usage errors keep argparse's status 2.
    assert vidpred(["convert", "e3d", "--output", "x.weights.h5"]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_golden_dispatches_to_the_golden_runner(tmp_path, capsys):
    assert vidpred(["golden", "not_a_paper", str(tmp_path)]) == 2
    assert "unknown paper 'not_a_paper'" in capsys.readouterr().err
    assert vidpred(["golden", "e3d", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert vidpred(["golden", "e3d", str(tmp_path)]) == 2  # an empty folder holds no case
    assert "no e3d golden case" in capsys.readouterr().err


def test_list_reads_the_registries(capsys):
    from vidpred_tf.data.registry import list_readers

    assert vidpred(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"papers", "models", "datasets", "presets"}
    # the ported ones, by their packages
    assert set(listing["papers"]) == {"baseline", "e3d", "epva", "hierchvid", "mspred", "savp"}
    epva = listing["papers"]["epva"]
    assert epva["train"] and epva["converter"] and epva["golden"] and epva["predict"]
    assert {"human36m_epva", "google_robot_epva"} <= set(listing["datasets"])
    e3d = listing["papers"]["e3d"]
    assert e3d["original"] == "kevinstan/video_prediction"
    assert e3d["train"] and e3d["converter"] and e3d["golden"] and e3d["predict"]
    assert listing["papers"]["baseline"]["entry_points"] == ["demo"] and not listing["papers"]["baseline"]["train"]
    assert listing["models"]["baseline"] == ["convlstm", "dna"]
    assert listing["models"]["e3d"] == list(MODEL_NAMES)
    assert listing["datasets"] == list_readers()
    assert {"tfrecord", "moving_mnist", "mnist_test_seq"} <= set(listing["datasets"])
    from vidpred_tf.presets import list_presets

    assert listing["presets"] == list_presets()

    assert vidpred(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("datasets") and "tfrecord" in out and "papers:" not in out
    assert vidpred(["list", "everything"]) == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err


def test_start_up_noise_is_filtered_and_everything_else_kept(capfd):
    from vidpred_tf.quiet import start_up_noise_filtered

    # What TensorFlow 2.21 prints on import on an AVX-512 Xeon without a CUDA driver (which lines appear depends
    # on the CPU: the filter must take every one of them).
    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             "I0000 00:00:1796297832.870921    2313 port.cc:153] oneDNN custom operations are on. You may see "
             "slightly different numerical results due to floating-point round-off errors from different "
             "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n"
             "I0000 00:00:1796298594.810723   10142 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
             "to use available CPU instructions in performance-critical operations.\n"
             "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AMX_BF16 FMA, in other operations, "
             "rebuild TensorFlow with the appropriate compiler flags.\n"
             "I0000 00:00:1795355056.025167   25775 cudart_stub.cc:31] Could not find cuda drivers on your "
             "machine, GPU will not be used.\n"
             "E0000 00:00:1795355058.241673   25775 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
             "error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
    with start_up_noise_filtered():
        os.write(2, b"first real line\n")
        os.write(2, noise.encode())  # as the C++ side writes it: straight to file descriptor 2
        os.write(2, b"W0000 00:00:1796298594.810723   10142 loader.cc:12] a real warning\n")
        os.write(2, b"second real line\n")
    captured = capfd.readouterr()
    assert captured.err == ("first real line\nW0000 00:00:1796298594.810723   10142 loader.cc:12] a real warning\n"
                            "second real line\n")
    with pytest.raises(ZeroDivisionError):  # an error inside still shows what was written before it
        with start_up_noise_filtered():
            os.write(2, b"before the error\n")
            1 / 0
    assert capfd.readouterr().err == "before the error\n"


def test_list_and_help_print_no_tensorflow_start_up_noise():
    # As a user runs it: no TF_CPP_MIN_LOG_LEVEL of their own (the command sets what it needs).
    user_env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    listed = run_module("list", "--json", env=user_env)
    assert listed.returncode == 0, listed.stderr
    assert set(json.loads(listed.stdout)) == {"papers", "models", "datasets", "presets"}
    assert listed.stderr == ""  # no cudart_stub / absl::InitializeLog lines on a machine without CUDA
    helped = run_module("predict", "--help")
    assert helped.returncode == 0 and "--checkpoint" in helped.stdout and helped.stderr == ""


def test_golden_usage_errors_come_before_tensorflow_in_one_line(tmp_path):
    unknown = run_module("golden", "not_a_paper", str(tmp_path), timeout=60)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("vidpred golden: error: unknown paper 'not_a_paper'")
    assert "\n" not in unknown.stderr.strip()


@pytest.mark.parametrize("flag", ["--help", "--helpshort", "--helpfull", "-h"])
def test_train_help_without_paper_in_every_absl_spelling(flag, capsys):
    assert vidpred(["train", flag]) == 0
    assert "usage: vidpred train --paper NAME" in capsys.readouterr().out
