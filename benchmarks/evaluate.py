#!/usr/bin/env python3
"""Evaluate a method on a dataset folder of HR/ and LR_g20_x2/ (``--lr_dir``) pairs, resumably.

For each pair (by file name) the method super-resolves the LR image (trained
methods: a new model per image, final iteration, no ground truth), then the
result is scored under both protocols (``zsrgan_tf.metrics``) and with
LPIPS-VGG. Per image, a JSON file is written under ``--out`` as soon as it is
done and the SR image under ``--images_dir``; images with a JSON file are
skipped, and a training run killed midway resumes from its last state in
``--checkpoint_dir``. The JSON also holds the output's ``lr_psnr``
(``inference.lr_psnr`` of the 8-bit PNG as written; older records: of the
float output; computed from the input alone, a check a user without
the ground truth can make too). ``--summary_only`` writes the tables of the images done
so far without training. At the end: ``results.csv``, ``summary.json`` and
``results.md`` (mean and per image, every number labelled with its protocol)
in ``--out``, and ``figure.png`` beside it: the same crop of LR
(nearest-upscaled), bicubic, each method found in ``--images_dir``'s parent,
and HR.

Example:
  python -m benchmarks.evaluate --dataset $ZSRGAN_DATA/Set5 --method zsrgan --preset paper

Other degradations: make the LR inputs with ``benchmarks/degrade_dataset.py`` and
pass their folder as ``--lr_dir``.
"""

import csv
import json
import os
import sys

import numpy as np
from absl import app, flags
from PIL import Image, ImageDraw

import zsrgan_tf
from benchmarks import evaluation, report
from zsrgan_tf import callbacks, files, imaging, inference, kernels
from zsrgan_tf import config as config_lib
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf.lpips import LPIPS

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Folder with HR/ and LR_g20_x2/.")
flags.DEFINE_enum("method", "zsrgan", list(evaluation.METHODS), "Method to evaluate.")
flags.DEFINE_enum("preset", "paper", sorted(config_lib.PRESETS),
                  "Training preset (trained methods).")
flags.DEFINE_integer("iterations", None, "Override the preset's iterations.")
flags.DEFINE_string("kernel", None, "Kernel spec for kernel-aware sons (see train_one --kernel); "
                    "default: the preset's.")
flags.DEFINE_string("settings", "", "More TrainConfig overrides, key=value,... "
                    "(tuples with '/'), named in the results folder.")
flags.DEFINE_string("lr_dir", evaluation.G20_LR_DIR, "Subfolder of --dataset with the LR "
                    "inputs (another than the default is added to the dataset's name in the "
                    "results).")
flags.DEFINE_integer("limit", None, "Only the first N pairs by name.")
flags.DEFINE_list("names", None, "Only these images, in this order (after --limit).")
flags.DEFINE_string("out", None, "Results folder (default results/<dataset>/<method>-<preset>).")
flags.DEFINE_string("images_dir", None, "SR images (default: --out).")
flags.DEFINE_string(
    "checkpoint_dir", os.path.join("results", "checkpoints", "evaluate"),
    "Training states of unfinished images (results/ is not committed; it outlives "
    "~/.cache on machines whose home folder is reset).",
)
flags.DEFINE_bool("summary_only", False, "Train nothing: write the tables and figure from the "
                  "images done so far (e.g. to commit a long run's progress beside it).")
flags.DEFINE_list("figure_images", None, "Names shown in the figure (default: first 3).")
flags.DEFINE_integer("figure_crop", 96, "Side of the HR crop shown in the figure.")
flags.DEFINE_list("figure_methods", None, "Result folders shown in the figure, in order, each "
                  "FOLDER or FOLDER=LABEL (default: every folder beside this one, by name).")
flags.mark_flag_as_required("dataset")

_SCORES = ("psnr_y_mzsr", "ssim_y_mzsr", "psnr_rgb_paper", "ssim_rgb_paper", "lpips", "seconds")
_COLUMNS = ("name", *_SCORES, "machine", "precision")


