#!/usr/bin/env python3
"""Images per hour of a folder run: sequential against Ray clusters on this machine.

The images are the ``--count`` distinct rotations and mirror images of ``--image``
(default the bundled sample), so each trains its own network on the same
content. Each mode runs ``train_one --image FOLDER`` in a subprocess, timed whole
(start-up included):

- sequential: no ``--ray``; TensorFlow uses every core for one image at a time;
- Ray: ``ray start --head --num-cpus N`` on this machine, then ``--ray auto
  --ray_cpus C`` (C cores and TensorFlow threads per image): one core (N=1, C=1),
  every core one image each (C=1), every core for one image at a time (C=N).

Then, on the cluster of every core, one image each: a second submission of the
same job (every image "done before"), which is the fixed cost of a job (Python,
TensorFlow and Ray start, workers, scheduling), and Ray's own overhead per task,
from ``--tasks`` empty tasks run one after another. The projection for M machines
of this kind is M times the best Ray row that uses every core: each image is one
independent task, and Ray schedules thousands per second, far more than these
images need.

Writes ``--json`` and replaces the "Many images (Ray)" section of ``--markdown``.
Pause other work on the machine while it runs.

Example:
  python -m benchmarks.bench_cluster --count 6
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags
from PIL import Image

from benchmarks import report

FLAGS = flags.FLAGS
flags.DEFINE_string("image", "samples/chelsea.png", "Real image the inputs are made from.")
flags.DEFINE_integer("count", 6, "Images per job (1-8: rotations and mirror images).")
flags.DEFINE_string("preset", "auto", "Preset of every run.")
flags.DEFINE_integer("tasks", 200, "Empty Ray tasks timed for the per-task overhead.")
flags.DEFINE_list("machines", ["1", "10", "100"], "Machine counts of the projection.")
flags.DEFINE_bool("report_only", False, "Rewrite the report from --json, measuring nothing.")
flags.DEFINE_string("json", "results/benchmarks/cluster.json", "JSON output.")
flags.DEFINE_string("markdown", "results/results.md", "Markdown file whose section is replaced "
                    "(docs/results.md for the committed page).")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def _make_inputs(folder):
    """``--count`` of the 8 rotations/mirror images of ``--image`` in ``folder``."""
    pixels = np.asarray(Image.open(FLAGS.image).convert("RGB"))
    for k in range(FLAGS.count):
        variant = np.rot90(pixels[:, ::-1] if k >= 4 else pixels, k % 4)
        Image.fromarray(np.ascontiguousarray(variant)).save(os.path.join(folder, f"v{k}.png"))


def _job(images, out, *ray):
    """Runs train_one on the folder; returns (wall seconds, per-image seconds)."""
    command = [sys.executable, os.path.join(REPO, "scripts", "train_one.py"), "--image", images,
               "--preset", FLAGS.preset, "--output_dir", out, *ray]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"train_one failed: {proc.stderr.strip().splitlines()[-1]}")
    rows = [line.strip("| ").split(" | ") for line in proc.stdout.strip().splitlines()[2:]]
    return seconds, [float(row[3]) for row in rows]


def _overhead():
    """Ray's seconds per empty task, run one after another on the running cluster."""
    import ray

    ray.init(address="auto", log_to_driver=False, logging_level="ERROR")
    try:
        @ray.remote(num_cpus=1)
        def empty():
            return None

        ray.get(empty.remote())  # a worker started
        start = time.perf_counter()
        for _ in range(FLAGS.tasks):
            ray.get(empty.remote())
        return (time.perf_counter() - start) / FLAGS.tasks
    finally:
        ray.shutdown()


def _row(mode, workers, cores, seconds, per_image):
    return {"mode": mode, "workers": workers, "cores_per_image": cores,
            "wall_seconds": round(seconds, 1),
            "images_per_hour": round(FLAGS.count * 3600 / seconds, 1),
            "mean_image_seconds": round(float(np.mean(per_image)), 1)}


