#!/usr/bin/env python3
"""Training speed per preset, precision and compiler, against this CPU's FLOP limit.

Each row (``preset:precision[:xla]``) runs in its own process (so peak memory is
its own) and trains on ``--image`` for the preset's length or ``--iterations``
of it, extrapolating the full run from the median iteration time. Per row:
ms per iteration (median after ``--warmup``), analytic FLOPs per iteration
(``benchmarks.flops``), achieved GFLOP/s and its share of the CPU's peak, the
input pipeline's own time per batch, peak resident memory, train_step traces,
and projected minutes per image.

Peak FLOP/s: cores x clock (from the CPU model name) x FLOPs per cycle per core,
taking 2 FMA units x 16 fp32 lanes x 2 = 64 with AVX-512 (32 with AVX2 only);
a measured 2048x2048 fp32 matmul gives the practical roof beside it.

Writes ``--json`` and replaces the "Training speed" section of ``--markdown``.

Example:
  python -m benchmarks.bench_speed --image $ZSRGAN_DATA/Set5/LR_g20_x2/baby.png \
      --rows paper:float32=60,cpu:float32
"""

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

import keras
import tensorflow as tf
from absl import app, flags

import zsrgan_tf
from benchmarks import flops, report
from zsrgan_tf import estimate, precision, train

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "Input LR image.")
flags.DEFINE_list(
    "rows",
    ["paper:float32=60", "paper:mixed_bfloat16=30", "paper:float32:xla=20", "cpu:float32",
     "cpu:mixed_bfloat16=100"],
    "preset:precision[:xla][=iterations]; without =N the full preset runs.",
)
flags.DEFINE_integer("warmup", 5, "Iterations excluded from the median.")
flags.DEFINE_string("json", "results/benchmarks/speed.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")
flags.DEFINE_string("section", "Training speed", "Title of that section (one per machine).")
flags.DEFINE_string("one_row", None, "Internal: measure this row in this process.")
flags.mark_flag_as_required("image")


class IterationClock(keras.callbacks.Callback):
    """Wall-clock time at the end of every iteration (= epoch)."""

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())


def pipeline_ms_per_batch(lr, config, xla, block, batches=100):
    """Time per batch of the father/son pipeline a row trains on, alone (after 10
    warm-up batches)."""
    degradation, _ = estimate.resolve(config.kernel, lr, config.scale)
    dataset = train.training_dataset(lr, config, degradation, xla, block)
    iterator = iter(dataset)
    for _ in range(10):
        next(iterator)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return 1000 * (time.perf_counter() - t0) / batches


