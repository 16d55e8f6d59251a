"""EPVA prediction_train.py flags: the original's names, types and defaults (spec 2.2), the README aliases, and
every flagfile of flags/epva parsing with the entry point's flags. absl entry points define their flags on import
(once per process), so the parsing runs in a subprocess."""

import json
import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parent.parent
FLAG_DIR = REPO / "flags" / "epva"
README_COMMANDS = ("human_epva_gan", "human_epva_multi_gpu", "human_epva_single_gpu", "human_e2e", "robot_e2e",
                   "robot_epva", "robot_individual")

# Spec 2.2: every original flag with its default.
SPEC_DEFAULTS = dict(
    model_mode="e2e", pose_dim=5, joint_pos_dim=7, prefetch_enabled=True, prefetch_dataset_buffer_size=268435456,
    cycle_length=64, block_length=None, num_parallel_calls=128, initial_shuffle_buffer_size=1024,
    followup_shuffle_buffer_size=128, enc_keep_prob=1.0, van_keep_prob=1.0, enc_noise_stddev=0.0, is_training=False,
    enc_pred_use_l1_loss=False, color_data_augment=False, encoder_grey_in=False, enc_size=64, pred_noise_std=0.0,
    discrim_steps_per_pred=5, use_wgan=True, discrim_context=1, sequence_length=10, skip_num=1,
    dataset_type="human", data_dir="gs://unsupervised-hierarch-video/data", model_dir="", event_log_dir="",
    train_steps=4800000, iterations=100, num_shards=8, context_frames=2, data_pattern="*train*", batch_size=8,
    imgnet_pretrain=False, epv_pretrain_ckpt="gs://unsupervised-hierarch-video/pretrained_models/epva_human/",
    per_host_input_for_training=True, enc_learning_rate=1e-5, pred_learning_rate=3e-4, van_learning_rate=3e-5,
    discrim_learning_rate=1e-2, all_learning_rate=1e-5, enc_pred_loss_scale=1e-2, lstm_state_noise_stddev=0.0,
    enc_pred_loss_scale_delay=0.0, enc_pred_use_l2norm=False, pose_weight=1.0, van_r_weight=0.01,
    clip_gradient_norm=0.0, use_tpu=False, use_estimator=False, run_mode="train", ps_tasks=0,
    save_summary_steps=100, save_checkpoints_secs=60, task=0, master="", startup_delay_secs=15,
    use_image_summary=True, debug=False, use_legacy_vars=False)
# What flags/epva/README.md says to add on the command line.
PLACEHOLDERS = ("--data_dir=/data/epva", "--event_log_dir=/logs/run", "--model_dir=/logs/run")
SPEC_TYPES = {"string": str, "int": int, "float": float, "bool": bool}

# Parses each argv list with the entry point's flags, resolves the aliases, runs the flag checks and prints
# {values, types, warnings, error} per argv as JSON.
PARSER = r"""
import json, sys
from vidpred_tf.papers.epva import prediction_train as entry
results = []
for argv in json.loads(sys.argv[1]):
    entry.FLAGS.unparse_flags()
    entry.FLAGS(["prediction_train.py", *[a for a in argv if a != "--warm"]])
    warnings, error = [], None
    entry.resolve_aliases(entry.FLAGS, say=warnings.append)
    try:
        entry.check_flags(entry.FLAGS)
    except ValueError as err:
        error = str(err)
    try:
        warm = entry.warm_start_source(entry.FLAGS, say=warnings.append) if "--warm" in argv[-1:] else None
    except ValueError as err:
        warm = str(err)
    module_flags = entry.FLAGS.get_key_flags_for_module(entry.__name__)
    results.append({"values": {f.name: f.value for f in module_flags},
                    "types": {f.name: f.flag_type() for f in module_flags},
                    "warnings": warnings, "error": error, "warm": warm})
print(json.dumps(results))
"""


def _parse(*argvs):
    process = subprocess.run([sys.executable, "-c", PARSER, json.dumps([list(a) for a in argvs])],
                             capture_output=True, text=True, timeout=120, cwd=str(REPO))
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parsed():
    names = [f"{kind}_{command}" for command in README_COMMANDS for kind in ("train", "eval")]
    results = _parse([], *[[f"--flagfile={FLAG_DIR / (name + '.flags')}", *PLACEHOLDERS] for name in names],
                     ["--model_mode=individual", "--is_training", "--event_log_dir=/tmp/x"],
                     ["--model_mode=bogus"])
    return {"defaults": results[0], **dict(zip(names, results[1:])), "individual_64": results[-2],
            "bogus": results[-1]}


def test_every_original_flag_has_the_spec_name_type_and_default(parsed):
    values, types = parsed["defaults"]["values"], parsed["defaults"]["types"]
    for name, default in SPEC_DEFAULTS.items():
        assert name in values, f"flag --{name} is missing"
        assert values[name] == default, name
        if default is not None:
            assert isinstance(default, SPEC_TYPES[types[name]]), (name, types[name])
    assert types["train_steps"] == "int" and types["clip_gradient_norm"] == "float"
    assert types["block_length"] == "int" and types["use_wgan"] == "bool"
    # The port-only flags and the README aliases (unset by default).
    assert values["vgg16_checkpoint"] == "gs://unsupervised-hierarch-video/pretrained_models/vgg_16.ckpt"
    assert values["enc_size_set"] is None and values["pred_learning_rate_map"] is None
    assert values["eval_once"] is False and values["strategy"] == "auto"


