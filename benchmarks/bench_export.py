#!/usr/bin/env python3
"""Exported upscalers: file size, error against Keras, quality and LiteRT CPU latency.

Trains a generator on ``--image`` (``--preset`` for ``--iterations``; or loads
``--generator``, a saved ``generator.keras``), exports every TFLite variant
(fp32, fp16, int8; dynamic size and a fixed ``--tile`` input) and, per variant,
measures on the whole image (256x256 -> 512x512 for Set5 'baby'):

- file size;
- max |LiteRT - Keras| over the SR image (float outputs in [0, 1]);
- PSNR-Y (``mzsr`` protocol) against ``--hr`` when given, Keras first;
- LiteRT CPU latency: median of ``--repeats`` calls after one warm-up, with
  ``--threads`` threads (XNNPACK), input already resized and allocated.
  Fixed-size files run on a ``--tile`` x ``--tile`` input instead.

Writes ``--json`` and replaces the "Export (LiteRT)" section of ``--markdown``.

Example:
  python -m benchmarks.bench_export --image $ZSRGAN_DATA/Set5/LR_g20_x2/baby.png \
      --hr $ZSRGAN_DATA/Set5/HR/baby.png
"""

import importlib.metadata
import json
import os
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags
from ai_edge_litert.interpreter import Interpreter

import zsrgan_tf
from benchmarks import report
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import export, metrics, upscaler

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "LR image to upscale.")
flags.DEFINE_string("hr", None, "Optional HR image for PSNR-Y.")
flags.DEFINE_string("generator", None, "A generator.keras to export (default: train one).")
flags.DEFINE_string("preset", "fast", "Preset for the generator trained here.")
flags.DEFINE_integer("iterations", 600, "Iterations for the generator trained here.")
flags.DEFINE_integer("scale", 2, "SR factor of the generator trained here, or of a "
                     "--generator without its run's config.json (which gives scale and grid).")
flags.DEFINE_integer("tile", 256, "Input side of the fixed-size files.")
flags.DEFINE_integer("repeats", 10, "Timed LiteRT calls per variant.")
flags.DEFINE_integer("threads", os.cpu_count(), "LiteRT CPU threads.")
flags.DEFINE_string("json", "results/benchmarks/export.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")
flags.mark_flag_as_required("image")


