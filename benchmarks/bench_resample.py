#!/usr/bin/env python3
"""Time of the x2 downscale behind back-projection and LR-PSNR, at photo sizes.

For each LR size, an SR image twice as large (uniform noise: the operations are
linear, their time does not depend on the content) is shrunk with MATLAB's
antialiased bicubic in two ways that give the same numbers: the dense
``(H/2, H)`` matrices of ``degrade.imresize`` (O(H^2 W)) and the strided
convolution of ``degrade.downscale_bicubic`` (O(H W)). Then the 10 steps of
``inference.back_project`` (bicubic sons, and a Gaussian kernel) are timed.
Each time is the best of ``--repeats`` runs after a warm-up on a small image;
the dense path runs once (it is the slow one).

Writes ``--json`` and replaces the "Back-projection speed" section of ``--markdown``.

Example:
  python -m benchmarks.bench_resample --sizes 500x375,4000x3000
"""

import json
import time

import numpy as np
from absl import app, flags

from benchmarks import report
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import degrade, inference

FLAGS = flags.FLAGS
flags.DEFINE_list("sizes", ["500x375", "1000x750", "2000x1500", "4000x3000"],
                  "LR sizes, WIDTHxHEIGHT; the SR image is twice as large.")
flags.DEFINE_integer("repeats", 3, "Runs per timing of the fast paths (best is kept).")
flags.DEFINE_string("kernel", "gaussian:2.0", "Kernel of the kernel-aware back-projection.")
flags.DEFINE_string("json", "results/benchmarks/resample.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")

SCALE = 2
STEPS = 10


def _seconds(function, repeats):
    """Best wall time of ``repeats`` calls of ``function``, and its last result."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _measure(width, height, kernel, rng):
    lr = rng.random((height, width, 3), dtype=np.float32)
    sr = rng.random((SCALE * height, SCALE * width, 3), dtype=np.float32)
    dense_s, dense = _seconds(lambda: degrade.imresize(sr, (height, width)).numpy(), 1)
    strided_s, strided = _seconds(
        lambda: degrade.downscale_bicubic(sr, SCALE).numpy(), FLAGS.repeats)
    bicubic_s, _ = _seconds(
        lambda: inference.back_project(sr, lr, degradation_lib.parse("bicubic"), SCALE, STEPS),
        FLAGS.repeats)
    kernel_s, _ = _seconds(
        lambda: inference.back_project(sr, lr, kernel, SCALE, STEPS), FLAGS.repeats)
    return {
        "lr": f"{width}x{height}",
        "sr": f"{SCALE * width}x{SCALE * height}",
        "dense_downscale_s": round(dense_s, 3),
        "strided_downscale_s": round(strided_s, 3),
        "max_abs_difference": float(np.abs(dense - strided).max()),
        "back_projection_bicubic_s": round(bicubic_s, 3),
        "back_projection_kernel_s": round(kernel_s, 3),
    }


def main(argv):
    del argv
    kernel = degradation_lib.parse(FLAGS.kernel)
    rng = np.random.default_rng(0)
    _measure(16, 12, kernel, rng)  # warm-up: TensorFlow's first calls
    rows = []
    for size in FLAGS.sizes:
        width, height = (int(v) for v in size.lower().split("x"))
        rows.append(_measure(width, height, kernel, rng))
        print(json.dumps(rows[-1]), flush=True)
    result = {"scale": SCALE, "steps": STEPS, "kernel": FLAGS.kernel,
              "repeats": FLAGS.repeats, "machine": report.machine()["summary"], "rows": rows}
    report.write_json(FLAGS.json, result)
    table = "\n".join(
        f"| {r['lr']} | {r['sr']} | {r['dense_downscale_s']:.2f} s | "
        f"{r['strided_downscale_s']:.3f} s | {r['max_abs_difference']:.1e} | "
        f"{r['back_projection_bicubic_s']:.2f} s | {r['back_projection_kernel_s']:.2f} s |"
        for r in rows)
    body = f"""\
`benchmarks/bench_resample.py`: MATLAB's antialiased bicubic x{SCALE} downscale of an SR image
(the sons' degradation of the bicubic-son presets, used by back-projection and LR-PSNR),
computed with dense matrices (`degrade.imresize`, O(H^2 W)) and as a strided convolution
(`degrade.downscale_bicubic`, O(H W); the same taps and borders), and {STEPS} steps of
`inference.back_project` with bicubic sons and with the kernel `{FLAGS.kernel}`. Best of
{FLAGS.repeats} runs (the dense path: one run). Machine: {result['machine']}.

| LR | SR | dense downscale | strided downscale | largest difference | back-projection, bicubic | back-projection, kernel |
|---|---|---|---|---|---|---|
{table}"""
    report.replace_section(FLAGS.markdown, "Back-projection speed", body)


if __name__ == "__main__":
    app.run(main)