def _label():
    if FLAGS.method == "bicubic":
        return "bicubic"
    suffix = f"-{FLAGS.iterations}its" if FLAGS.iterations else ""
    if FLAGS.kernel:
        name = (os.path.splitext(os.path.basename(FLAGS.kernel))[0]
                if os.path.exists(FLAGS.kernel)
                else FLAGS.kernel.replace(":", "").replace(",", "-"))
        suffix += f"-k{name}"
    if FLAGS.settings:
        suffix += "-" + FLAGS.settings.replace("=", "").replace(",", "-").replace("/", "_")
    return f"{FLAGS.method}-{FLAGS.preset}{suffix}"


def _row(record):
    s = record["scores"]
    return {"name": record["name"], "psnr_y_mzsr": s["mzsr"]["psnr_y"],
            "ssim_y_mzsr": s["mzsr"]["ssim_y"], "psnr_rgb_paper": s["paper"]["psnr_rgb"],
            "ssim_rgb_paper": s["paper"]["ssim_rgb"], "lpips": s["lpips"],
            "seconds": record["seconds"],
            # The oldest records kept neither.
            "machine": record.get("machine", "machine not recorded"),
            "precision": record.get("dtype_policy", "precision not recorded")}


def _markdown(rows, total, summary):
    # Images may have run on different machines or precisions (resumed runs):
    # one machine is named in the caption, several get a column and a legend.
    runs = sorted({(r["machine"], r["precision"]) for r in rows})
    key = {run: chr(65 + i) for i, run in enumerate(runs)} if len(runs) > 1 else None
    if key:
        where = "the machine and precision in the last column: " + "; ".join(
            f"{k} = {m} ({p})" for (m, p), k in key.items())
    else:
        where = " ".join(f"{m} ({p})" for m, p in runs) or "no machine yet (no image done)"
    lines = [
        f"{summary['dataset']} x{summary['scale']}, method `{summary['method']}`"
        + (f", preset `{summary['preset']}`" if summary["preset"] else "")
        + f": {len(rows)} of {total} images done. Final iteration, no ground truth in training "
        "or selection. PSNR-Y/SSIM-Y: `mzsr` protocol; PSNR/SSIM-RGB: `paper` protocol; "
        f"LPIPS-VGG v0.1; seconds per image on {where}.",
        "",
        ("| image | PSNR-Y (mzsr) | SSIM-Y (mzsr) | PSNR-RGB (paper) | SSIM-RGB (paper) | LPIPS "
         "| seconds |" + (" run |" if key else "")),
        "|---|---|---|---|---|---|---|" + ("---|" if key else ""),
    ]
    fmt = ("{name} | {psnr_y_mzsr:.2f} | {ssim_y_mzsr:.4f} | {psnr_rgb_paper:.2f} | "
           "{ssim_rgb_paper:.4f} | {lpips:.4f} | {seconds:.0f}")
    if rows:
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in _SCORES}
        lines.append("| **mean** | " + fmt.format(name="", **mean).split(" | ", 1)[1]
                     + (" | |" if key else " |"))
    lines += ["| " + fmt.format(**r) + (f" | {key[r['machine'], r['precision']]}" if key else "")
              + " |" for r in rows]
    return "\n".join(lines)


def _ablation(records):
    """Mean scores of the same networks with fewer test-time options (per-image ``variants``)."""
    records = [r for r in records if "variants" in r]
    if not records:
        return ""
    lines = [
        f"Test-time options (the same trained networks, {len(records)} images, means):",
        "",
        "| inference | PSNR-Y (mzsr) | SSIM-Y (mzsr) | LPIPS |",
        "|---|---|---|---|",
    ]
    names = {"network": "network alone", "ensemble": "+ self-ensemble",
             "back_projection": "+ back-projection"}
    columns = [(v, [r["variants"][v] for r in records]) for v in records[0]["variants"]]
    columns.append(("final", [r["scores"] for r in records]))
    for variant, scores in columns:
        mean = {k: np.mean([f(s) for s in scores]) for k, f in (
            ("psnr", lambda s: s["mzsr"]["psnr_y"]), ("ssim", lambda s: s["mzsr"]["ssim_y"]),
            ("lpips", lambda s: s["lpips"]))}
        lines.append(f"| {names.get(variant, 'both (final output)')} | {mean['psnr']:.2f} | "
                     f"{mean['ssim']:.4f} | {mean['lpips']:.4f} |")
    return "\n".join(lines)