def _latency(runner, x):
    runner(lr=x)  # warm-up: resize, allocate, XNNPACK packing
    times = []
    for _ in range(FLAGS.repeats):
        t0 = time.perf_counter()
        out = runner(lr=x)["output_0"]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv):
    del argv
    lr = zsrgan_tf.read_image(FLAGS.image)
    if FLAGS.generator:
        generator = keras.saving.load_model(FLAGS.generator)
        source = f"loaded from {FLAGS.generator}"
        config = zsrgan_tf.TrainConfig(scale=FLAGS.scale)  # bicubic sons: the centre grid
        run_record = os.path.join(os.path.dirname(FLAGS.generator), "config.json")
        if os.path.exists(run_record):  # written by scripts/train_one.py
            with open(run_record) as f:
                run = json.load(f)
            config = zsrgan_tf.TrainConfig.from_dict(run["config"])
            source = (f"trained by train_one.py on {os.path.basename(run['input']['path'])}: "
                      f"preset {run['preset']}, {config.iterations} iterations, "
                      f"seed {config.seed}")
    else:
        config = zsrgan_tf.preset(FLAGS.preset, iterations=FLAGS.iterations, scale=FLAGS.scale)
        generator = zsrgan_tf.train_on_image(lr, config)[0].generator
        source = f"trained here: preset {FLAGS.preset}, {FLAGS.iterations} iterations, seed 0"
    scale, grid = config.scale, degradation_lib.parse(config.kernel).grid
    source += f", x{scale}, {grid} grid, trained in {generator.dtype_policy.name}"
    # Exports run in float32 (a bf16 generator is copied), and so does the Keras reference.
    generator = export.float32_copy(generator)
    hr = zsrgan_tf.read_image(FLAGS.hr) if FLAGS.hr else None
    x = lr[None]
    reference = upscaler.float_upscaler(generator, scale, grid)(x).numpy()
    rows = []
    keras_psnr = metrics.psnr(reference[0], hr, "mzsr", scale) if hr is not None else None
    tile_x = np.ascontiguousarray(x[:, : FLAGS.tile, : FLAGS.tile])
    with tempfile.TemporaryDirectory() as tmp:
        for quantization in export.QUANTIZATIONS:
            for tile in (None, FLAGS.tile):
                path = os.path.join(tmp, "m.tflite")
                export.save_tflite(generator, scale, path, quantization, tile, grid=grid)
                interpreter = Interpreter(model_path=path, num_threads=FLAGS.threads)
                runner = interpreter.get_signature_runner("serve")
                row = {"weights": quantization,
                       "input": f"1x{tile}x{tile}x3" if tile else "dynamic",
                       "bytes": os.path.getsize(path)}
                if tile is None:
                    seconds, out = _latency(runner, x)
                    row["max_abs_vs_keras"] = float(np.abs(out - reference).max())
                    if hr is not None:
                        row["psnr_y_mzsr"] = metrics.psnr(np.clip(out[0], 0, 1), hr, "mzsr", scale)
                    row["latency_shape"] = f"{lr.shape[1]}x{lr.shape[0]}"
                else:
                    seconds, out = _latency(runner, tile_x)
                    want = reference[:, : FLAGS.tile * scale, : FLAGS.tile * scale]
                    # Away from the tile's inner edges (where the whole image has context).
                    inner = FLAGS.tile * scale - 32
                    row["max_abs_vs_keras"] = float(
                        np.abs(out[:, :inner, :inner] - want[:, :inner, :inner]).max())
                    row["latency_shape"] = f"{FLAGS.tile}x{FLAGS.tile}"
                row["latency_ms"] = seconds * 1e3
                rows.append(row)
                print(row, flush=True)
    t0 = time.perf_counter()
    for _ in range(3):
        upscaler.float_upscaler(generator, scale, grid)(x)
    keras_ms = (time.perf_counter() - t0) / 3 * 1e3
    record = {"machine": report.machine(), "generator": source, "image": FLAGS.image,
              "threads": FLAGS.threads, "repeats": FLAGS.repeats, "keras_psnr_y_mzsr": keras_psnr,
              "keras_eager_ms": keras_ms, "rows": rows,
              "versions": {"zsrgan_tf": zsrgan_tf.__version__, "tensorflow": tf.__version__,
                           "ai_edge_litert": importlib.metadata.version("ai-edge-litert")}}
    os.makedirs(os.path.dirname(FLAGS.json), exist_ok=True)
    with open(FLAGS.json, "w") as f:
        json.dump(record, f, indent=2)
    report.replace_section(FLAGS.markdown, "Export (LiteRT)", _markdown(record))
    print(_markdown(record))


def _markdown(record):
    lines = [
        (f"`benchmarks/bench_export.py` on {record['machine']['summary']}, LiteRT "
        f"(ai-edge-litert, XNNPACK) with {record['threads']} threads, median of "
        f"{record['repeats']} calls after a warm-up, other work paused. Generator {record['generator']}; input "
        f"`{record['image']}`. Error: max |LiteRT - Keras| over the SR image in [0, 1] "
        "(fixed-size files: on their tile, away from its inner edges). PSNR-Y: `mzsr` protocol "
        f"against HR (Keras: {record['keras_psnr_y_mzsr'] or float('nan'):.2f} dB). "
        f"Keras (eager, same machine): {record['keras_eager_ms']:.0f} ms per whole image. "
        f"Raw: `{FLAGS.json}`."),
        "",
        "| weights | input | file size | max abs error | PSNR-Y | latency input | LiteRT latency |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        psnr = f"{r['psnr_y_mzsr']:.2f}" if "psnr_y_mzsr" in r else "-"
        lines.append(
            f"| {r['weights']} | {r['input']} | {r['bytes'] / 1024:.0f} KiB | "
            f"{r['max_abs_vs_keras']:.1e} | {psnr} | {r['latency_shape']} | "
            f"{r['latency_ms']:.0f} ms |")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
