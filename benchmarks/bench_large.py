#!/usr/bin/env python3
"""Peak memory and time of ``train_one`` on a large photo (default 4000 x 3000).

The input is made from a real image (``--image``, default the bundled sample):
its largest centre crop with the target aspect ratio, enlarged with MATLAB
bicubic to ``--size``. ``train_one`` then runs on it in a subprocess (training
crops are the preset's; inference tiles automatically, ``inference.auto_tile``),
and the peak resident memory of that process is read from ``getrusage``.

Writes ``--json`` and replaces the "Large images" section of ``--markdown``.

Example:
  python -m benchmarks.bench_large --size 4000x3000 --preset fast --iterations 20
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

import zsrgan_tf
from benchmarks import report
from zsrgan_tf import degrade, imaging, inference

FLAGS = flags.FLAGS
flags.DEFINE_string("image", "samples/chelsea.png", "Real image the large input is made from.")
flags.DEFINE_string("size", "4000x3000", "Input size, WIDTHxHEIGHT.")
flags.DEFINE_string("preset", "fast", "train_one preset.")
flags.DEFINE_integer("iterations", 20, "Training iterations (memory is set by inference).")
flags.DEFINE_string("json", "results/benchmarks/large.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")


def _large_input(path, width, height):
    """The centre crop of ``path`` with aspect ``width:height``, enlarged to that size."""
    image = imaging.read_image(path)
    h, w = image.shape[:2]
    crop_w = min(w, h * width // height)
    crop_h = crop_w * height // width
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    crop = image[top:top + crop_h, left:left + crop_w].astype(np.float64)
    return np.clip(degrade.imresize(crop, (height, width)).numpy(), 0.0, 1.0)


def main(argv):
    del argv
    width, height = (int(v) for v in FLAGS.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "large.png")
        imaging.write_png(source, _large_input(FLAGS.image, width, height))
        command = [sys.executable, os.path.join(os.path.dirname(__file__), "train_one.py"),
                   "--image", source, "--preset", FLAGS.preset, "--iterations",
                   str(FLAGS.iterations), "--output_dir", os.path.join(folder, "out")]
        t0 = time.perf_counter()
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(f"train_one failed: {proc.stderr.strip().splitlines()[-1]}")
        with open(os.path.join(folder, "out", "large_x2", "config.json")) as f:
            record = json.load(f)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    config = zsrgan_tf.preset(FLAGS.preset)
    tile = inference.auto_tile((height, width), config.scale, 64)
    result = {
        "input": f"{width}x{height} from {FLAGS.image}",
        "output": f"{record['output']['width']}x{record['output']['height']}",
        "preset": FLAGS.preset,
        "iterations": FLAGS.iterations,
        "tile": tile,
        "tile_pad": inference.TILE_PAD,
        "ensemble": config.ensemble,
        "back_projection": config.back_projection,
        "peak_rss_mib": round(peak_mib),
        "wall_seconds": round(seconds, 1),
        "training_seconds": record["wall_seconds"],
        "machine": report.machine()["summary"],
    }
    os.makedirs(os.path.dirname(FLAGS.json), exist_ok=True)
    with open(FLAGS.json, "w") as f:
        json.dump(result, f, indent=2)
    untiled_gib = height * width * config.scale ** 2 * 64 * inference.BYTES_PER_CHANNEL_PIXEL
    body = f"""\
`benchmarks/bench_large.py`: `train_one` on a {width}x{height} input made from a real image
({result['input']}, enlarged with MATLAB bicubic), preset `{FLAGS.preset}`, {FLAGS.iterations}
iterations; output {result['output']}. Inference tiled automatically: LR tiles of {tile} px
with {inference.TILE_PAD} px of context (memory budget {inference.MEMORY_BUDGET / 2**30:.0f} GiB
per pass), then on the whole output the preset's test-time options (ensemble:
{'yes' if config.ensemble else 'no'}; {config.back_projection} back-projection steps) and the
LR-PSNR. Machine: {result['machine']}.

| input | output | peak memory (RSS) | wall time (process) | training + inference |
|---|---|---|---|---|
| {width}x{height} | {result['output']} | {result['peak_rss_mib'] / 1024:.2f} GiB | \
{seconds / 60:.1f} min | {record['wall_seconds'] / 60:.1f} min |

One untiled pass would need about {untiled_gib / 2**30:.0f} GiB (2.1 KB per SR pixel for 64
channels, measured). The process time adds start-up and reading and writing the PNGs."""
    report.replace_section(FLAGS.markdown, "Large images", body)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    app.run(main)
