#!/usr/bin/env python3
"""Peak memory and time of ``train_one`` on large photos, by input size.

Each input is made from a real image (``--image``, default the bundled sample):
its largest centre crop with the target aspect ratio, enlarged by libvips
(bicubic) to the size. ``train_one`` runs on it in a subprocess with the
default preset and ``--iterations`` (inference does not depend on them); the
peak resident memory of that process is read from ``wait4``'s resource usage,
and the run's own plan (windows, estimated time and peak memory) from its
output. Inputs above ``outofcore.LARGE_PIXELS`` train on their centre region and are
written in bands (``outofcore``); smaller ones in memory.

Writes ``--json`` and replaces the "Large images" section of ``--markdown``.
Pause other work on the machine while it runs.

Example:
  python -m benchmarks.bench_large --sizes 1155x866,4000x3000
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import pyvips
from absl import app, flags

from benchmarks import report
from zsrgan_tf import outofcore

FLAGS = flags.FLAGS
flags.DEFINE_string("image", "samples/chelsea.png", "Real image the inputs are made from.")
flags.DEFINE_list("sizes", ["1155x866", "4000x3000", "6000x4500", "12000x9000"],
                  "Input sizes, WIDTHxHEIGHT.")
flags.DEFINE_integer("iterations", 1, "Training iterations (memory and inference time do not "
                     "depend on them).")
flags.DEFINE_string("json", "results/benchmarks/large.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAN = re.compile(r"(\d+) windows, inference about ([\d.]+) (min|s) \(one timed\), peak "
                  r"memory about ([\d.]+) GiB")


def _make_input(path, width, height):
    """The centre crop of ``--image`` with aspect ``width:height``, enlarged to that size."""
    image = pyvips.Image.new_from_file(FLAGS.image)
    crop_w = min(image.width, image.height * width // height)
    crop_h = crop_w * height // width
    crop = image.crop((image.width - crop_w) // 2, (image.height - crop_h) // 2, crop_w, crop_h)
    crop.resize(width / crop_w, vscale=height / crop_h, kernel="cubic").crop(
        0, 0, width, height).pngsave(path)


def _run(source, folder):
    """Runs train_one on ``source``; returns (peak RSS bytes, wall seconds, stderr)."""
    command = [sys.executable, os.path.join(REPO, "scripts", "train_one.py"), "--image", source,
               "--iterations", str(FLAGS.iterations), "--output_dir", folder]
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        err.seek(0)
        stderr = err.read()
    if os.waitstatus_to_exitcode(status):
        sys.exit(f"train_one failed on {source}: {stderr.strip().splitlines()[-1]}")
    return usage.ru_maxrss * 1024, seconds, stderr  # Linux: KiB


def main(argv):
    del argv
    rows = []
    for size in FLAGS.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        with tempfile.TemporaryDirectory() as folder:
            source = os.path.join(folder, "large.png")
            _make_input(source, width, height)
            peak, seconds, stderr = _run(source, os.path.join(folder, "out"))
            with open(os.path.join(folder, "out", "large_x2", "config.json")) as f:
                record = json.load(f)
        plan = PLAN.search(stderr)
        row = {
            "input": f"{width}x{height}",
            "megapixels_in": round(width * height / 1e6, 1),
            "output": f"{record['output']['width']}x{record['output']['height']}",
            "in_bands": width * height > outofcore.LARGE_PIXELS,
            "peak_rss_gib": round(peak / 2**30, 2),
            "wall_seconds": round(seconds, 1),
            "training_seconds": record["wall_seconds"],
            "windows": int(plan.group(1)) if plan else None,
            "estimated_seconds": (float(plan.group(2)) * (60 if plan.group(3) == "min" else 1)
                                  if plan else None),
            "estimated_peak_gib": float(plan.group(4)) if plan else None,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    result = {"machine": report.machine()["summary"], "image": FLAGS.image,
              "iterations": FLAGS.iterations, "preset": "auto", "rows": rows}
    report.write_json(FLAGS.json, result)
    table = ["| input | megapixels | output | path | peak memory (RSS) | estimated peak | "
             "wall time | s per output megapixel | estimated inference |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        peak = "-" if row["estimated_peak_gib"] is None else f"{row['estimated_peak_gib']} GiB"
        took = ("-" if row["estimated_seconds"] is None
                else f"{row['estimated_seconds'] / 60:.1f} min")
        table.append(
            f"| {row['input']} | {row['megapixels_in']} | {row['output']} | "
            f"{'bands' if row['in_bands'] else 'in memory'} | {row['peak_rss_gib']:.2f} GiB | "
            f"{peak} | {row['wall_seconds'] / 60:.1f} min | "
            f"{row['wall_seconds'] / (row['megapixels_in'] * 4):.1f} | {took} |")
    body = f"""\
`python -m benchmarks.bench_large` on {result['machine']}, other work paused. `train_one`
with the default preset and {FLAGS.iterations} training iteration(s) (inference does not depend
on them) on inputs enlarged from {FLAGS.image} (libvips bicubic), x2. Inputs above
{outofcore.LARGE_PIXELS / 2**20:.0f} Mi pixels train on their centre region of that size and are
written in bands; peak memory is the process's resident set (`wait4`), the estimates are
those the run printed before training. Raw: the JSON beside this page's other benchmarks.

{chr(10).join(table)}"""
    report.replace_section(FLAGS.markdown, "Large images", body)


if __name__ == "__main__":
    app.run(main)