def test_no_flagfile_exists_without_a_test():
    expected = {f"{kind}_{command}.flags" for command in README_COMMANDS for kind in ("train", "eval")}
    assert {path.name for path in FLAG_DIR.glob("*.flags")} == expected


@pytest.mark.parametrize("command,enc_size,pred_lr", [
    ("human_epva_gan", 64, 1e-6), ("human_epva_multi_gpu", 64, 3e-4), ("human_epva_single_gpu", 64, 3e-4),
    ("human_e2e", 64, 3e-4), ("robot_e2e", 16, 3e-4), ("robot_epva", 32, 3e-4), ("robot_individual", 12, 3e-4)])
def test_readme_flagfiles_parse_with_the_aliases_resolved(parsed, command, enc_size, pred_lr):
    for kind in ("train", "eval"):
        result = parsed[f"{kind}_{command}"]
        values = result["values"]
        assert result["error"] is None, result["error"]
        assert values["enc_size"] == enc_size and values["pred_learning_rate"] == pytest.approx(pred_lr)
        assert any("--enc_size_set" in line and f"--enc_size={enc_size}" in line for line in result["warnings"])
        assert values["run_mode"] == kind
        assert values["is_training"] is (kind == "train")
    train, evaluation = parsed[f"train_{command}"]["values"], parsed[f"eval_{command}"]["values"]
    assert evaluation["data_pattern"] == "*validation*" and train["data_pattern"] == "*train*"
    assert evaluation["enc_keep_prob"] == 1.0 and evaluation["van_keep_prob"] == 1.0
    assert train["enc_keep_prob"] in (0.65, 0.75)
    # Only the EPVA-GAN command keeps the original's default warm start from the published EPVA model.
    expected_ckpt = SPEC_DEFAULTS["epv_pretrain_ckpt"] if command == "human_epva_gan" else ""
    assert train["epv_pretrain_ckpt"] == expected_ckpt


def test_readme_values_reach_the_flags(parsed):
    gan = parsed["train_human_epva_gan"]["values"]
    assert (gan["model_mode"], gan["batch_size"], gan["sequence_length"], gan["skip_num"], gan["context_frames"]) == (
        "epva_gan", 16, 64, 2, 5)
    assert gan["discrim_learning_rate"] == pytest.approx(3e-6) and gan["enc_pred_loss_scale"] == 10.0
    assert gan["clip_gradient_norm"] == pytest.approx(0.01) and gan["enc_pred_use_l2norm"] is True
    single = parsed["train_human_epva_single_gpu"]["values"]
    assert single["all_learning_rate"] == pytest.approx(1e-4) and single["train_steps"] == 120000
    assert single["enc_pred_loss_scale_delay"] == 2e4 and single["imgnet_pretrain"] is True


def test_individual_mode_needs_enc_size_12_and_bad_modes_are_named(parsed):
    assert parsed["train_robot_individual"]["error"] is None  # --enc_size_set 12 now reaches enc_size
    assert parsed["individual_64"]["error"] == (
        "--model_mode=individual needs --enc_size=12 (the pose-sized code), got --enc_size=64 (the original "
        "crashes with a NameError here)")
    assert parsed["bogus"]["error"].startswith("--model_mode='bogus' is not one of individual, epva")


def test_warm_start_is_said_and_an_unreadable_checkpoint_is_one_error_naming_the_flag(tmp_path):
    folder = tmp_path / "epva"
    tf.train.Checkpoint(v=tf.Variable(1.0)).save(str(folder / "model.ckpt"))
    default, local, vgg_missing, scratch = _parse(
        ["--warm"], [f"--epv_pretrain_ckpt={folder}", "--warm"],
        ["--epv_pretrain_ckpt=", "--imgnet_pretrain", f"--vgg16_checkpoint={tmp_path / 'none.ckpt'}", "--warm"],
        ["--epv_pretrain_ckpt=", "--warm"])
    assert default["warm"] == (
        "--epv_pretrain_ckpt=gs://unsupervised-hierarch-video/pretrained_models/epva_human/: no checkpoint can be "
        "read there (the default: the original's published EPVA human model; download it and pass its local "
        "folder); pass --epv_pretrain_ckpt='' to train without a warm start")
    assert local["warm"] == ["epva", str(folder / "model.ckpt-1")]
    assert local["warnings"] == [f"warm start: encoder, predictor and VAN from {folder / 'model.ckpt-1'} "
                                 "(--epv_pretrain_ckpt)"]
    assert vgg_missing["warm"].startswith(f"--vgg16_checkpoint={tmp_path / 'none.ckpt'}: no checkpoint can be read")
    assert scratch["warm"] is None
    assert scratch["warnings"] == ["no warm start: --epv_pretrain_ckpt is empty and --imgnet_pretrain is off"]
