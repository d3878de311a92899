#!/usr/bin/env python3
"""The degradation matrix: the project's main quality benchmark.

Rows are the ways an LR input can have been made (``ROWS``: bicubic, MZSR's
Gaussian kernels, an anisotropic Gaussian, a camera-like chain with JPEG,
noise; x2, and x4 for bicubic and g20), columns the datasets (``DATASETS``:
Set5, Set14, the first 20 BSD100 images). The inputs are made from the HR
images with ``benchmarks/degrade_dataset.py``'s ``make`` (cached under
``--work``). Each cell is scored for these methods (``METHODS``):

- ``bicubic``: MATLAB bicubic interpolation (the centre grid), the baseline
  every published table has;
- ``auto``: the ``--preset`` (default ``auto``) with ``--kernel auto``: the
  degradation chosen from the image alone;
- ``told``: the same preset told the true degradation (the row's spec);
- ``told_gan``: ``told`` with the paper's perceptual and adversarial losses
  (weights 1 and 1, as the paper) on the same sons: where, if anywhere, the
  GAN terms buy something;
- ``fast``: the ``fast`` preset (the paper's losses on bicubic sons, 300
  steps, back-projection), the default before ``auto``.

Final iteration, no ground truth used before scoring. Per image a JSON record
is written as soon as it is done (``--out``/DATASET/ROW/METHOD/NAME.json), so
a stopped run resumes where it was (training states in ``--work``); images
with a record are skipped. Scores: PSNR/SSIM under the ``mzsr`` protocol
(Y, shave = scale) and the ``paper`` protocol (RGB), LPIPS-VGG, seconds. At
the end (and with ``--summary_only``, which trains nothing) the tables are
written: ``--out``/matrix.md (means, published cells beside them) and
matrix_per_image.md, and matrix.json.

Example (everything; about a day on 2 cores):
  python -m benchmarks.matrix --data $ZSRGAN_DATA
"""

import dataclasses
import json
import os
import sys

import numpy as np
from absl import app, flags

import zsrgan_tf
from benchmarks import evaluation, report
from zsrgan_tf import callbacks, files, imaging, inference
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf.lpips import LPIPS


@dataclasses.dataclass(frozen=True)
class Row:
    """One way of making the LR input: a degradation spec at a scale."""

    name: str
    spec: str
    scale: int
    about: str