def main(argv):
    del argv
    if FLAGS.report_only:
        with open(FLAGS.json) as f:
            _report(json.load(f))
        return
    cores = os.cpu_count()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        images = os.path.join(folder, "images")
        os.mkdir(images)
        _make_inputs(images)
        seconds, per_image = _job(images, os.path.join(folder, "sequential"))
        rows.append(_row("sequential", 1, cores, seconds, per_image))
        print(json.dumps(rows[-1]), flush=True)
        # (the cluster's CPUs, CPUs per image): one or all cores, one image each;
        # all cores for one image at a time, as the sequential run.
        for cluster_cpus, image_cpus in ((1, 1), (cores, 1), (cores, cores)):
            subprocess.run([RAY, "start", "--head", f"--num-cpus={cluster_cpus}",
                            "--num-gpus=0", "--include-dashboard=false",
                            "--disable-usage-stats"], check=True, capture_output=True)
            try:
                out = os.path.join(folder, f"ray{cluster_cpus}_{image_cpus}")
                seconds, per_image = _job(images, out, "--ray", "auto",
                                          f"--ray_cpus={image_cpus}")
                rows.append(_row("Ray", cluster_cpus // image_cpus, image_cpus, seconds,
                                 per_image))
                print(json.dumps(rows[-1]), flush=True)
                if image_cpus == 1 and cluster_cpus == cores:
                    job_seconds, _ = _job(images, out, "--ray", "auto")
                    task_seconds = _overhead()
            finally:
                subprocess.run([RAY, "stop", "--force"], check=True, capture_output=True)
    _report({"machine": report.machine()["summary"], "image": FLAGS.image,
             "count": FLAGS.count, "preset": FLAGS.preset, "cores": cores, "rows": rows,
             "job_start_seconds": round(job_seconds, 1),
             "task_overhead_seconds": round(task_seconds, 5)})


def _steady(row):
    """Images per hour once running: images at a time over seconds per image."""
    return row["workers"] * 3600 / row["mean_image_seconds"]


def _report(result):
    """Writes ``result`` (with its projection) to ``--json`` and its section to ``--markdown``."""
    best = max((row for row in result["rows"] if row["mode"] == "Ray" and
                row["workers"] * row["cores_per_image"] == result["cores"]), key=_steady)
    projection = {int(m): round(int(m) * _steady(best)) for m in FLAGS.machines}
    result = {**result, "projected_images_per_hour": projection}
    report.write_json(FLAGS.json, result)
    table = [("| run | images at a time | cores (threads) per image | wall time | images per "
              "hour | mean seconds per image | images per hour once running |"),
             "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        table.append(f"| {row['mode']} | {row['workers']} | {row['cores_per_image']} | "
                     f"{row['wall_seconds'] / 60:.1f} min | {row['images_per_hour']:.0f} | "
                     f"{row['mean_image_seconds']:.0f} | {_steady(row):.0f} |")
    projected = ", ".join(f"{m} machine{'s' * (m > 1)}: {n}" for m, n in projection.items())
    body = f"""\
`python -m benchmarks.bench_cluster` on {result['machine']}, other work paused.
`train_one --image FOLDER --preset {result['preset']}` on {result['count']} images (rotations
and mirror images of {result['image']}, each trained on its own), x2. Wall time: the whole
command, start-up included; images per hour once running: images at a time over the mean
seconds per image, without the job's start. The Ray rows run on a `ray start` cluster of this
machine (`--ray auto --ray_cpus` the cores per image). Raw: the JSON beside this page's
other benchmarks.

{chr(10).join(table)}

Fixed cost of a Ray job (Python, TensorFlow and Ray start, workers; a second submission,
all images done before): {result['job_start_seconds']:.0f} s. Ray's overhead per task:
{result['task_overhead_seconds'] * 1000:.1f} ms. Projected images per hour on machines
like this one, each a Ray node run as the best row using all its cores
({best['workers']} image(s) at a time, `--ray_cpus {best['cores_per_image']}`), once running,
times the machines (the images are independent tasks, and Ray's per-task overhead is
negligible beside them): {projected}."""
    report.replace_section(FLAGS.markdown, "Many images (Ray)", body)

if __name__ == "__main__":
    app.run(main)
