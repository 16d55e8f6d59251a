"""``vidpred predict --checkpoint CKPT --input VIDEO``: predict the future of a video with any checkpoint."""

from __future__ import annotations

import pathlib
from typing import Sequence

from vidpred_tf.cli import Parser
from vidpred_tf.commands.common import import_tensorflow_quietly, output_dir_problem, report_error

DESCRIPTION = "predict the future of a video (mp4/avi/gif, folder of frames, .npy) with any checkpoint"

EPILOG = """\
The checkpoint is a directory of checkpoints, a checkpoint prefix (ckpt-100) or a .weights.h5 file with the
vidpred_model.json manifest beside it (vidpred demo and the paper scripts write it), an MSPred experiment, or a
preset: preset:NAME or preset:NAME@VERSION (vidpred list presets names them).
The first --context frames of the input (from --start, every --frame_step-th) are the context; frames after them,
when the input has them, are shown above the prediction as ground truth and scored in prediction.json.

Writes into --output_dir: prediction.gif and prediction.mp4 (context framed green, predicted frames framed red),
prediction_strip.png, frames/*.png (model resolution), prediction.npy [samples, horizon, H, W, C] and
prediction.json.
"""


def build_parser(prog: str) -> Parser:
    parser = Parser(prog, DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory, prefix or .weights.h5 file, "
                        "or preset:NAME[@VERSION]")
    parser.add_argument("--input", required=True, help="video file (mp4, avi, gif, ...), folder of frames or .npy")
    parser.add_argument("--output_dir", default=None,
                        help="where the outputs go (default: <input name>_prediction in the current directory)")
    parser.add_argument("--context", type=int, default=None, help="context frames (default: the model's)")
    parser.add_argument("--horizon", type=int, default=None, help="frames to predict (default: the model's)")
    parser.add_argument("--samples", type=int, default=1, help="predictions per video (stochastic models only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first sample (sample s uses seed + s)")
    parser.add_argument("--start", type=int, default=0, help="index of the first input frame to use")
    parser.add_argument("--frame_step", type=int, default=1, help="use every n-th input frame")
    parser.add_argument("--resize", choices=("crop", "stretch"), default="crop",
                        help="crop: centre-crop to the model's aspect ratio, then resize; stretch: resize only")
    parser.add_argument("--fps", type=float, default=4.0, help="frame rate of the written GIF and MP4")
    return parser


def main(argv: Sequence[str], prog: str = "vidpred predict") -> int:
    args = build_parser(prog).parse_args(list(argv))
    import_tensorflow_quietly()
    from vidpred_tf import inference

    if args.fps <= 0:
        return report_error(prog, f"--fps must be positive; got {args.fps}")
    output_dir = args.output_dir or f"{pathlib.Path(args.input).name.split('.')[0] or 'input'}_prediction"
    if output_dir_problem(output_dir):
        return report_error(prog, output_dir_problem(output_dir))
    # Bad input raises vidpred_tf.errors.InputError; the vidpred dispatcher reports it in one line, status 2.
    frames = inference.load_video(args.input)
    predictor = inference.load_predictor(args.checkpoint)
    result = inference.predict_video(
        predictor, frames, context=args.context, horizon=args.horizon, samples=args.samples, seed=args.seed,
        start=args.start, frame_step=args.frame_step, resize=args.resize, source=f"input {args.input}")
    files = inference.write_prediction_outputs(result, output_dir, fps=args.fps, extra={
        "input": str(args.input), "checkpoint_argument": str(args.checkpoint), "resize": args.resize,
        "start": args.start, "frame_step": args.frame_step})
    height, width = predictor.image_size
    print(f"model: {predictor.paper}/{predictor.model_name} from {predictor.checkpoint} "
          f"({height}x{width}x{predictor.channels}, {'stochastic' if predictor.stochastic else 'deterministic'})")
    print(f"input: {args.input}: {frames.shape[0]} frames of {frames.shape[2]}x{frames.shape[1]}x{frames.shape[3]}; "
          f"context {result.context.shape[0]}, predicted {result.horizon} x {result.predictions.shape[0]} sample(s)"
          + ("" if result.truth is None else f", {result.truth.shape[0]} ground-truth frame(s) to compare"))
    for key in ("gif", "mp4", "strip_png", "frames_dir", "npy", "json"):
        print(f"{key}: {files[key]}")
    return 0