ROWS = (
    Row("bicubic_x2", "bicubic", 2, "MATLAB imresize 1/2, antialiased (the classic BI)"),
    Row("g20_x2", "gaussian:2.0", 2, "MZSR g^d_2.0: Gaussian, covariance 2.0, keep pixels 0, 2, ..."),
    Row("gd02_x2", "gaussian:0.2", 2, "MZSR g^d_0.2: Gaussian, covariance 0.2, direct subsampling"),
    Row("gb13_x2", "gaussian:1.3+bicubic", 2, "MZSR g^b_1.3: Gaussian, covariance 1.3, then imresize"),
    Row("aniso_x2", "gaussian:4,1,45", 2, "anisotropic Gaussian, variances 4 and 1, axis at 45 degrees"),
    Row("camera90_x2", "gaussian:0.64+bicubic+jpeg:90", 2,
        "camera-like: Gaussian sigma 0.8, imresize 1/2, JPEG quality 90"),
    Row("camera75_x2", "gaussian:0.64+bicubic+jpeg:75", 2,
        "camera-like: Gaussian sigma 0.8, imresize 1/2, JPEG quality 75"),
    Row("g20noise_x2", "gaussian:2.0+noise:5", 2, "g20, then Gaussian noise of 5 grey levels"),
    Row("bicubic_x4", "bicubic", 4, "MATLAB imresize 1/4, antialiased (BI)"),
    Row("g20_x4", "gaussian:2.0", 4, "MZSR g^d_2.0 at x4: covariance 2.0, keep pixels 0, 4, ..."),
)
# Datasets and how many of their images (None: all).
DATASETS = {"Set5": None, "Set14": None, "BSD100": 20}
METHODS = ("bicubic", "auto", "told", "told_gan", "fast")
# Published PSNR-Y (mzsr protocol) on whole datasets, (row, dataset) -> {method: dB}.
# ZSSR's table 1 (bicubic inputs, BSD100 all 100 images) and MZSR's tables (Set5,
# BSD100 all 100 images; ZSSR there is given the true kernel).
PUBLISHED = {
    ("bicubic_x2", "Set5"): {"bicubic": 33.66, "ZSSR": 37.37},
    ("bicubic_x2", "Set14"): {"bicubic": 30.24, "ZSSR": 33.00},
    ("bicubic_x2", "BSD100"): {"bicubic": 29.56, "ZSSR": 31.65},
    ("bicubic_x4", "Set5"): {"bicubic": 28.42, "ZSSR": 31.13},
    ("bicubic_x4", "Set14"): {"bicubic": 26.00, "ZSSR": 28.01},
    ("bicubic_x4", "BSD100"): {"bicubic": 25.96, "ZSSR": 27.12},
    ("g20_x2", "Set5"): {"bicubic": 28.73, "ZSSR": 34.90, "MZSR-10": 36.05},
    ("g20_x2", "BSD100"): {"bicubic": 26.51, "ZSSR": 30.57, "MZSR-10": 31.09},
    ("g20_x4", "Set5"): {"bicubic": 24.74, "ZSSR": 27.39, "MZSR-10": 30.50},
    ("g20_x4", "BSD100"): {"bicubic": 24.01, "ZSSR": 25.89, "MZSR-10": 26.89},
    ("gd02_x2", "Set5"): {"bicubic": 30.24, "ZSSR": 34.29, "MZSR-10": 33.74},
    ("gd02_x2", "BSD100"): {"bicubic": 27.45, "ZSSR": 29.35, "MZSR-10": 29.03},
    ("gb13_x2", "Set5"): {"bicubic": 30.54, "ZSSR": 35.24, "MZSR-10": 36.64},
    ("gb13_x2", "BSD100"): {"bicubic": 27.49, "ZSSR": 30.74, "MZSR-10": 31.25},
}

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.environ.get("ZSRGAN_DATA"),
                    "Folder with Set5/, Set14/, BSD100/ (each with HR/); default $ZSRGAN_DATA.")
flags.DEFINE_string("work", os.path.join("results", "matrix"),
                    "Made inputs, SR images and training states.")
flags.DEFINE_string("out", os.path.join("results", "matrix", "records"),
                    "Per-image records and the tables.")
flags.DEFINE_list("rows", [r.name for r in ROWS], "Rows to run, in this order.")
flags.DEFINE_list("datasets", list(DATASETS), "Datasets to run, in this order.")
flags.DEFINE_list("methods", list(METHODS), "Methods to run, in this order.")
flags.DEFINE_string("preset", "auto", "The preset of the trained methods.")
flags.DEFINE_string("settings", "", "More TrainConfig settings of the trained methods, "
                    "key=value,...; named in the records' folder (METHOD-SETTINGS).")
flags.DEFINE_list("names", None, "Only these images (all datasets).")
flags.DEFINE_string("kernel", None, "Experiments: the spec `told` is given instead of the "
                    "row's (named in the records' folder: told-kSPEC).")
flags.DEFINE_bool("summary_only", False, "Train nothing: write the tables of the records.")


def _rows():
    by_name = {r.name: r for r in ROWS}
    unknown = [n for n in FLAGS.rows if n not in by_name]
    if unknown:
        raise app.UsageError(f"--rows: unknown {unknown}; known: {list(by_name)}")
    return [by_name[n] for n in FLAGS.rows]


def _inputs(dataset, row):
    """``[(name, lr_path, hr_path)]`` of one cell, made on first use."""
    folder = os.path.join(FLAGS.work, "inputs", dataset, f"x{row.scale}")
    lr_dir = f"LR_{row.name}"
    evaluation.degrade_dataset(os.path.join(FLAGS.data, dataset), row.spec, row.scale, folder,
                               lr_dir)
    pairs = evaluation.dataset_pairs(folder, lr_dir)[: DATASETS[dataset]]
    return [p for p in pairs if FLAGS.names is None or p[0] in FLAGS.names]


