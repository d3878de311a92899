#!/usr/bin/env python3
"""Training speed per preset on one image: seconds per iteration and wall time.

For each preset, trains on ``--image`` for the preset's full length or for
``--max_iterations`` (then the full run is extrapolated from the median
iteration time), and records the median seconds per iteration after
``--warmup`` iterations (tracing, first allocations), the measured wall time
and the projected wall time of the full preset. Writes a JSON file and
replaces the "Training speed" section of docs/BENCHMARKS.md.

Example:
  python scripts/bench_speed.py --image ../shared/data/Set5/LR_g20_x2/baby.png \
      --presets paper,cpu --max_iterations paper=60
"""

import json
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402


import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import zsrgan_tf  # noqa: E402
from zsrgan_tf import report  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "Input LR image.")
flags.DEFINE_list("presets", ["paper", "cpu"], "Presets to measure.")
flags.DEFINE_list("max_iterations", [], "preset=N: measure only N iterations and extrapolate.")
flags.DEFINE_integer("warmup", 10, "Iterations excluded from the median.")
flags.DEFINE_string("json", "docs/benchmarks/speed.json", "JSON output.")
flags.DEFINE_string("markdown", "docs/BENCHMARKS.md", "Markdown file whose section is replaced.")
flags.mark_flag_as_required("image")


class IterationClock(keras.callbacks.Callback):
    """Records the wall-clock time at the end of every iteration (= epoch)."""

    def on_train_begin(self, logs=None):
        self.times = [time.perf_counter()]

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter())


def measure(lr, name, limit):
    full = zsrgan_tf.preset(name)
    config = full.replace(iterations=min(limit or full.iterations, full.iterations))
    clock = IterationClock()
    t0 = time.perf_counter()
    zsrgan_tf.train_on_image(lr, config, [clock])
    wall = time.perf_counter() - t0
    steps = [b - a for a, b in zip(clock.times, clock.times[1:])]
    median = statistics.median(steps[FLAGS.warmup :])
    projected = wall + median * (full.iterations - config.iterations)
    return {
        "preset": name,
        "settings": full.to_dict(),
        "iterations_run": config.iterations,
        "iterations_full": full.iterations,
        "median_s_per_it": round(median, 4),
        "first_it_s": round(steps[0], 2),
        "wall_s_measured": round(wall, 1),
        "wall_s_full": round(projected, 1),
        "extrapolated": config.iterations < full.iterations,
    }


def main(argv):
    del argv
    limits = dict(item.split("=") for item in FLAGS.max_iterations)
    lr = zsrgan_tf.read_image(FLAGS.image)
    rows = [measure(lr, name, int(limits.get(name, 0))) for name in FLAGS.presets]
    result = {
        "image": os.path.relpath(FLAGS.image),
        "image_size": list(lr.shape[:2]),
        "machine": report.machine(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "python": platform.python_version()},
        "precision": "float32",
        "rows": rows,
    }
    os.makedirs(os.path.dirname(FLAGS.json) or ".", exist_ok=True)
    with open(FLAGS.json, "w") as f:
        json.dump(result, f, indent=2)
    table = [
        "| preset | iterations | batch x crop | s/iteration (median) | wall time, full run | measured |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        s = r["settings"]
        how = (f"{r['iterations_run']} its, extrapolated" if r["extrapolated"]
               else "full run")
        table.append(
            f"| `{r['preset']}` | {r['iterations_full']} | {s['batch_size']} x {s['crop_size']}^2 "
            f"| {r['median_s_per_it']:.3f} | {r['wall_s_full'] / 60:.1f} min | {how} |"
        )
    body = "\n".join(
        [
            f"Image: `{result['image']}` ({lr.shape[0]}x{lr.shape[1]}), x2, seed 0, "
            f"{result['precision']}, TensorFlow {tf.__version__}, Keras {keras.__version__}.",
            f"Machine: {result['machine']['summary']}.",
            f"Median over iterations after the first {FLAGS.warmup}; the wall time includes "
            "start-up (VGG load, tracing). Raw: `" + FLAGS.json + "`.",
            "",
            *table,
        ]
    )
    report.replace_section(FLAGS.markdown, "Training speed", body)
    print(body)


if __name__ == "__main__":
    app.run(main)
