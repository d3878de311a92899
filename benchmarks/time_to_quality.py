#!/usr/bin/env python3
"""Time-to-quality of training schedules: final PSNR-Y against wall time per image.

Each candidate schedule (a preset with overrides) is trained on each image
(LR_g20_x2/<name>.png) and its final-iteration output is scored against
HR/<name>.png under both protocols of ``zsrgan_tf.metrics``. The ground truth
is read only after training, for scoring. One JSON file per (candidate, image)
is written under ``--out`` as soon as it is done; runs with a file are skipped,
and a run killed midway resumes from its last training state (every
``evaluation.CHECKPOINT_EVERY`` iterations, kept in ``--checkpoint_dir``), so the
script resumes where it stopped, across restarts. Wall time is the training
time summed over restarts plus inference. The table of all results found
replaces the "Time to quality" section of ``--markdown``.

Candidates: ``label=preset`` or ``label=preset:key=value,key=value`` with
``TrainConfig`` fields, e.g. ``cpu300=cpu:iterations=300,lr_halve_every=75``.

Example:
  python -m benchmarks.time_to_quality --data $ZSRGAN_DATA/Set5 --images baby,butterfly \
      --candidate paper=paper --candidate cpu300=cpu:iterations=300,lr_halve_every=75
"""

import json
import os

from absl import app, flags

import zsrgan_tf
from benchmarks import evaluation, report
from zsrgan_tf import callbacks, files
from zsrgan_tf import config as config_lib

FLAGS = flags.FLAGS
flags.DEFINE_string("data", os.path.join(os.environ.get("ZSRGAN_DATA", "."), "Set5"),
                    "Folder with HR/ and LR_g20_x2/; default $ZSRGAN_DATA/Set5.")
flags.DEFINE_list("images", ["baby", "butterfly"], "Image names (without .png).")
flags.DEFINE_multi_string("candidate", ["paper=paper", "cpu=cpu"],
                          "label=preset[:key=value,...]; repeat the flag for more.")
flags.DEFINE_string("out", "results/benchmarks/time_to_quality", "Folder of per-run JSON files.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")
flags.DEFINE_bool("table_only", False, "Only rebuild the table from the JSON files.")
flags.DEFINE_string(
    "evaluation", "docs/results/Set5",
    "Folder of benchmarks/evaluate.py results: a candidate run there already (same code path, "
    "preset and seed: <folder>/zsrgan-<preset>/per_image/<image>.json) is reused, not retrained.",
)
flags.DEFINE_string(
    "checkpoint_dir", os.path.join("results", "checkpoints", "time_to_quality"),
    "Training states, so that a killed run resumes (results/ is not committed).",
)

def parse_candidate(text):
    """``label=preset:key=value,...`` -> ``(label, TrainConfig)``."""
    label, _, spec = text.partition("=")
    name, _, overrides = spec.partition(":")
    return label, zsrgan_tf.preset(name, **config_lib.parse_overrides(overrides))


def from_evaluation(label, config, image):
    """The row of an identical run that ``benchmarks/evaluate.py`` already made, or None.

    Only plain presets qualify (candidate label = preset name, no overrides): the
    record's (or the folder summary's) config must equal the candidate's.
    """
    folder = os.path.join(FLAGS.evaluation, f"zsrgan-{label}")
    record_path = os.path.join(folder, "per_image", f"{image}.json")
    summary_path = os.path.join(folder, "summary.json")
    if not os.path.exists(record_path):
        return None
    with open(record_path) as f:
        record = json.load(f)
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    stored = record.get("config", summary.get("config"))
    # Settings added to the code after the record was written take their defaults.
    if stored is None or config_lib.TrainConfig.from_dict(stored) != config:
        return None
    return {
        "candidate": label, "image": image, "config": config.to_dict(),
        "dtype_policy": record["dtype_policy"], "wall_s": record["seconds"],
        "final_losses": record["final_losses"], "mzsr": record["scores"]["mzsr"],
        "paper": record["scores"]["paper"],
        "machine": record.get("machine", summary.get("machine", report.machine()["summary"])),
        "versions": record.get("versions", summary.get("versions")),
        "note": f"from {record_path}",
    }


