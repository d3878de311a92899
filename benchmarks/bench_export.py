#!/usr/bin/env python3
"""Exported upscalers: latency and error of the test-time variants, LiteRT and browser.

Trains a generator on ``--image`` (``--preset`` with ``--kernel``, ``--iterations``)
and exports it three ways: the network alone, + back-projection (the preset's
corrections, 10 for every preset that uses it), + self-ensemble (8 transforms for
bicubic or isotropic sons) with back-projection: what ``train_one`` writes. Each
variant is written with fp32, fp16 and int8 weights. Inputs: ``--sizes`` (LR,
WxH), made from the image by MATLAB bicubic resizing.

- LiteRT (ai-edge-litert, XNNPACK, ``--threads`` threads), dynamic-size files:
  median of ``--repeats`` calls after one warm-up; the error is the largest
  difference from the Keras graph of the same variant (the library's inference),
  in 8-bit grey levels.
- The browser page (web/, headless Chromium, LiteRT.js on WebAssembly with
  threads; ``--browser``): fixed-size files (``--browser_tile``, the card's context),
  the time the page reports (the model loaded and compiled anew for each run,
  as for a visitor), median of ``--browser_repeats`` runs; the error is the largest
  difference of the page's saved PNG from the Python LiteRT runner's
  (``scripts/upscale_tflite.py``) on the same file. WebGPU rows when the browser has
  an adapter.

Writes ``--json`` and replaces the "Export (LiteRT)" section of ``--markdown``.
Pause other work on the machine while it runs.

Example:
  python -m benchmarks.bench_export --image samples/chelsea.png --browser
"""

import importlib.metadata
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import tensorflow as tf
from absl import app, flags
from ai_edge_litert.interpreter import Interpreter
from PIL import Image

import zsrgan_tf
from benchmarks import report
from zsrgan_tf import degrade, export, imaging, inference, upscaler

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "LR image the generator is trained on and inputs made from.")
flags.DEFINE_string("preset", "zssr-subpixel", "Preset of the generator trained here.")
flags.DEFINE_string("kernel", "bicubic", "Degradation of its sons (docs/degradations.md).")
flags.DEFINE_integer("iterations", 300, "Training iterations (latency does not depend on them).")
flags.DEFINE_list("sizes", ["256x256", "1000x750"], "LR input sizes, WxH.")
flags.DEFINE_integer("repeats", 5, "Timed LiteRT calls per row.")
flags.DEFINE_integer("threads", os.cpu_count(), "LiteRT CPU threads.")
flags.DEFINE_bool("browser", False, "Also time the browser page (Debian's chromium, web/ "
                  "installed with npm ci, playwright).")
flags.DEFINE_list("browser_tile", ["256", "512"], "Fixed input sides for the browser, one "
                  "per size in --sizes.")
flags.DEFINE_integer("browser_repeats", 1, "Timed browser runs per row (each loads the "
                     "model anew, as a visitor's does).")
flags.DEFINE_string("json", "results/benchmarks/export.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")
flags.mark_flag_as_required("image")

VARIANTS = ("network", "+ back-projection", "+ ensemble")


def _test_time(variant, config, degradation):
    projections = config.back_projection or 10
    return {"network": inference.TestTime(degradation),
            "+ back-projection": inference.TestTime(degradation, False, projections),
            "+ ensemble": inference.TestTime(degradation, True, projections)}[variant]


def _inputs(lr):
    out = {}
    for size in FLAGS.sizes:
        width, height = map(int, size.split("x"))
        out[size] = np.clip(degrade.imresize(lr, (height, width)).numpy(), 0, 1)
    return out


def _litert_rows(generator, config, degradation, inputs, folder):
    rows = []
    for variant in VARIANTS:
        test_time = _test_time(variant, config, degradation)
        graph = upscaler.float_upscaler(generator, config.scale, test_time)
        for quantization in export.QUANTIZATIONS:
            path = os.path.join(folder, f"{variant.strip('+ ')}_{quantization}.tflite")
            export.save_tflite(generator, config.scale, path, quantization,
                               test_time=test_time)
            runner = Interpreter(model_path=path, num_threads=FLAGS.threads
                                 ).get_signature_runner("serve")
            for size, x in inputs.items():
                out = runner(lr=x[None])["output_0"]  # warm-up: resize, allocate, pack
                times = []
                for _ in range(FLAGS.repeats):
                    t0 = time.perf_counter()
                    out = runner(lr=x[None])["output_0"]
                    times.append(time.perf_counter() - t0)
                want = graph(x[None]).numpy()
                row = {"runner": "LiteRT", "variant": variant, "weights": quantization,
                       "size": size, "bytes": os.path.getsize(path),
                       "seconds": statistics.median(times),
                       "max_levels_vs_keras": float(np.abs(out - want).max() * 255)}
                rows.append(row)
                print(row, flush=True)
    return rows