def _figure(pairs, images_root, path):
    """Side-by-side crops: LR (nearest), bicubic, each method's SR, HR."""
    if FLAGS.figure_methods:
        methods = [m.partition("=")[0] for m in FLAGS.figure_methods]
        titles = [m.partition("=")[2] or m.partition("=")[0] for m in FLAGS.figure_methods]
    else:
        methods = sorted(d for d in os.listdir(images_root)
                         if os.path.isdir(os.path.join(images_root, d)) and d != "bicubic")
        titles = methods
    names = FLAGS.figure_images or [p[0] for p in pairs[:3]]
    by_name = {p[0]: p for p in pairs}
    scale, c = zsrgan_tf.preset(FLAGS.preset).scale, FLAGS.figure_crop
    labels = ["LR (nearest)", "bicubic", *titles, "HR"]
    header = 14
    canvas = Image.new("RGB", (len(labels) * c, header + len(names) * c), "white")
    draw = ImageDraw.Draw(canvas)
    for col, text in enumerate(labels):
        draw.text((col * c + 2, 1), text[: c // 6], fill="black")
    for row, name in enumerate(names):
        _, lr_path, hr_path = by_name[name]
        lr, hr = imaging.read_image(lr_path), imaging.read_image(hr_path)
        top, left = (hr.shape[0] - c) // 2 // scale * scale, (hr.shape[1] - c) // 2 // scale * scale
        crops = [lr.repeat(scale, 0).repeat(scale, 1),
                 evaluation.super_resolve("bicubic", lr, zsrgan_tf.preset(FLAGS.preset))[0]]
        for method in methods:
            sr_path = os.path.join(images_root, method, f"{name}.png")
            crops.append(imaging.read_image(sr_path) if os.path.exists(sr_path) else None)
        crops.append(hr)
        for col, image in enumerate(crops):
            if image is not None:
                tile = imaging.to_uint8(image[top : top + c, left : left + c])
                canvas.paste(Image.fromarray(tile), (col * c, header + row * c))
    imaging.write_png(path, np.asarray(canvas) / 255.0)
    return labels


def _configure():
    """The run's config and image pairs from the flags.

    Raises:
      ValueError: a one-line message naming the flag or folder and the problem.
    """
    for sub in ("HR", FLAGS.lr_dir):
        if not os.path.isdir(os.path.join(FLAGS.dataset, sub)):
            raise ValueError(f"{os.path.join(FLAGS.dataset, sub)}: no such folder")
    try:
        overrides = config_lib.parse_overrides(FLAGS.settings)
        if FLAGS.iterations:
            overrides["iterations"] = FLAGS.iterations
        if FLAGS.kernel:
            overrides["kernel"] = FLAGS.kernel
        config = zsrgan_tf.preset(FLAGS.preset, **overrides)
        degradation_lib.check(config.kernel)
    except (ValueError, kernels.KernelError) as e:
        raise ValueError(f"--preset/--iterations/--kernel/--settings: {e}") from None
    pairs = evaluation.dataset_pairs(FLAGS.dataset, FLAGS.lr_dir)[: FLAGS.limit]
    if not pairs:
        raise ValueError(f"{FLAGS.dataset}: no image is in both HR/ and {FLAGS.lr_dir}/")
    if FLAGS.names:
        by_name = {pair[0]: pair for pair in pairs}
        missing = [n for n in FLAGS.names if n not in by_name]
        if missing:
            raise ValueError(f"--names: not in {FLAGS.dataset}: {', '.join(missing)}")
        pairs = [by_name[n] for n in FLAGS.names]
    evaluation.check_pair_sizes(pairs, config.scale)
    return config, pairs


def main(argv):
    del argv
    try:
        config, pairs = _configure()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dataset = os.path.basename(os.path.normpath(FLAGS.dataset))
    if FLAGS.lr_dir != evaluation.G20_LR_DIR:
        dataset += f"_{FLAGS.lr_dir}"
    label = _label()
    out = FLAGS.out or os.path.join("results", dataset, label)
    images_dir = FLAGS.images_dir or out
    for folder in (os.path.join(out, "per_image"), images_dir, FLAGS.checkpoint_dir):
        os.makedirs(folder, exist_ok=True)
    trained = evaluation.method_config(FLAGS.method, config)
    lpips = LPIPS()

    for name, lr_path, hr_path in pairs:
        record_path = os.path.join(out, "per_image", f"{name}.json")
        if os.path.exists(record_path) or FLAGS.summary_only:
            continue
        picture = imaging.read_picture(lr_path)
        lr = picture.rgb
        state = os.path.join(FLAGS.checkpoint_dir, f"{dataset}_{label}_{name}.npz")
        progress = callbacks.Progress(config.iterations, every=100)
        sr, info = evaluation.super_resolve(FLAGS.method, lr, config, state, [progress],
                                            picture.jpeg_tables)
        imaging.write_png(os.path.join(images_dir, f"{name}.png"), sr)
        hr = imaging.read_image(hr_path)  # read only now, for scoring
        # LR-PSNR uses the input only: the run's own check of its output, the 8-bit
        # PNG as written (after back-projection its rounding dominates).
        degradation = degradation_lib.parse(info.get("kernel", degradation_lib.BICUBIC))
        lr_psnr = inference.lr_psnr(imaging.as_stored(sr), lr, degradation, config.scale)
        record = {"name": name, "scores": evaluation.score(sr, hr, config.scale, lpips),
                  "lr_psnr": round(lr_psnr, 2),
                  "seconds": round(info["seconds"], 1), "final_losses": info["final_losses"],
                  "dtype_policy": info["dtype_policy"],
                  "config": (trained.replace(kernel=info["kernel"]).to_dict()
                             if trained else None),  # an estimated spec as resolved
                  "evidence": info.get("evidence"),
                  "machine": report.machine()["summary"],
                  "versions": {"zsrgan_tf": zsrgan_tf.__version__}}
        # Ablation of the test-time options: the same network, fewer options.
        variants = info.get("variants", {})
        if variants:
            record["variants"] = {v: evaluation.score(x, hr, config.scale, lpips)
                                  for v, x in variants.items()}
        files.write_bytes(record_path, json.dumps(record, indent=2).encode())
        for leftover in (state, state + ".seconds.json"):
            if os.path.exists(leftover):
                os.remove(leftover)
        print(f"{name}: {record['scores']['mzsr']['psnr_y']:.2f} dB (mzsr), "
              f"LPIPS {record['scores']['lpips']:.4f}, {record['seconds']:.0f} s", flush=True)

    records = []
    for name, _, _ in pairs:
        path = os.path.join(out, "per_image", f"{name}.json")
        if os.path.exists(path):
            with open(path) as f:
                records.append(json.load(f))
    rows = [_row(r) for r in records]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, _COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    summary = {
        "dataset": dataset, "method": FLAGS.method, "scale": config.scale,
        "preset": None if FLAGS.method == "bicubic" else FLAGS.preset,
        "config": None if FLAGS.method == "bicubic" else
        evaluation.method_config(FLAGS.method, config).to_dict(),
        "images_done": len(rows), "images_total": len(pairs),
        "mean": {k: sum(r[k] for r in rows) / len(rows) for k in _SCORES} if rows else {},
        "protocols": {"psnr_y_mzsr": "mzsr", "ssim_y_mzsr": "mzsr", "psnr_rgb_paper": "paper",
                      "ssim_rgb_paper": "paper", "lpips": "LPIPS-VGG v0.1, RGB"},
        "machines": sorted({r["machine"] for r in rows}),
        "versions": {"zsrgan_tf": zsrgan_tf.__version__},
    }
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    table = _markdown(rows, len(pairs), summary)
    ablation = _ablation(records)
    if ablation:
        table += "\n\n" + ablation
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    columns = _figure(pairs, os.path.dirname(os.path.normpath(images_dir)),
                      os.path.join(os.path.dirname(os.path.normpath(out)), "figure.png"))
    print(table)
    print("figure columns:", ", ".join(columns))


if __name__ == "__main__":
    app.run(main)