def run_one(label, config, image):
    lr = zsrgan_tf.read_image(os.path.join(FLAGS.data, "LR_g20_x2", f"{image}.png"))
    os.makedirs(FLAGS.checkpoint_dir, exist_ok=True)
    state = os.path.join(FLAGS.checkpoint_dir, f"{label}_{image}.npz")
    progress = callbacks.Progress(config.iterations, every=100)
    sr, info = evaluation.super_resolve("zsrgan", lr, config, state, [progress])
    hr = zsrgan_tf.read_image(os.path.join(FLAGS.data, "HR", f"{image}.png"))
    scores = evaluation.score(sr, hr, config.scale)
    return {
        "candidate": label,
        "image": image,
        "config": config.to_dict(),
        "dtype_policy": info["dtype_policy"],
        "wall_s": round(info["seconds"], 1),
        "final_losses": info["final_losses"],
        "mzsr": scores["mzsr"],
        "paper": scores["paper"],
        "machine": report.machine()["summary"],
        "versions": {"zsrgan_tf": zsrgan_tf.__version__},
    }


def table(results):
    labels = list(dict.fromkeys(r["candidate"] for r in results))
    images = FLAGS.images
    by = {(r["candidate"], r["image"]): r for r in results}
    seeds = sorted({r["config"]["seed"] for r in results})
    machines = "; ".join(sorted({r["machine"] for r in results}))
    lines = [
        f"Set5 g20 x2 inputs, seed {', '.join(map(str, seeds))}, final iteration, no ground "
        "truth in training. PSNR-Y (dB, `mzsr` protocol) and wall time per image (training + "
        f"inference) on {machines}. Raw: `{FLAGS.out}/`. A dash: not run yet.",
        "",
        "| candidate | settings | precision | " + " | ".join(f"{i} PSNR-Y" for i in images)
        + " | mean PSNR-Y | minutes per image |",
        "|---|---|---|" + "---|" * len(images) + "---|---|",
    ]
    for label in labels:
        runs = [by.get((label, i)) for i in images]
        done = [r for r in runs if r]
        c = done[0]["config"]
        settings = (f"{c['iterations']} its, {c['batch_size']} x {c['crop_size']}^2, "
                    f"lr/2 every {c['lr_halve_every']}")
        cells = [f"{r['mzsr']['psnr_y']:.2f}" if r else "-" for r in runs]
        mean = (f"{sum(r['mzsr']['psnr_y'] for r in done) / len(done):.2f}"
                if len(done) == len(runs) else "-")
        minutes = sum(r["wall_s"] for r in done) / len(done) / 60
        note = done[0].get("note")
        lines.append(f"| `{label}` | {settings}{f' ({note})' if note else ''} | "
                     f"{done[0]['dtype_policy']} | " + " | ".join(cells)
                     + f" | {mean} | {minutes:.1f} |")
    return "\n".join(lines)


def main(argv):
    del argv
    os.makedirs(FLAGS.out, exist_ok=True)
    if not FLAGS.table_only:
        for text in FLAGS.candidate:
            label, config = parse_candidate(text)
            for image in FLAGS.images:
                path = os.path.join(FLAGS.out, f"{label}_{image}.json")
                if os.path.exists(path):
                    continue
                result = from_evaluation(label, config, image) or run_one(label, config, image)
                files.write_bytes(path, json.dumps(result, indent=2).encode())
                print(f"{label} {image}: {result['mzsr']['psnr_y']:.2f} dB, {result['wall_s']} s",
                      flush=True)
    results = []
    for name in sorted(os.listdir(FLAGS.out)):
        if name.endswith(".json"):
            with open(os.path.join(FLAGS.out, name)) as f:
                results.append(json.load(f))
    order = [parse_candidate(t)[0] for t in FLAGS.candidate]
    results.sort(key=lambda r: order.index(r["candidate"]) if r["candidate"] in order else 99)
    body = table(results)
    report.replace_section(FLAGS.markdown, "Time to quality", body)
    print(body)


if __name__ == "__main__":
    app.run(main)