def _browser_rows(generator, config, degradation, inputs, folder):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "scripts"))
    import serve_web
    import upscale_tflite
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    server = serve_web.serve(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = []
    flags_ = ["--no-sandbox", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--enable-unsafe-webgpu"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=flags_)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_function("document.body.dataset.state == 'ready'", timeout=120_000)
        accelerators = page.eval_on_selector_all("#accelerator option", "o => o.map(e => e.value)")
        for variant in VARIANTS[1:]:
            test_time = _test_time(variant, config, degradation)
            card = os.path.join(folder, export.CARD)
            export.write_card(generator, config.scale, folder, test_time)
            for (size, x), tile in zip(inputs.items(), map(int, FLAGS.browser_tile)):
                image = os.path.join(folder, f"{size}.png")
                Image.fromarray(imaging.to_uint8(x)).save(image)
                for quantization in export.QUANTIZATIONS:
                    path = os.path.join(folder, f"tile{tile}_{quantization}.tflite")
                    export.save_tflite(generator, config.scale, path, quantization, tile,
                                       test_time=test_time)
                    want = imaging.to_uint8(upscale_tflite.Upscaler(path).upscale(
                        imaging.to_uint8(x), pad=inference.context(
                            generator, config.scale, test_time))).astype(int)
                    for accelerator in accelerators:
                        row = {"runner": "browser", "variant": variant,
                               "weights": quantization, "size": size, "tile": tile,
                               "accelerator": accelerator}
                        seconds = []
                        for _ in range(FLAGS.browser_repeats):
                            page.evaluate("document.body.dataset.state = 'ready'")
                            page.select_option("#accelerator", accelerator)
                            page.set_input_files("#model", path)
                            page.set_input_files("#card", card)
                            page.set_input_files("#image", image)
                            page.click("#run")
                            page.wait_for_function(
                                "['done', 'error'].includes(document.body.dataset.state)",
                                timeout=3_600_000)
                            status = page.inner_text("#status")
                            found = re.search(r" in ([0-9.]+) s \((\w+), (\d+) thread", status)
                            if not found:  # recorded: this runner cannot run the file
                                row["error"] = status
                                break
                            seconds.append(float(found.group(1)))
                            row["threads"] = int(found.group(3))
                        else:
                            row["seconds"] = statistics.median(seconds)
                            with page.expect_download() as download:
                                page.click("#save")
                            png = os.path.join(folder, "page.png")
                            download.value.save_as(png)
                            got = np.asarray(Image.open(png).convert("RGB")).astype(int)
                            row["max_levels_vs_litert"] = float(np.abs(got - want).max())
                        rows.append(row)
                        print(row, flush=True)
        version = browser.version
        browser.close()
    server.shutdown()
    return rows, version


def main(argv):
    del argv
    lr = zsrgan_tf.read_image(FLAGS.image)
    config = zsrgan_tf.preset(FLAGS.preset, kernel=FLAGS.kernel, iterations=FLAGS.iterations,
                              precision="float32")
    model, _ = zsrgan_tf.train_on_image(lr, config)
    inputs = _inputs(lr)
    with tempfile.TemporaryDirectory() as folder:
        rows = _litert_rows(model.generator, config, model.degradation, inputs, folder)
        browser = None
        if FLAGS.browser:
            browser_rows, browser = _browser_rows(model.generator, config, model.degradation,
                                                  inputs, folder)
            rows += browser_rows
    record = {"machine": report.machine(), "image": FLAGS.image,
              "generator": (f"preset {FLAGS.preset}, --kernel {FLAGS.kernel}, "
                            f"{FLAGS.iterations} iterations on the image, float32"),
              "threads": FLAGS.threads, "repeats": FLAGS.repeats,
              "browser_repeats": FLAGS.browser_repeats, "rows": rows,
              "versions": {"zsrgan_tf": zsrgan_tf.__version__, "tensorflow": tf.__version__,
                           "ai_edge_litert": importlib.metadata.version("ai-edge-litert"),
                           "chromium": browser}}
    report.write_json(FLAGS.json, record)
    report.replace_section(FLAGS.markdown, "Export (LiteRT)", _markdown(record))
    print(_markdown(record))


def _markdown(record):
    network = {(r["weights"], r["size"]): r["seconds"] for r in record["rows"]
               if r["runner"] == "LiteRT" and r["variant"] == "network"}
    lines = [
        (f"`python -m benchmarks.bench_export` on {record['machine']['summary']}, other work "
         f"paused. Generator: {record['generator']} (`{record['image']}`); inputs made from it "
         "by bicubic resizing. LiteRT: ai-edge-litert (XNNPACK), "
         f"{record['threads']} threads, dynamic-size files, median of {record['repeats']} calls "
         "after a warm-up; error: largest difference from the Keras graph of the same variant "
         "(the library's inference), grey levels of 255. Browser: the page in web/, headless "
         f"Chromium {record['versions']['chromium']}, LiteRT.js on WebAssembly with the "
         "threads it reports, fixed-size files (tile = their input side) run tile by tile with "
         "the card's context, time the page reports (the upscaling alone, the model already "
         f"loaded and compiled), median of {record['browser_repeats']} run(s); its error: the "
         "saved PNG against the Python LiteRT runner's on the same file, grey levels. "
         "\"+ ensemble\" includes the back-projection: what `train_one` writes. "
         f"Raw: `{FLAGS.json}`."),
        "",
        "| runner | variant | weights | LR input | file size | seconds | x network alone (LiteRT) | "
        "max error (levels) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in record["rows"]:
        if "error" in r:
            lines.append(f"| browser, {r['accelerator']}, tile {r['tile']} | {r['variant']} | "
                         f"{r['weights']} | {r['size']} | - | fails: "
                         f"{r['error'].splitlines()[0][:80]} | - | - |")
            continue
        runner = (r["runner"] if r["runner"] == "LiteRT" else
                  f"browser, {r['accelerator']}, {r['threads']} threads, tile {r['tile']}")
        base = network.get((r["weights"], r["size"])) if r["runner"] == "LiteRT" else None
        size = f"{r['bytes'] / 1024:.0f} KiB" if "bytes" in r else "-"
        error = (f"{r['max_levels_vs_keras']:.2f}" if "max_levels_vs_keras" in r else
                 f"{r['max_levels_vs_litert']:.0f} (vs LiteRT)")
        ratio = f"{r['seconds'] / base:.2f}" if base else "-"
        lines.append(f"| {runner} | {r['variant']} | {r['weights']} | {r['size']} | {size} | "
                     f"{r['seconds']:.2f} | {ratio} | {error} |")
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
