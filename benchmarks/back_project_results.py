#!/usr/bin/env python3
"""Back-projection applied to finished SR images, scored before and after.

The `paper` preset, like the paper, ends with the network's output; ZSSR ends
with back-projection onto the input (``inference.back_project``). This script
measures what that step would change for runs already made by
``benchmarks/evaluate.py``: each SR image in a run's ``--images_dir`` folder is
back-projected onto its LR input with the sons' degradation (bicubic, or
``--kernel``), and both versions are scored under both protocols, with
LPIPS-VGG and with LR-PSNR (``inference.lr_psnr``). Back-projection uses the
input alone; the HR images are read only to score. The SR files are 8-bit
PNGs, so the step sees the rounded output, not the float one a run's
``--settings back_projection=N`` sees, and its result is rounded to 8 bits
too: both columns score images as they would be on disk (``evaluate.py``
scores the float output; LPIPS differs between the two, see docs/results.md,
"Back-projection of finished outputs: notes").

One JSON file per run is written under ``--out``; the table of every file
there replaces the "Back-projection of finished outputs" section of
``--markdown``.

Example:
  python -m benchmarks.back_project_results \\
      --run $ZSRGAN_DATA/BSD100:results/BSD100/zsrgan-paper
"""

import glob
import json
import os
import sys

import numpy as np
from absl import app, flags

import zsrgan_tf
from benchmarks import evaluation, report
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import files, imaging, inference
from zsrgan_tf.lpips import LPIPS

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("run", [], "DATASET:IMAGES_DIR, e.g. $ZSRGAN_DATA/Set5:"
                          "results/Set5/zsrgan-paper; repeat the flag for more.")
flags.DEFINE_integer("iterations", 10, "Back-projection steps.")
flags.DEFINE_string("kernel", degradation_lib.BICUBIC, "The sons' degradation (a --kernel spec).")
flags.DEFINE_integer("scale", 2, "Upscaling factor of the runs.")
flags.DEFINE_string("out", "results/benchmarks/back_projection", "Folder of per-run JSON files.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")

_TITLE = "Back-projection of finished outputs"


def _scores(sr, lr, hr, kernel, lpips):
    result = evaluation.score(sr, hr, FLAGS.scale, lpips)
    result["lr_psnr"] = inference.lr_psnr(sr, lr, kernel, FLAGS.scale)
    return result


def measure(dataset, images_dir, kernel, lpips):
    """``{name: {"before": scores, "after": scores}}`` for the SR images of one run."""
    rows = {}
    for name, lr_path, hr_path in evaluation.dataset_pairs(dataset):
        sr_path = os.path.join(images_dir, f"{name}.png")
        if not os.path.exists(sr_path):
            continue
        sr, lr = imaging.read_image(sr_path), imaging.read_image(lr_path)
        projected = inference.back_project(sr, lr, kernel, FLAGS.scale, FLAGS.iterations)
        projected = imaging.to_uint8(projected) / np.float32(255)  # 8-bit, as on disk
        hr = imaging.read_image(hr_path)
        rows[name] = {"before": _scores(sr, lr, hr, kernel, lpips),
                      "after": _scores(projected, lr, hr, kernel, lpips)}
    return rows


def _cells(rows, names):
    """Mean before -> after of each column over ``names``."""
    columns = (("mzsr", "psnr_y", 2), ("paper", "psnr_rgb", 2), (None, "lpips", 4),
               (None, "lr_psnr", 1))
    cells = []
    for protocol, key, digits in columns:
        pair = []
        for when in ("before", "after"):
            values = [rows[n][when][protocol][key] if protocol else rows[n][when][key]
                      for n in names]
            pair.append(f"{np.mean(values):.{digits}f}")
        cells.append(" -> ".join(pair))
    return cells


def markdown(records):
    """The section's body: one row per run record (``main``'s JSON)."""
    lines = [
        "`benchmarks/back_project_results.py` (see its docstring): finished SR images of "
        "`benchmarks/evaluate.py` runs, back-projected onto their inputs with the sons' "
        "degradation, scored before -> after. PSNR-Y: `mzsr` protocol; PSNR-RGB: `paper` "
        "protocol; LR-PSNR: the output degraded like the sons against the input (no ground "
        "truth). Both sides are 8-bit images, as on disk. Only the images whose SR file "
        "was on disk.",
        "",
        "| run | images | PSNR-Y (mzsr) | PSNR-RGB (paper) | LPIPS | LR-PSNR | "
        "PSNR-Y gain per image |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in records:
        rows = record["images"]
        names = sorted(rows)
        if not names:
            continue
        gains = ", ".join(
            f"{n} {rows[n]['after']['mzsr']['psnr_y'] - rows[n]['before']['mzsr']['psnr_y']:+.2f}"
            for n in names)
        run = (f"{os.path.basename(record['dataset'])} "
               f"`{os.path.basename(record['images_dir'])}`, {record['iterations']} steps, "
               f"kernel `{record['kernel']}`")
        lines.append(f"| {run} | {len(names)} | " + " | ".join(_cells(rows, names))
                     + f" | {gains} |")
    return "\n".join(lines)


def _check_runs(specs):
    """``[(dataset, images_dir)]``, or ValueError naming the bad ``--run``."""
    runs = []
    for spec in specs:
        dataset, _, images_dir = spec.partition(":")
        for folder in (os.path.join(dataset, "HR"), images_dir):
            if not os.path.isdir(folder):
                raise ValueError(f"--run {spec}: no folder {folder or '(empty)'}")
        runs.append((dataset, images_dir))
    return runs


def main(argv):
    del argv
    try:
        runs = _check_runs(FLAGS.run)
        kernel = degradation_lib.parse(FLAGS.kernel)
    except ValueError as e:  # kernels.KernelError is one
        print(f"error: {e}", file=sys.stderr)
        return 2
    lpips = LPIPS()
    os.makedirs(FLAGS.out, exist_ok=True)
    for dataset, images_dir in runs:
        record = {"dataset": os.path.normpath(dataset), "images_dir": os.path.normpath(images_dir),
                  "iterations": FLAGS.iterations, "kernel": FLAGS.kernel,
                  "images": measure(dataset, images_dir, kernel, lpips),
                  "machine": report.machine()["summary"],
                  "versions": {"zsrgan_tf": zsrgan_tf.__version__}}
        name = (f"{os.path.basename(record['dataset'])}_{os.path.basename(record['images_dir'])}"
                f"_bp{FLAGS.iterations}")
        files.write_bytes(os.path.join(FLAGS.out, f"{name}.json"),
                          json.dumps(record, indent=2).encode())
    records = []
    for path in sorted(glob.glob(os.path.join(FLAGS.out, "*.json"))):
        with open(path) as f:
            records.append(json.load(f))
    body = markdown(records)
    report.replace_section(FLAGS.markdown, _TITLE, body)
    print(body)


if __name__ == "__main__":
    app.run(main)
