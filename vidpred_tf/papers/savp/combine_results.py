"""SAVP ``scripts/combine_results.py``: one web page comparing evaluate.py result folders.

    python scripts/savp/combine_results.py results_test/bair_action_free --only_metrics

``<web_dir>/index.html`` (``web_dir`` defaults to ``RESULTS_DIR/web``) holds

* a table of every method's mean (and with ``--show_se`` standard error) of each ``<task>/metrics/<metric>.csv``
  found in the first method's folder, optionally sorted by ``--sort_by TASK,METRIC``;
* unless ``--only_metrics``, a table of image sequences per example: each task's context frames (PNGs copied to
  ``<web_dir>/images/<task>/inputs``) and one GIF of every method's outputs side by side
  (``<web_dir>/images/<task>/outputs/<output names>_%05d.gif``).

:class:`HTML` is the page writer (the original used ``dominate``). Differences from the original: multi-value
flags are repeated (``--method_dirs=a --method_dirs=b``), ``--sort_by`` is one comma pair; both GIF writers are
ffmpeg (``--no_ffmpeg`` is accepted).
"""

from __future__ import annotations

import glob
import html
import itertools
import os
from typing import List, Optional, Sequence

import cv2
import numpy as np
from absl import app, flags

from vidpred_tf.errors import InputError
from vidpred_tf.fileio import write_atomically
from vidpred_tf.papers.savp.evaluation import list_method_dirs, load_metrics
from vidpred_tf.viz.video import write_gif

flags.DEFINE_multi_string("method_dirs", None, "directories in results_dir (all of them by default)")
flags.DEFINE_multi_string("method_names", None, "method names for the header")
flags.DEFINE_string("web_dir", None, "default is results_dir/web")
flags.DEFINE_list("sort_by", None, "task and metric name to sort by, e.g. prediction_eval_psnr_max,psnr")
flags.DEFINE_boolean("no_ffmpeg", False, "accepted; GIFs are always written with ffmpeg")
flags.DEFINE_integer("batch_size", 1, "examples per page save")
flags.DEFINE_integer("num_samples", None, "number of samples for the table of sequence (all of them by default)")
flags.DEFINE_boolean("show_se", False, "show standard error in the table metrics")
flags.DEFINE_boolean("only_metrics", False, "only the metrics table")

FLAGS = flags.FLAGS


class HTML:
    """A page of headers and tables, saved as ``<web_dir>/index.html``; images are linked under ``images/``."""

    def __init__(self, web_dir: str, title: str, refresh: int = 0):
        self.web_dir = web_dir
        self.img_dir = os.path.join(web_dir, "images")
        os.makedirs(self.img_dir, exist_ok=True)
        self.title = title
        self.refresh = refresh
        self.body: List[str] = []
        self._table: Optional[List[str]] = None

    def add_header(self, level: int, text) -> None:
        self._table = None
        self.body.append("<h%d>%s</h%d>" % (level, html.escape(str(text)), level))

    def add_table(self, border: int = 1) -> None:
        self._table = []
        self.body.append(("table", border, self._table))

    def _row(self, cells: List[str]) -> None:
        if self._table is None:
            self.add_table()
        self._table.append("<tr>%s</tr>" % "".join(cells))

    def add_row(self, texts: Sequence, colspans: Optional[Sequence[int]] = None) -> None:
        if colspans is not None and len(colspans) != len(texts):
            raise ValueError(f"HTML.add_row: {len(texts)} texts but {len(colspans)} colspans")
        cells = []
        for i, text in enumerate(texts):
            style = "word-break: break-all;" if len(str(text)) > 80 else "word-wrap: break-word;"
            span = ' colspan="%d"' % colspans[i] if colspans else ""
            content = "" if text is None else "<p>%s</p>" % html.escape(str(text))
            cells.append('<td style="%s" halign="center" valign="top"%s>%s</td>' % (style, span, content))
        self._row(cells)

    def add_images(self, images: Sequence, texts: Sequence, links: Sequence,
                   colspans: Optional[Sequence[int]] = None, height: Optional[int] = None,
                   width: Optional[int] = 400) -> None:
        style = ("height:%dpx;" % height if height is not None else "") + \
                ("width:%dpx;" % width if width is not None else "")
        cells = []
        for i, (image, text, link) in enumerate(zip(images, texts, links)):
            span = ' colspan="%d"' % colspans[i] if colspans else ""
            parts = []
            if image is not None and link is not None:
                parts.append('<a href="%s"><img style="%s" src="%s"></a>' % (
                    html.escape(os.path.join("images", link)), style, html.escape(os.path.join("images", image))))
                if text is not None:
                    parts.append("<br>")
            if text is not None:
                parts.append("<p>%s</p>" % html.escape(str(text)))
            cells.append('<td style="word-wrap: break-word;" halign="center" valign="top"%s><p>%s</p></td>'
                         % (span, "".join(parts)))
        self._row(cells)

    def render(self) -> str:
        head = "<title>%s</title>" % html.escape(self.title)
        if self.refresh > 0:
            head += '<meta http-equiv="refresh" content="%d">' % self.refresh
        parts = []
        for item in self.body:
            if isinstance(item, tuple):
                _, border, rows = item
                parts.append('<table border="%d" style="table-layout: fixed;">%s</table>' % (border, "".join(rows)))
            else:
                parts.append(item)
        return "<!DOCTYPE html>\n<html>\n<head>%s</head>\n<body>\n%s\n</body>\n</html>\n" % (head, "\n".join(parts))

    def save(self) -> str:
        path = os.path.join(self.web_dir, "index.html")
        text = self.render()

        def write(temp_path: str) -> None:
            with open(temp_path, "w", encoding="utf-8") as handle:
                handle.write(text)

        write_atomically(path, write)
        return path


