"""``train_one``: super-resolve one image with a freshly trained ZSRGAN.

Writes ``<output_dir>/<stem>_x<scale>.png`` (the SR image) and the folder
``<output_dir>/<stem>_x<scale>/`` holding ``generator.keras``, ``config.json``
(every setting, versions, seed, wall time) and ``losses.csv`` (one row per
iteration). Existing outputs are kept unless ``--overwrite``; everything is
written to temporary names and renamed when complete.

Errors in the input or outputs print one line ``error: <file>: <problem>`` and
exit with code 2.
"""

import datetime
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import keras
import numpy
import tensorflow as tf
from absl import app, flags

import zsrgan_tf
from zsrgan_tf import callbacks, data, imaging, train
from zsrgan_tf import config as config_lib
from zsrgan_tf.imaging import ImageError
from zsrgan_tf.vgg import WeightsError

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "Low-resolution input image (PNG, JPEG, ...).")
flags.DEFINE_integer("scale", 2, "Super-resolution factor: 2, 3 or 4.")
flags.DEFINE_enum("preset", "paper", sorted(config_lib.PRESETS),
                  "Settings preset: 'paper' (the paper, exactly) or 'cpu' (the demo).")
flags.DEFINE_integer("iterations", None, "Override the preset's number of iterations.")
flags.DEFINE_string("output_dir", "saved_models", "Folder for the SR image and the model folder.")
flags.DEFINE_integer("seed", 0, "Seed of weight init and father/son sampling.")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs.")
flags.DEFINE_enum(
    "precision", "auto", list(config_lib.PRECISIONS),
    "Numeric precision; 'auto': mixed_float16 on GPUs, mixed_bfloat16 on CPUs with bf16 units "
    "(AMX, AVX512-BF16), else float32. 'float32' forces full precision.",
)


class UsageError(Exception):
    """A problem with the command line's files or values; one line, exit code 2."""


def _versions():
    return {
        "zsrgan_tf": zsrgan_tf.__version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _prepare_outputs(output_dir, name, overwrite):
    """Checks the output paths; returns ``(png_path, run_dir)``."""
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{output_dir}: cannot create output folder ({e.strerror})") from None
    if not os.access(output_dir, os.W_OK):
        raise UsageError(f"{output_dir}: output folder is not writable")
    png_path = os.path.join(output_dir, f"{name}.png")
    run_dir = os.path.join(output_dir, name)
    if not overwrite:
        for path in (png_path, run_dir):
            if os.path.exists(path):
                raise UsageError(f"{path}: already exists (use --overwrite to replace it)")
    return png_path, run_dir


def _replace_dir(tmp_dir, run_dir):
    """Moves the finished ``tmp_dir`` to ``run_dir``, replacing an old one."""
    old = None
    if os.path.exists(run_dir):
        old = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(run_dir))
        os.replace(run_dir, os.path.join(old, "run"))
    os.replace(tmp_dir, run_dir)
    if old:
        shutil.rmtree(old)


def run(image_path, config, preset_name, output_dir, overwrite):
    """Trains on ``image_path`` and writes all outputs; returns the PNG path."""
    lr = imaging.read_image(image_path)
    height, width = lr.shape[:2]
    needed = data.min_image_side(config.scale, config.min_father_side)
    if min(height, width) < needed:
        raise UsageError(
            f"{image_path}: image is {width}x{height}; x{config.scale} needs a short side "
            f">= {needed} px"
        )
    stem = os.path.splitext(os.path.basename(image_path))[0]
    png_path, run_dir = _prepare_outputs(output_dir, f"{stem}_x{config.scale}", overwrite)

    tmp_dir = tempfile.mkdtemp(prefix=f".tmp-{stem}-", dir=output_dir)
    try:
        os.chmod(tmp_dir, 0o777 & ~imaging.umask())
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.perf_counter()
        with open(os.path.join(tmp_dir, "losses.csv"), "w", newline="") as log:
            model, history = train.train_on_image(
                lr,
                config,
                [callbacks.Progress(config.iterations), callbacks.LossLog(log)],
            )
        train_seconds = time.perf_counter() - t0
        sr = model.upscale(lr)
        model.generator.save(os.path.join(tmp_dir, "generator.keras"))
        record = {
            "preset": preset_name,
            "config": config.to_dict(),
            "input": {
                "path": os.path.abspath(image_path),
                "sha256": _sha256(image_path),
                "height": height,
                "width": width,
            },
            "output": {"image": os.path.abspath(png_path), "height": sr.shape[0],
                       "width": sr.shape[1]},
            "final_losses": {k: float(v[-1]) for k, v in history.history.items()},
            "execution": {
                "dtype_policy": model.generator.dtype_policy.name,
                "xla": bool(model.jit_compile),
                "train_step_traces": model.train_step_traces,
            },
            "started_utc": started.isoformat(timespec="seconds"),
            "train_seconds": round(train_seconds, 2),
            "wall_seconds": round(time.perf_counter() - t0, 2),
            "versions": _versions(),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
        }
        with open(os.path.join(tmp_dir, "config.json"), "w") as f:
            json.dump(record, f, indent=2)
        imaging.write_png(png_path, sr)
        _replace_dir(tmp_dir, run_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return png_path


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        return 2
    try:
        if FLAGS.image is None:
            raise UsageError("--image is required")
        if FLAGS.scale not in config_lib.SCALES:
            raise UsageError(f"--scale {FLAGS.scale}: must be one of {config_lib.SCALES}")
        overrides = {"scale": FLAGS.scale, "seed": FLAGS.seed, "precision": FLAGS.precision}
        if FLAGS.iterations is not None:
            if FLAGS.iterations < 1:
                raise UsageError(f"--iterations {FLAGS.iterations}: must be >= 1")
            overrides["iterations"] = FLAGS.iterations
        config = config_lib.preset(FLAGS.preset, **overrides)
        png_path = run(FLAGS.image, config, FLAGS.preset, FLAGS.output_dir, FLAGS.overwrite)
    except (UsageError, ImageError, WeightsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(png_path)
    return 0


def entry_point():
    app.run(main)