def _config(method, row):
    """The ``TrainConfig`` of a trained method on a row."""
    overrides = zsrgan_tf.config.parse_overrides(FLAGS.settings)
    if method == "fast":
        return zsrgan_tf.preset("fast", scale=row.scale, **overrides)
    config = zsrgan_tf.preset(FLAGS.preset, scale=row.scale, **overrides)
    if method == "auto":
        return config.replace(kernel=degradation_lib.AUTO)
    if method == "told":
        return config.replace(kernel=FLAGS.kernel or row.spec)
    return config.replace(kernel=row.spec, lambda_percep=1.0, lambda_gan=1.0)


def _label(method):
    label = method
    if method == "told" and FLAGS.kernel:
        label += "-k" + FLAGS.kernel.replace(":", "").replace(",", "_").replace("+", "-")
    if method == "bicubic" or not FLAGS.settings:
        return label
    return f"{label}-" + FLAGS.settings.replace("=", "").replace(",", "-").replace("/", "_")


def _run_image(method, row, name, lr_path, hr_path, lpips, state):
    picture = imaging.read_picture(lr_path)
    lr = picture.rgb
    if method == "bicubic":
        sr, info = evaluation.super_resolve("bicubic", lr, zsrgan_tf.preset("paper",
                                                                           scale=row.scale))
        spec, evidence, config = None, {}, None
    else:
        config = _config(method, row)
        progress = callbacks.Progress(config.iterations, every=100)
        sr, info = evaluation.super_resolve("zsrgan", lr, config, state, [progress],
                                            picture.jpeg_tables, variants=False)
        spec, evidence = info["kernel"], info["evidence"]
        config = config.replace(kernel=spec).to_dict()
    hr = imaging.read_image(hr_path)  # read only now, for scoring
    degradation = degradation_lib.parse(spec or row.spec)
    return {
        "name": name, "row": row.name, "true_spec": row.spec, "scale": row.scale,
        "method": method, "spec": spec, "evidence": evidence,
        "scores": evaluation.score(sr, hr, row.scale, lpips),
        # The output's agreement with its input under the run's own model (for
        # bicubic interpolation: the true one); no ground truth.
        "lr_psnr": round(inference.lr_psnr(imaging.as_stored(sr), lr, degradation, row.scale),
                         2),
        "seconds": round(info["seconds"], 1), "dtype_policy": info["dtype_policy"],
        "config": config, "machine": report.machine()["summary"],
        "versions": {"zsrgan_tf": zsrgan_tf.__version__},
    }, sr


