#!/usr/bin/env python3
"""Training variants on a few images, each scored with every test-time option.

One run per (variant, image): a network is trained on the LR image with a
preset (``zssr`` by default, kernel-aware) and the variant's settings (final
iteration, no ground truth), then scored (mzsr PSNR-Y, LPIPS) as the network
alone, with the self-ensemble, with 3 or 10 back-projection steps, with the
ensemble and 3 steps, and with the ensemble and 10 steps (the ``zssr``
preset's output). One JSON per run in ``--out/<variant>/<image>.json``
(existing ones are skipped, so the script resumes); then a Markdown table of
the means over the images, in ``--out/results.md``.

Example:
  python -m benchmarks.ablate --variant l1_600= \\
      --variant percep1=lambda_percep=1.0,gan_warmup=300 --names baby,butterfly
"""

import json
import os
import time

import numpy as np
from absl import app, flags

from benchmarks import evaluation, report
from zsrgan_tf import config as config_lib
from zsrgan_tf import files, imaging, inference, train
from zsrgan_tf.lpips import LPIPS

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", os.path.join(os.environ.get("ZSRGAN_DATA", "."), "Set5"),
                    "Folder with HR/ and LR_g20_x2/; default $ZSRGAN_DATA/Set5.")
flags.DEFINE_string("preset", "zssr", "Preset the variants start from.")
flags.DEFINE_string("kernel", "gaussian:2.0", "Kernel spec (default: the g20 kernel).")
flags.DEFINE_string("base", "iterations=600,lr_decay_steps=400/520",
                    "Settings on top of --preset shared by all variants.")
flags.DEFINE_multi_string("variant", [], "NAME=key=value,... (settings on top of --base).")
flags.DEFINE_list("names", ["baby", "butterfly"], "Images.")
flags.DEFINE_string("out", "results/benchmarks/kernel_aware_variants", "Results folder.")

# name -> test-time options; "ens_bp10" is what the zssr preset outputs. Runs
# recorded before "bp10" was added show "-" in its column.
INFERENCE = {
    "net": {"ensemble": False, "back_projection": 0},
    "ens": {"ensemble": True, "back_projection": 0},
    "bp3": {"ensemble": False, "back_projection": 3},
    "bp10": {"ensemble": False, "back_projection": 10},
    "ens_bp3": {"ensemble": True, "back_projection": 3},
    "ens_bp10": {"ensemble": True, "back_projection": 10},
}


def _run(config, lr, hr, lpips):
    t0 = time.perf_counter()
    model, history = train.train_on_image(lr, config)
    record = {"config": config.to_dict(), "train_seconds": round(time.perf_counter() - t0, 1),
              "iterations_run": len(history.history["l_g_pix"]),
              "final_losses": {k: float(np.mean(v[-20:])) for k, v in history.history.items()},
              "machine": report.machine()["summary"]}
    for name, options in INFERENCE.items():
        sr = inference.super_resolve(model, lr, config.replace(**options))
        scores = evaluation.score(sr, hr, config.scale, lpips)
        record[name] = {"psnr_y_mzsr": scores["mzsr"]["psnr_y"], "lpips": scores["lpips"]}
    return record


def _table(out):
    lines = ["| variant | images | train s/image | " + " | ".join(
        f"{n} PSNR-Y / LPIPS" for n in INFERENCE) + " |", "|---" * (3 + len(INFERENCE)) + "|"]
    for variant in sorted(os.listdir(out)):
        folder = os.path.join(out, variant)
        if not os.path.isdir(folder):
            continue
        records = []
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name)) as f:
                records.append(json.load(f))
        if not records:
            continue
        cells = [f"{np.mean([r[n]['psnr_y_mzsr'] for r in records]):.2f} / "
                 f"{np.mean([r[n]['lpips'] for r in records]):.4f}"
                 if all(n in r for r in records) else "-" for n in INFERENCE]
        names = ", ".join(f[:-5] for f in sorted(os.listdir(folder)))
        seconds = np.mean([r["train_seconds"] for r in records])
        lines.append(f"| `{variant}` | {names} | {seconds:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    del argv
    lpips = LPIPS()
    base = config_lib.preset(FLAGS.preset, kernel=FLAGS.kernel,
                             **config_lib.parse_overrides(FLAGS.base))
    pairs = {n: (lr, hr) for n, lr, hr in evaluation.dataset_pairs(FLAGS.dataset)}
    for spec in FLAGS.variant:
        variant, _, settings = spec.partition("=")
        config = base.replace(**config_lib.parse_overrides(settings))
        os.makedirs(os.path.join(FLAGS.out, variant), exist_ok=True)
        for name in FLAGS.names:
            path = os.path.join(FLAGS.out, variant, f"{name}.json")
            if os.path.exists(path):
                continue
            lr_path, hr_path = pairs[name]
            record = _run(config, imaging.read_image(lr_path), imaging.read_image(hr_path), lpips)
            files.write_bytes(path, json.dumps(record, indent=1).encode())
            print(variant, name, {n: round(record[n]["lpips"], 4) for n in INFERENCE}, flush=True)
    table = _table(FLAGS.out)
    with open(os.path.join(FLAGS.out, "results.md"), "w") as f:
        f.write(f"Base: {FLAGS.preset} preset, kernel {FLAGS.kernel}, {FLAGS.base}; means over the images "
                f"(PSNR-Y: mzsr protocol; LPIPS-VGG).\n\n{table}\n")
    print(table)


if __name__ == "__main__":
    app.run(main)
