"""scripts/bench_e3d.py, scripts/bench_baseline.py and scripts/bench_mspred.py at tiny settings: the JSON they print
is complete and self-consistent (rates against times and batch sizes, the XLA ratio against the two results). No
timing is asserted: speed lives in the benchmarks themselves."""

import json
import math
import os
import pathlib
import statistics
import subprocess
import sys

import keras
import pytest
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parent.parent
BENCH_E3D = str(REPO / "scripts" / "bench_e3d.py")
BENCH_BASELINE = str(REPO / "scripts" / "bench_baseline.py")
BENCH_MSPRED = str(REPO / "scripts" / "bench_mspred.py")
BENCH_SAVP = str(REPO / "scripts" / "bench_savp.py")
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
TIMING = ["--steps", "2", "--warmup", "1", "--repeats", "2"]
E3D_TINY = ["--num_hidden", "8", "--batch_size", "1", "--img_width", "8", "--patch_size", "2",
            "--total_length", "4", "--input_length", "2", "--jit_compile", "off"]
BASELINE_TINY = ["--batch_size", "2", "--image_size", "16", "--seq_length", "4", "--context_frames", "2",
                 "--encoder_filters", "4,8", "--lstm_filters", "8", "--model", "dna", "--kernels", "both"]
MSPRED_TINY = ["--batch_size", "2", "--context", "3", "--num_preds", "2", "--num_filters", "4", "--hidden_dim", "8",
               "--latent_hidden_dim", "4", "--jit_compile", "off"]
SAVP_TINY = ["--image_size", "32", "--sequence_length", "5", "--jit_compile", "off",
             "--model_hparams", "ngf=4,nef=4,ndf=2,nz=2,num_samples=1,clip_length=4"]