def _same_run(method, row, dataset, name):
    """``told``'s record when ``auto`` already ran it: auto chose the row's spec, so
    the settings are equal and training, being deterministic on one machine, gives
    the same bits (measured: Set5 and BSD100 bicubic x2). None otherwise."""
    if method != "told":
        return None
    path = os.path.join(FLAGS.out, dataset, row.name, _label("auto"), f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if zsrgan_tf.TrainConfig.from_dict(record["config"]) != _config("told", row):
        return None
    return {**record, "method": "told", "evidence": {}, "same_run_as": "auto"}


def _run_cells(rows):
    lpips = LPIPS()
    for dataset in FLAGS.datasets:
        for row in rows:
            pairs = _inputs(dataset, row)
            for method in FLAGS.methods:
                label = _label(method)
                folder = os.path.join(FLAGS.out, dataset, row.name, label)
                os.makedirs(folder, exist_ok=True)
                for name, lr_path, hr_path in pairs:
                    path = os.path.join(folder, f"{name}.json")
                    if os.path.exists(path):
                        continue
                    state = os.path.join(FLAGS.work, "states",
                                         f"{dataset}_{row.name}_{label}_{name}.npz")
                    os.makedirs(os.path.dirname(state), exist_ok=True)
                    same = _same_run(method, row, dataset, name)
                    if same is not None:
                        files.write_bytes(path, (json.dumps(same, indent=1) + "\n").encode())
                        print(f"{dataset} {row.name} {label} {name}: the run `auto` made",
                              flush=True)
                        continue
                    try:
                        record, sr = _run_image(method, row, name, lr_path, hr_path, lpips,
                                                state)
                    except ValueError as e:  # e.g. too small for a discriminator at x4
                        print(f"{dataset} {row.name} {label} {name}: skipped ({e})", flush=True)
                        continue
                    sr_path = os.path.join(FLAGS.work, "sr", dataset, row.name, label,
                                           f"{name}.png")
                    os.makedirs(os.path.dirname(sr_path), exist_ok=True)
                    imaging.write_png(sr_path, sr)
                    files.write_bytes(path, (json.dumps(record, indent=1) + "\n").encode())
                    for leftover in (state, state + ".seconds.json"):
                        if os.path.exists(leftover):
                            os.remove(leftover)
                    s = record["scores"]
                    print(f"{dataset} {row.name} {label} {name}: {s['mzsr']['psnr_y']:.2f} dB, "
                          f"LPIPS {s['lpips']:.4f}, {record['seconds']:.0f} s, "
                          f"{record['spec'] or ''}", flush=True)


def _records():
    """``{(dataset, row, label): [record, ...]}`` of every record on disk."""
    cells = {}
    if not os.path.isdir(FLAGS.out):
        return cells
    for dataset in sorted(os.listdir(FLAGS.out)):
        if not os.path.isdir(os.path.join(FLAGS.out, dataset)):
            continue
        for row in sorted(os.listdir(os.path.join(FLAGS.out, dataset))):
            folder = os.path.join(FLAGS.out, dataset, row)
            if not os.path.isdir(folder):
                continue
            for label in sorted(os.listdir(folder)):
                records = []
                for name in sorted(os.listdir(os.path.join(folder, label))):
                    with open(os.path.join(folder, label, name)) as f:
                        records.append(json.load(f))
                cells[dataset, row, label] = records
    return cells


def _mean(records, key):
    values = [key(r) for r in records]
    return float(np.mean(values)) if values else float("nan")


def _psnr(r):
    return r["scores"]["mzsr"]["psnr_y"]


_MEANS = {
    "psnr_y": _psnr,
    "ssim_y": lambda r: r["scores"]["mzsr"]["ssim_y"],
    "psnr_rgb": lambda r: r["scores"]["paper"]["psnr_rgb"],
    "ssim_rgb": lambda r: r["scores"]["paper"]["ssim_rgb"],
    "lpips": lambda r: r["scores"]["lpips"],
    "seconds": lambda r: r["seconds"],
}


def write_tables(cells):
    """matrix.md (means), matrix_full.md (every score), matrix_per_image.md and
    matrix.json in ``--out``; returns matrix.md's table."""
    cells = {key: records for key, records in cells.items() if records}
    labels = sorted({label for _, _, label in cells}, key=lambda m: (
        METHODS.index(m.partition("-")[0]) if m.partition("-")[0] in METHODS else 99, m))
    machines = sorted({r["machine"] for records in cells.values() for r in records})
    protocol = (
        "Final iteration, no ground truth used before scoring. PSNR-Y / SSIM-Y: `mzsr` "
        "protocol (Y, shave = scale); PSNR-RGB / SSIM-RGB: `paper` protocol; LPIPS-VGG v0.1; "
        "seconds per image (the degradation's estimate, training and inference). Where "
        "`auto` chose the true degradation, `told` is the same run (same settings, and "
        "training is deterministic: measured equal to the bit). "
        f"Machines: {'; '.join(machines) or 'none yet'}.")
    summary, main, full, per_image = {}, [], [], []
    for row in ROWS:
        for dataset in DATASETS:
            present = [lb for lb in labels if (dataset, row.name, lb) in cells]
            if not present:
                continue
            means = {}
            for label in present:
                records = cells[dataset, row.name, label]
                means[label] = {"images": len(records),
                                **{k: _mean(records, f) for k, f in _MEANS.items()}}
                m = means[label]
                full.append(f"| `{row.name}` | {dataset} | `{label}` | {m['images']} | "
                            f"{m['psnr_y']:.2f} | {m['ssim_y']:.4f} | {m['psnr_rgb']:.2f} | "
                            f"{m['ssim_rgb']:.4f} | {m['lpips']:.4f} | {m['seconds']:.0f} |")
            summary.setdefault(row.name, {})[dataset] = means
            counts = sorted({m["images"] for m in means.values()})
            published = ", ".join(f"{method} {value:.2f}" for method, value in
                                  PUBLISHED.get((row.name, dataset), {}).items())
            main.append(
                f"| `{row.name}` | {dataset} | {'/'.join(map(str, counts))} | "
                + " | ".join(f"{means[lb]['psnr_y']:.2f} / {means[lb]['lpips']:.3f}"
                             if lb in means else "" for lb in labels)
                + f" | {published} | {_gains(cells, dataset, row.name)} |")
            per_image += _per_image_rows(cells, dataset, row.name, labels)
    rows_doc = "\n".join(f"- `{r.name}`: `{r.spec}` x{r.scale}; {r.about}" for r in ROWS)
    table = "\n".join([
        "| row | dataset | images | " + " | ".join(f"`{lb}`" for lb in labels)
        + " | published (all images) | `auto` against bicubic (worst image); against `told` |",
        "|---|---|---|" + "---|" * (len(labels) + 2),
        *main])
    os.makedirs(FLAGS.out, exist_ok=True)
    files.write_bytes(os.path.join(FLAGS.out, "matrix.md"), (
        "Rows:\n\n" + rows_doc + "\n\nMean PSNR-Y (dB) / LPIPS per dataset. " + protocol
        + "\n\n" + table + "\n").encode())
    files.write_bytes(os.path.join(FLAGS.out, "matrix_full.md"), (
        "Means per dataset. " + protocol + "\n\n| row | dataset | method | images | PSNR-Y | "
        "SSIM-Y | PSNR-RGB | SSIM-RGB | LPIPS | s/image |\n|---|---|---|---|---|---|---|---|---|"
        "---|\n" + "\n".join(full) + "\n").encode())
    files.write_bytes(os.path.join(FLAGS.out, "matrix_per_image.md"), (
        "PSNR-Y (mzsr protocol) per image; LPIPS in brackets; the spec `auto` chose. "
        + protocol + "\n\n| row | dataset | image | " + " | ".join(f"`{lb}`" for lb in labels)
        + " | auto chose |\n|---|---|---|" + "---|" * (len(labels) + 1) + "\n"
        + "\n".join(per_image) + "\n").encode())
    files.write_bytes(os.path.join(FLAGS.out, "matrix.json"),
                      (json.dumps({"rows": [dataclasses.asdict(r) for r in ROWS],
                                   "means": summary, "published": {
                                       f"{r}/{d}": v for (r, d), v in PUBLISHED.items()},
                                   "machines": machines}, indent=1) + "\n").encode())
    return table


def _gains(cells, dataset, row):
    auto = {r["name"]: r for r in cells.get((dataset, row, "auto"), [])}
    parts = []
    for other in ("bicubic", "told"):
        base = {r["name"]: r for r in cells.get((dataset, row, other), [])}
        names = sorted(set(auto) & set(base))
        if names:
            diffs = [_psnr(auto[n]) - _psnr(base[n]) for n in names]
            parts.append(f"{np.mean(diffs):+.2f}" + (f" ({min(diffs):+.2f})"
                                                     if other == "bicubic" else ""))
    return "; ".join(parts)


def _per_image_rows(cells, dataset, row, labels):
    by_label = {lb: {r["name"]: r for r in cells.get((dataset, row, lb), [])} for lb in labels}
    names = sorted({n for records in by_label.values() for n in records})
    lines = []
    for name in names:
        values = []
        for label in labels:
            r = by_label[label].get(name)
            values.append(f"{_psnr(r):.2f} ({r['scores']['lpips']:.3f})" if r else "")
        chose = by_label.get("auto", {}).get(name, {}).get("spec") or ""
        lines.append(f"| `{row}` | {dataset} | {name} | " + " | ".join(values)
                     + f" | {chose} |")
    return lines


def main(argv):
    del argv
    rows = _rows()
    if not FLAGS.summary_only:
        if not FLAGS.data or not os.path.isdir(FLAGS.data):
            print(f"error: --data {FLAGS.data}: no such folder (set it or ZSRGAN_DATA)",
                  file=sys.stderr)
            return 2
        _run_cells(rows)
    print(write_tables(_records()))
    return 0


if __name__ == "__main__":
    app.run(main)