def measure_row(spec, lr):
    name, policy, *rest = spec.split("=")[0].split(":")
    xla = rest == ["xla"]
    full = zsrgan_tf.preset(name, precision=policy)
    limit = int(spec.split("=")[1]) if "=" in spec else full.iterations
    config = full.replace(iterations=min(limit, full.iterations))
    clock = IterationClock()
    t0 = time.perf_counter()
    model, _ = zsrgan_tf.train_on_image(lr, config, [clock], jit_compile=xla)
    wall = time.perf_counter() - t0
    steps = [b - a for a, b in zip(clock.times, clock.times[1:])]
    median = statistics.median(steps[FLAGS.warmup :])
    work = flops.iteration_flops(model, config.batch_size, config.crop_size)
    return {
        "row": spec,
        "preset": name,
        "precision": model.generator.dtype_policy.name,
        "xla": bool(model.jit_compile),
        "settings": full.to_dict(),
        "iterations_run": config.iterations,
        "iterations_full": full.iterations,
        "median_ms_per_it": round(1000 * median, 1),
        "first_it_s": round(steps[0], 2),
        "flops_per_it": work["per_iteration"],
        "flops_forward_per_image": {k: work[k] for k in ("generator", "vgg", "discriminator")},
        "gflops_per_s": round(work["per_iteration"] / median / 1e9, 1),
        "pipeline_ms_per_batch": round(
            pipeline_ms_per_batch(lr, config, model.jit_compile, model.generator.block), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "train_step_traces": model.train_step_traces,
        "wall_s_measured": round(wall, 1),
        "wall_s_full": round(wall + median * (full.iterations - config.iterations), 1),
        "extrapolated": config.iterations < full.iterations,
    }


def matmul_roof_gflops(n=2048, repeats=20):
    a = tf.random.normal((n, n))
    matmul = tf.function(lambda x: tf.matmul(x, x))
    matmul(a).numpy()
    t0 = time.perf_counter()
    for _ in range(repeats):
        matmul(a).numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def peak_gflops(machine):
    clock = re.search(r"@ ([\d.]+)GHz", machine["cpu"])
    if not clock:
        return None
    per_cycle = 64 if "avx512f" in machine["features"] else 32
    return machine["cores"] * float(clock.group(1)) * per_cycle


def markdown(result):
    peak, roof = result["peak_gflops"], result["matmul_roof_gflops"]
    peak_text = (f"Peak fp32: {peak:.0f} GFLOP/s (cores x clock x 64 FLOP/cycle: 2 AVX-512 FMA "
                 "units x 16 lanes x 2)" if peak else
                 "Peak fp32: not known (the CPU's name gives no clock)")
    lines = [
        f"Image: `{result['image']}` ({result['image_size'][0]}x{result['image_size'][1]}), x2, "
        f"seed 0. TensorFlow {result['versions']['tensorflow']}, Keras "
        f"{result['versions']['keras']}.",
        f"Machine: {result['machine']['summary']}. {peak_text}; measured "
        f"2048^2 fp32 matmul: {roof:.0f} GFLOP/s.",
        f"ms/iteration: median after the first {FLAGS.warmup} iterations; FLOPs: convolutions, "
        "forward + backward (`benchmarks/flops.py`); projected time: measured wall time "
        "(start-up and tracing included) + median x remaining iterations. Pipeline: the "
        "father/son tf.data pipeline alone, ms per batch. Raw: `" + FLAGS.json + "`.",
        "",
        "| preset | precision | XLA | iterations measured | ms/iteration | GFLOP/iteration "
        "| GFLOP/s | % of peak | % of matmul | pipeline ms/batch | peak RSS MiB "
        "| traces | minutes per image |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        gflops = r["gflops_per_s"]
        how = f"{r['iterations_run']} of {r['iterations_full']}"
        lines.append(
            f"| `{r['preset']}` | {r['precision']} | {'on' if r['xla'] else 'off'} | {how} "
            f"| {r['median_ms_per_it']:.0f} | {r['flops_per_it'] / 1e9:.1f} | {gflops:.0f} "
            f"| {f'{100 * gflops / peak:.0f}%' if peak else 'n/a'} | {100 * gflops / roof:.0f}% "
            f"| {r['pipeline_ms_per_batch']:.1f} | {r['peak_rss_mib']} | {r['train_step_traces']} "
            f"| {r['wall_s_full'] / 60:.1f}{' (projected)' if r['extrapolated'] else ''} |"
        )
    return "\n".join(lines)


def main(argv):
    del argv
    lr = zsrgan_tf.read_image(FLAGS.image)
    if FLAGS.one_row:
        print(json.dumps(measure_row(FLAGS.one_row, lr)))
        return
    rows = []
    for spec in FLAGS.rows:
        out = subprocess.run(
            [sys.executable, __file__, "--image", FLAGS.image, "--one_row", spec,
             "--warmup", str(FLAGS.warmup)],
            check=True, capture_output=True, text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    machine = report.machine()
    result = {
        "image": os.path.relpath(FLAGS.image),
        "image_size": list(lr.shape[:2]),
        "machine": machine,
        "peak_gflops": peak_gflops(machine),
        "matmul_roof_gflops": round(matmul_roof_gflops(), 1),
        "auto_precision": precision.resolve("auto"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "rows": rows,
    }
    report.write_json(FLAGS.json, result)
    body = markdown(result)
    report.replace_section(FLAGS.markdown, FLAGS.section, body)
    print(body)


if __name__ == "__main__":
    app.run(main)