def _run(script, args, timeout=600):
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=ENV,
                          timeout=timeout, cwd=str(REPO))


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The benchmarks at once: their tracing is mostly single-threaded, so together they take little longer
    than the slowest one alone."""
    output = tmp_path_factory.mktemp("bench") / "e3d.json"
    commands = {"e3d": [BENCH_E3D, *TIMING, *E3D_TINY, "--output", str(output)],
                "baseline": [BENCH_BASELINE, *TIMING, *BASELINE_TINY],
                "mspred": [BENCH_MSPRED, *TIMING, *MSPRED_TINY],
                "savp": [BENCH_SAVP, *TIMING, *SAVP_TINY]}
    processes = {name: subprocess.Popen([sys.executable, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=ENV, cwd=str(REPO))
                 for name, command in commands.items()}
    results = {}
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=600)  # three at once on 2 cores, one compiling XLA
        except subprocess.TimeoutExpired:
            for other in processes.values():
                other.kill()
            raise
        assert process.returncode == 0, f"{name}: {stderr[-4000:]}"
        results[name] = json.loads(stdout)  # stdout holds the JSON document and nothing else
    results["e3d_output"] = output
    return results


def _check_environment(environment):
    assert environment["tensorflow"] == tf.__version__
    assert environment["keras"] == keras.__version__
    assert environment["cpu_count"] == os.cpu_count()
    assert environment["strategy"] == "OneDeviceStrategy" and environment["num_replicas"] == 1
    assert environment["replica_devices"] and "CPU:0" in environment["replica_devices"][0]
    assert environment["gpu_names"] == []  # CUDA_VISIBLE_DEVICES is empty
    assert any(d["type"] == "CPU" for d in environment["physical_devices"])


def _check_timings(entry, batch, frames_per_sequence, repeats=2, steps=2):
    train = entry["train"]
    assert train["repeats"] == repeats and len(train["per_repeat_s"]) == repeats
    assert train["steps_per_repeat"] == steps
    assert all(t > 0 for t in train["per_repeat_s"])
    assert train["median_step_s"] == pytest.approx(statistics.median(train["per_repeat_s"]))
    assert train["mean_step_s"] == pytest.approx(sum(train["per_repeat_s"]) / repeats)
    assert train["min_step_s"] <= train["median_step_s"] <= train["max_step_s"]
    assert train["steps_per_s"] == pytest.approx(1.0 / train["median_step_s"])
    assert train["examples_per_s"] == pytest.approx(train["steps_per_s"] * batch)
    # The first step includes tracing, so it is the slowest by far; warmup_s covers it.
    assert train["warmup_s"] >= train["first_step_s"] > 0

    inference = entry["inference"]
    assert inference["repeats"] == repeats and inference["calls_per_repeat"] == steps
    assert inference["sequences_per_call"] == batch
    assert inference["frames_per_call"] == batch * frames_per_sequence
    assert inference["median_call_s"] == pytest.approx(statistics.median(inference["per_repeat_s"]))
    assert inference["calls_per_s"] == pytest.approx(1.0 / inference["median_call_s"])
    assert inference["frames_per_s"] == pytest.approx(inference["calls_per_s"] * batch * frames_per_sequence)
    assert inference["sequences_per_s"] == pytest.approx(inference["calls_per_s"] * batch)
    assert inference["first_call_s"] > 0


def test_e3d_bench_reports_training_and_inference(reports):
    report, output = reports["e3d"], reports["e3d_output"]
    assert report["benchmark"] == "e3d"
    settings = report["settings"]
    assert (settings["steps"], settings["warmup"], settings["repeats"]) == (2, 1, 2)
    assert (settings["img_width"], settings["patch_size"], settings["total_length"], settings["input_length"],
            settings["batch_size"]) == (8, 2, 4, 2, 1)
    _check_environment(report["environment"])

    (entry,) = report["results"]
    assert entry["name"] == "e3d_lstm/jit_off" and entry["jit_compile"] is False
    assert "error" not in entry
    assert entry["model_name"] == "e3d_lstm" and entry["num_hidden"] == [8]
    assert (entry["global_batch_size"], entry["per_replica_batch_size"], entry["num_replicas"]) == (1, 1, 1)
    # T - Tin = 2 predicted frames per sequence.
    _check_timings(entry, batch=1, frames_per_sequence=2)
    assert report["comparisons"] == []  # one variant: nothing to compare

    from vidpred_tf.models.e3d.config import E3DConfig
    from vidpred_tf.models.e3d.model import build_model

    model = build_model(E3DConfig(img_width=8, patch_size=2, total_length=4, input_length=2, num_hidden=(8,),
                                  enforce_decoder_width_64=False))
    assert entry["parameters"] == sum(math.prod(v.shape) for v in model.weights)

    # --output holds the same document as stdout, and no temporary file is left beside it.
    assert json.loads(output.read_text()) == report
    assert sorted(p.name for p in output.parent.iterdir()) == ["e3d.json"]


def test_baseline_bench_compares_xla_off_and_on_and_the_two_dna_kernels(reports):
    report = reports["baseline"]
    assert report["benchmark"] == "baseline"
    _check_environment(report["environment"])
    names = [entry["name"] for entry in report["results"]]
    assert names == ["dna_separable_baseline/jit_off", "dna_separable_baseline/jit_on",
                     "dna_full_baseline/jit_off", "dna_full_baseline/jit_on"]
    by_name = {entry["name"]: entry for entry in report["results"]}
    for entry in report["results"]:
        assert "error" not in entry
        assert entry["jit_compile"] == entry["name"].endswith("jit_on")
        assert entry["separable"] == ("separable" in entry["name"]) and entry["kernel_size"] == 9
        assert entry["global_batch_size"] == 2
        assert entry["encoder_filters"] == [4, 8] and entry["lstm_filters"] == [8]
        _check_timings(entry, batch=2, frames_per_sequence=2)  # seq_length 4 - 2 context frames

    from vidpred_tf.models.baseline.dna import DNAConfig
    from vidpred_tf.models.baseline.task import NextFrameTask

    for separable in (True, False):
        model = NextFrameTask(DNAConfig(image_size=16, context_frames=2, encoder_filters=(4, 8), lstm_filters=(8,),
                                        separable=separable), num_frames=4).build_model()
        kind = "separable" if separable else "full"
        for jit in ("off", "on"):
            assert by_name[f"dna_{kind}_baseline/jit_{jit}"]["parameters"] == sum(
                math.prod(v.shape) for v in model.weights)

    jit_comparisons = [c for c in report["comparisons"] if c["what"].startswith("jit_compile")]
    assert [c["model"] for c in jit_comparisons] == ["dna_separable_baseline", "dna_full_baseline"]
    for comparison in jit_comparisons:
        on, off = by_name[comparison["candidate"]], by_name[comparison["reference"]]
        assert (on["jit_compile"], off["jit_compile"]) == (True, False)
        train = comparison["train_steps_per_s"]
        assert train["median_ratio"] == pytest.approx(on["train"]["steps_per_s"] / off["train"]["steps_per_s"])
        expected_pairs = [b / a for a, b in zip(on["train"]["per_repeat_s"], off["train"]["per_repeat_s"])]
        assert train["paired_ratios"] == pytest.approx(expected_pairs)
        inference = comparison["inference_frames_per_s"]
        assert inference["median_ratio"] == pytest.approx(on["inference"]["frames_per_s"]
                                                          / off["inference"]["frames_per_s"])
    kernel_comparisons = [c for c in report["comparisons"] if c["what"].startswith("separable / full")]
    assert [(c["candidate"], c["reference"]) for c in kernel_comparisons] == [
        ("dna_separable_baseline/jit_off", "dna_full_baseline/jit_off"),
        ("dna_separable_baseline/jit_on", "dna_full_baseline/jit_on")]
    for comparison in kernel_comparisons:
        separable, full = by_name[comparison["candidate"]], by_name[comparison["reference"]]
        assert comparison["train_steps_per_s"]["median_ratio"] == pytest.approx(
            separable["train"]["steps_per_s"] / full["train"]["steps_per_s"])


def test_mspred_bench_times_the_mmnist_geometry(reports):
    report = reports["mspred"]
    assert report["benchmark"] == "mspred"
    assert report["defaults_from"].endswith("configs/mmnist.json")
    _check_environment(report["environment"])
    (entry,) = report["results"]
    assert "error" not in entry
    assert entry["model_type"] == "SpatioTempHierarchConvLSTM" and entry["periods"] == [1, 4, 8]
    # context 3 + max(2 predictions x period 8) frames of mmnist's 64x64x3.
    assert entry["sequence_length"] == 19 and entry["frame_shape"] == [64, 64, 3]
    _check_timings(entry, batch=2, frames_per_sequence=2)  # inference returns the 2 level-0 frames

    import copy

    from vidpred_tf.models.mspred.build import setup_model
    from vidpred_tf.papers.mspred.experiment import load_config

    params = copy.deepcopy(load_config("mmnist"))
    params["model"]["enc_dec"].update(num_filters=4, dim=32)
    params["model"]["HierarchLSTM"]["hidden_dim"] = 8
    params["model"]["LSTM_Prior"]["hidden_dim"] = params["model"]["LSTM_Posterior"]["hidden_dim"] = 4
    model = setup_model(params)
    model(tf.zeros((2, 11, 64, 64, 3)), context=3, num_preds=1)  # 3 + 1 x period 8
    assert entry["parameters"] == sum(math.prod(v.shape) for v in model.trainable_weights)


def test_savp_bench_times_the_original_benchmarks_work(reports):
    report = reports["savp"]
    assert report["benchmark"] == "savp" and report["reference"].endswith("originals/savp/bench_original.py")
    _check_environment(report["environment"])
    savp_entry, deterministic = report["results"]
    assert savp_entry["name"] == "ours_savp/jit_off" and deterministic["name"] == "ours_deterministic_l1/jit_off"
    for entry in (savp_entry, deterministic):
        assert "error" not in entry and entry["dataset"] == "bair_action_free" and entry["context_frames"] == 2
        # task.predict returns the T - context_frames = 3 future frames (the generator runs all T-1 steps).
        _check_timings(entry, batch=2, frames_per_sequence=3)
    assert savp_entry["jit_note"].startswith("staged D/G updates run uncompiled")

    from vidpred_tf.models import savp

    for entry, name in ((savp_entry, "ours_savp"), (deterministic, "ours_deterministic_l1")):
        hparams_dict = json.loads((REPO / "flags" / "savp" / "hparams" / "bair_action_free" / name /
                                   "model_hparams.json").read_text())
        hparams_dict.update(batch_size=2, context_frames=2, sequence_length=5, repeat=2)
        hparams = savp.resolve_model_hparams("savp", hparams_dict, SAVP_TINY[-1])
        # Generator and (ours_savp) discriminator, trainable, as the original's parameter_count.
        assert entry["parameters"] == savp.build_model("savp", hparams, (32, 32, 3)).parameter_count(), name


@pytest.mark.parametrize("script, args, message", [
    # bench_baseline defaults to the DNA model, whose 2 encoder layers need a multiple of 4.
    (BENCH_BASELINE, ["--warmup", "0"], "--warmup=0"),
    (BENCH_BASELINE, ["--context_frames", "20"], "--context_frames=20 must be smaller than --seq_length=20"),
    (BENCH_BASELINE, ["--image_size", "22"], "--image_size=22 must be a multiple of 4"),
    (BENCH_E3D, ["--jit_compile", "maybe"], "--jit_compile=maybe"),
    (BENCH_E3D, ["--output", "/nonexistent_dir_for_bench/x.json"], "--output=/nonexistent_dir_for_bench/x.json"),
    (BENCH_MSPRED, ["--context", "0"], "--context=0 must be positive"),
])
def test_bad_flags_are_named(script, args, message):
    process = _run(script, args, timeout=60)
    assert process.returncode != 0
    assert message in process.stderr
    assert process.stdout.strip() == ""  # no partial report


BENCH_EPVA = str(REPO / "scripts" / "bench_epva.py")
# One mode at the smallest widths, 3 frames (skip_num 1; context_frames 1: one step fed the encoding, one fed the
# prediction), batch 1, one timed step and repeat: tracing the Python unroll of the training step is most of the run.
EPVA_TIMING = ["--steps", "1", "--warmup", "1", "--repeats", "1"]
EPVA_TINY = ["--modes", "e2e", "--batch_size", "1", "--sequence_length", "3", "--skip_num", "1",
             "--jit_compile", "off",
             "--model_flags", "van_first_depth=4,vgg_width_divisor=16,enc_size=8,context_frames=1"]


def test_epva_bench_times_training_and_inference():
    bad = _run(BENCH_EPVA, ["--modes", "vae"], timeout=120)
    assert bad.returncode != 0 and "--modes: unknown mode 'vae'" in bad.stderr and bad.stdout.strip() == ""
    process = _run(BENCH_EPVA, [*EPVA_TIMING, *EPVA_TINY])
    assert process.returncode == 0, process.stderr[-4000:]
    report = json.loads(process.stdout)
    assert report["benchmark"] == "epva" and report["reference"].endswith("originals/epva/bench_original.py")
    settings = report["settings"]
    assert (settings["sequence_length"], settings["skip_num"], settings["frames"]) == (3, 1, 3)
    assert (settings["steps"], settings["warmup"], settings["repeats"], settings["modes"]) == (1, 1, 1, ["e2e"])
    _check_environment(report["environment"])
    (e2e,) = report["results"]
    assert "error" not in e2e, e2e.get("error")
    assert e2e["name"] == "e2e/jit_off" and e2e["jit_compile"] is False
    assert (e2e["enc_size"], e2e["van_first_depth"], e2e["vgg_width_divisor"]) == (8, 4, 16)
    # The README line trains with dropout; the timed inference is the eval line's, without it.
    assert e2e["train_keep_probs"] == {"enc": 0.65, "van": 0.9}
    assert e2e["inference_keep_probs"] == {"enc": 1.0, "van": 1.0}
    assert e2e["parameters"] > 0
    # task.predict returns van_out_all: T - 1 = 2 frames per sequence.
    _check_timings(e2e, batch=1, frames_per_sequence=2, repeats=1, steps=1)
    assert report["comparisons"] == []  # one XLA setting: nothing to compare


BENCH_HIERCHVID = str(REPO / "scripts" / "bench_hierchvid.py")
# Both parts at batch 2, one timed step and repeat: the 2 + 2 step unroll of an 8-unit LSTM, and the image generator
# at 32x32 (the hourglass resizes to 256 whatever the size) with widths of 2 to 4; tracing the hourglass twice and
# its gradient is most of the run.
HIERCHVID_TINY = ["--steps", "1", "--warmup", "1", "--repeats", "1", "--jit_compile", "off",
                  "--lstm_batches", "2", "--imggen_batches", "2", "--lstm_units", "8", "--seen_step", "2",
                  "--fut_step", "2", "--test_fut_step", "3", "--image_size", "32", "--gf_dim", "4", "--df_dim", "4",
                  "--alexnet_widths", "4,4,4,4,4", "--hourglass_widths", "2,2,2,2"]


def _conv_params(size, widths, groups=None):
    """Weights + biases of a chain of size x size convolutions through ``widths`` (groups split the inputs)."""
    groups = groups or [1] * (len(widths) - 1)
    return sum(size * size * (c_in // g) * c_out + c_out for c_in, c_out, g in zip(widths, widths[1:], groups))


def _hierchvid_parameter_counts(units, gf, df, image_size, joints=48, lm=13):
    """Trainable counts written out from the original's layers (not from the port): DET_LSTM, GEN, DIS."""
    lstm = (2 * lm * 32 + 32) + ((32 + units) * 4 * units + 4 * units) + (units * 2 * lm + 2 * lm)
    encoder = [gf, gf, 2 * gf, 2 * gf, 4 * gf, 4 * gf, 4 * gf]
    decoder = [4 * gf, 4 * gf, 4 * gf, 2 * gf, 2 * gf, gf, gf, 3]
    generator = _conv_params(3, [3, *encoder]) + _conv_params(3, [joints, *encoder]) + _conv_params(3, decoder)
    dis_widths = [3 + joints, df, 2 * df, 4 * df, 8 * df]
    linear = (image_size // 16) ** 2 * 8 * df + 1
    discriminator = _conv_params(5, dis_widths) + 2 * sum(dis_widths[2:]) + linear
    return lstm, generator, discriminator


def test_hierchvid_bench_times_both_parts_as_the_original():
    # The formulas give the original's own counts at full size (inventory_lstm.json / inventory_imggen.json).
    assert _hierchvid_parameter_counts(1024, 64, 64, 128) == (4356986, 5232131, 4417921)
    for args, message in [(["--parts", "lstm,vae"], "--parts: unknown part 'vae'"),
                          (["--imggen_batches", "2,x"], "--imggen_batches=2,x: 'x' is not an integer"),
                          (["--image_size", "40"], "--image_size=40 must be a positive multiple of 16"),
                          (["--alexnet_widths", "4,4,3,4,4"], "--alexnet_widths=4,4,3,4,4: 3 is wrong")]:
        bad = _run(BENCH_HIERCHVID, args, timeout=120)
        assert bad.returncode != 0 and message in bad.stderr and bad.stdout.strip() == "", (args, bad.stderr[-2000:])

    process = _run(BENCH_HIERCHVID, HIERCHVID_TINY)
    assert process.returncode == 0, process.stderr[-4000:]
    report = json.loads(process.stdout)
    assert report["benchmark"] == "hierchvid"
    assert report["reference"].endswith("originals/hierchvid/bench_original.py")
    settings = report["settings"]
    assert (settings["parts"], settings["lstm_batches"], settings["imggen_batches"]) == (["lstm", "imggen"], [2], [2])
    assert (settings["steps"], settings["warmup"], settings["repeats"]) == (1, 1, 1)
    _check_environment(report["environment"])
    assert report["skipped"] == [] and report["comparisons"] == []
    lstm, imggen = report["results"]
    for entry in (lstm, imggen):
        assert "error" not in entry, entry.get("error")
    lstm_params, generator_params, discriminator_params = _hierchvid_parameter_counts(8, 4, 4, 32)

    assert lstm["name"] == "lstm_b2/jit_off" and lstm["model"] == "DET_LSTM (pose LSTM)"
    assert (lstm["input_size"], lstm["layers"], lstm["seen_step"], lstm["fut_step"]) == (26, [8], 2, 2)
    assert (lstm["keep_prob"], lstm["learning_rate"], lstm["clip_global_norm"]) == (1.0, 1e-3, 25.0)
    assert lstm["trainable_params"] == lstm["parameters"] == lstm_params
    # Inference is the test graph: seen 2 + test horizon 3 pose steps per sequence.
    assert lstm["infer_fut_steps"] == 3
    _check_timings(lstm, batch=2, frames_per_sequence=5, repeats=1, steps=1)

    assert imggen["name"] == "imggen_b2/jit_off" and imggen["model"] == "IMGGEN (image analogy generator + D)"
    assert (imggen["image_size"], imggen["layer"], imggen["n_joints"], imggen["lr"]) == (32, 3, 48, 1e-4)
    assert (imggen["alpha"], imggen["beta"], imggen["gamma"]) == (1.0, 1.0, 1.0)
    assert imggen["trainable_params"] == {"generator": generator_params, "discriminator": discriminator_params,
                                          "test_graph": generator_params}
    assert imggen["parameters"] == generator_params + discriminator_params
    from fixtures.hierchvid_perceptual import ALEXNET_GROUPS, torch_hourglass_shapes

    alexnet_params = _conv_params(11, [3, 4], [1]) + _conv_params(5, [4, 4], [2]) + _conv_params(
        3, [4, 4, 4, 4], list(ALEXNET_GROUPS[2:]))
    hourglass_params = sum(math.prod(shape) for _, shape in torch_hourglass_shapes({64: 2, 128: 2, 256: 2, 512: 2}))
    assert imggen["frozen_params"] == {"alexnet": alexnet_params, "hourglass": hourglass_params}
    _check_timings(imggen, batch=2, frames_per_sequence=1, repeats=1, steps=1)  # one generated frame

    for entry in (lstm, imggen):
        summary = entry["like_original"]
        assert (summary["part"], summary["batch"], summary["jit_compile"]) == (entry["part"], 2, False)
        assert summary["train"] == {"median_s": entry["train"]["median_step_s"],
                                    "min_s": entry["train"]["min_step_s"],
                                    "first_s": entry["train"]["first_step_s"]}
        assert summary["infer"] == {"median_s": entry["inference"]["median_call_s"],
                                    "min_s": entry["inference"]["min_call_s"],
                                    "first_s": entry["inference"]["first_call_s"]}
        assert summary["trainable_params"] == entry["trainable_params"]
        assert summary["train"]["first_s"] > summary["train"]["median_s"] > 0  # the first step traces