def _load_rgb(paths: Sequence[str]) -> List[np.ndarray]:
    images = []
    for path in paths:
        image = cv2.imread(path)
        if image is None:
            raise InputError(f"{path}: not a readable image")
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return images


def _save_rgb(paths: Sequence[str], images: Sequence[np.ndarray]) -> None:
    for path, image in zip(paths, images):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def concat_images(all_images: Sequence[Sequence[np.ndarray]]) -> List[np.ndarray]:
    """Per time step, the methods' frames side by side, all resized to the smallest height and width."""
    sizes = [image.shape[:2] for sequence in all_images for image in sequence]
    height, width = min(size[0] for size in sizes), min(size[1] for size in sizes)
    resized = [[image if image.shape[:2] == (height, width) else cv2.resize(image, (width, height))
                for image in sequence] for sequence in all_images]
    return [np.concatenate(frames, axis=1) for frames in zip(*resized)]


def combine_results(results_dir: str, method_dirs: Optional[Sequence[str]] = None,
                    method_names: Optional[Sequence[str]] = None, web_dir: Optional[str] = None,
                    sort_by: Optional[Sequence[str]] = None, batch_size: int = 1,
                    num_samples: Optional[int] = None, show_se: bool = False, only_metrics: bool = False) -> str:
    """Write the page; returns the path of ``index.html``."""
    web_dir = web_dir or os.path.join(results_dir, "web")
    webpage = HTML(web_dir, "Experiment name = %s" % os.path.normpath(results_dir), refresh=1)
    webpage.add_header(1, os.path.normpath(results_dir))
    method_dirs = list(method_dirs) if method_dirs else list_method_dirs(results_dir)
    method_names = list(method_names) if method_names else list(method_dirs)
    if len(method_names) != len(method_dirs):
        raise InputError(f"--method_names: {len(method_names)} names for {len(method_dirs)} --method_dirs")
    paths = [os.path.join(results_dir, name) for name in method_dirs]
    method_ids = list(range(len(method_names)))
    if sort_by:
        if len(sort_by) != 2:
            raise InputError(f"--sort_by {','.join(sort_by)}: expected TASK,METRIC")
        task, metric_name = sort_by
        criterion = [np.mean(load_metrics(os.path.join(path, task, "metrics", metric_name))) for path in paths]
        order = sorted(range(len(paths)), key=lambda i: (criterion[i], i))
        method_ids = order
        method_names = [method_names[i] for i in order]
        paths = [paths[i] for i in order]
        webpage.add_header(3, "sorted by %s, %s" % tuple(sort_by))

    metric_files = sorted(glob.glob("%s/*/metrics/*.csv" % glob.escape(paths[0])))
    tasks = [(os.path.split(path)[0].split(os.sep)[-2], os.path.splitext(os.path.basename(path))[0])
             for path in metric_files]
    per_task = 2 if show_se else 1
    webpage.add_table()
    header, spans = [""], [2]
    for task, _ in tasks:
        if task != header[-1]:
            header.append(task)
            spans.append(per_task)
        else:
            spans[-1] += per_task
    webpage.add_row(header, spans)
    subheader = ["id", "method"]
    for _, metric_name in tasks:
        subheader.append("%s (mean)" % metric_name)
        if show_se:
            subheader.append("%s (se)" % metric_name)
    webpage.add_row(subheader)
    count = 0
    for method_id, name, path in zip(method_ids, method_names, paths):
        row = [method_id, name]
        for task, metric_name in tasks:
            metric = load_metrics(os.path.join(path, task, "metrics", metric_name))
            count = len(metric)
            row.append("%.4f" % np.mean(metric))
            if show_se:
                row.append("%.4f" % (np.std(metric) / np.sqrt(len(metric))))
        webpage.add_row(row)
    saved = webpage.save()
    if only_metrics:
        return saved

    image_tasks = [path.split(os.sep)[-2] for path in sorted(glob.glob("%s/*/outputs" % glob.escape(paths[0])))]
    webpage.add_table()
    header, subheader, methods_subheader = [""], ["id"], [""]
    header_spans, subheader_spans, methods_spans = [1], [1], [1]
    for sample_ind in range(num_samples or count):
        if sample_ind % batch_size == 0:
            print("saving samples from %d to %d" % (sample_ind, sample_ind + batch_size))
        images, texts, links, spans = [None], [sample_ind], [None], [1]
        for task in image_tasks:
            first = os.path.join(paths[0], task)
            input_files = sorted(glob.glob("%s/inputs/*_%05d_??.png" % (glob.escape(first), sample_ind)))
            input_names = [os.path.join(task, "inputs", os.path.basename(path)) for path in input_files]
            _save_rgb([os.path.join(webpage.img_dir, name) for name in input_names], _load_rgb(input_files))
            output_files = sorted(glob.glob("%s/outputs/*_%05d_??.png" % (glob.escape(first), sample_ind)))
            output_names = sorted({os.path.splitext(os.path.basename(path))[0][:-9] for path in output_files})
            sequences = []
            for output_name in output_names:
                for path in paths:
                    files = sorted(glob.glob("%s/outputs/%s_%05d_??.png" % (
                        glob.escape(os.path.join(path, task)), output_name, sample_ind)))
                    sequences.append(_load_rgb(files))
            gif_name = os.path.join(task, "outputs", "%s_%05d.gif" % ("_".join(output_names), sample_ind))
            if sequences and sequences[0]:
                os.makedirs(os.path.dirname(os.path.join(webpage.img_dir, gif_name)), exist_ok=True)
                write_gif(os.path.join(webpage.img_dir, gif_name), np.stack(concat_images(sequences)), fps=4)
            if sample_ind == 0:
                header.append(task)
                subheader += ["inputs", "outputs"]
                header_spans.append(len(input_names) + len(method_ids) * len(output_names))
                subheader_spans += [len(input_names), len(method_ids) * len(output_names)]
                ids = ["%02d" % method_id for method_id in method_ids]
                methods_subheader += [""] + list(itertools.chain(*[ids] * len(output_names)))
                methods_spans += [len(input_names)] + [1] * (len(method_ids) * len(output_names))
            images += input_names + [gif_name]
            texts += [None] * (len(input_names) + 1)
            links += input_names + [gif_name]
            spans += [1] * len(input_names) + [len(method_ids) * len(output_names)]
        if sample_ind == 0:
            webpage.add_row(header, header_spans)
            webpage.add_row(subheader, subheader_spans)
            webpage.add_row(methods_subheader, methods_spans)
        webpage.add_images(images, texts, links, spans, height=64, width=None)
        if (sample_ind + 1) % batch_size == 0:
            webpage.save()
    return webpage.save()


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("expected one argument, the results_dir (got %d)" % (len(argv) - 1))
    combine_results(argv[1], FLAGS.method_dirs, FLAGS.method_names, FLAGS.web_dir, FLAGS.sort_by,
                    FLAGS.batch_size, FLAGS.num_samples, FLAGS.show_se, FLAGS.only_metrics)
