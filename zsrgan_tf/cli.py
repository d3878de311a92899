"""``train_one``: super-resolve one image with a freshly trained ZSRGAN.

Writes ``<output_dir>/<stem>_x<scale>.png`` (the SR image) and the folder
``<output_dir>/<stem>_x<scale>/`` holding ``generator.keras``, ``config.json``
(every setting, versions, seed, wall time), ``losses.csv`` (one row per
iteration) and the ``--export`` files (``export.write_exports``). Existing outputs are kept unless ``--overwrite``; everything is
written to temporary names and renamed when complete.

Errors in the input, flags or outputs print one line ``error: <file>: <problem>``
and exit with code 2; a diverged training run (non-finite loss) exits with 1 and
writes nothing.
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
from zsrgan_tf import callbacks, data, export, imaging, inference, kernels, train
from zsrgan_tf import config as config_lib
from zsrgan_tf.imaging import ImageError
from zsrgan_tf.vgg import WeightsError

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "Low-resolution input image (PNG, JPEG, ...).")
flags.DEFINE_integer("scale", 2, "Super-resolution factor: 2, 3 or 4.")
flags.DEFINE_enum("preset", "paper", sorted(config_lib.PRESETS),
                  "Settings preset: 'paper' (the paper, exactly), 'cpu' (the demo) or 'zssr' "
                  "(ZSSR's L1 recipe with ensemble and back-projection; kernel-aware with --kernel).")
flags.DEFINE_integer("iterations", None, "Override the preset's number of iterations.")
flags.DEFINE_string("output_dir", "saved_models", "Folder for the SR image and the model folder.")
flags.DEFINE_integer("seed", 0, "Seed of weight init and father/son sampling.")
flags.DEFINE_bool("overwrite", False, "Replace existing outputs.")
flags.DEFINE_enum(
    "precision", "auto", list(config_lib.PRECISIONS),
    "Numeric precision; 'auto': mixed_float16 on GPUs, mixed_bfloat16 on CPUs with bf16 units "
    "(AMX, AVX512-BF16), else float32. 'float32' forces full precision.",
)
flags.DEFINE_string(
    "kernel", None, "How the input was degraded, for kernel-aware training: 'bicubic' (the "
    "paper), 'gaussian:COV' (isotropic, covariance COV px^2; g20 is gaussian:2.0) or a .npy/.mat "
    "file (variable 'kernel'). Default: the preset's.",
)
flags.DEFINE_list(
    "export", [], "Also export the generator: any of savedmodel, tflite (fp32), fp16, int8 "
    "(TFLite weight formats), uint8 (uint8-I/O copies of the TFLite files).",
)
flags.DEFINE_integer("export_tile", 256, "Input side (LR pixels) of the fixed-size TFLite "
                     "files for GPU delegates; 0 for dynamic-size files only.")


class UsageError(Exception):
    """A problem with the command line's files or values; one line, exit code 2."""


class TrainingError(Exception):
    """Training failed (diverged); one line, exit code 1."""


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
    """Checks the output paths before training; returns ``(png_path, run_dir)``."""
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


def _publish(tmp_dir, run_dir, png_path, overwrite):
    """Moves a finished run into place: the folder first, then its PNG out of it.

    Each step is a rename within ``output_dir``; an old folder replaced under
    ``--overwrite`` is restored if the new one cannot be moved in.
    """
    if not overwrite:
        for path in (png_path, run_dir):
            if os.path.exists(path):
                raise UsageError(f"{path}: appeared while training; results kept in {tmp_dir}")
    old = None
    if os.path.exists(run_dir):
        old = tempfile.mkdtemp(prefix=".old-", dir=os.path.dirname(run_dir))
        os.replace(run_dir, os.path.join(old, "run"))
    try:
        os.replace(tmp_dir, run_dir)
    except OSError:
        if old:
            os.replace(os.path.join(old, "run"), run_dir)
            os.rmdir(old)
        raise
    os.replace(os.path.join(run_dir, os.path.basename(png_path)), png_path)
    if old:
        shutil.rmtree(old)


def _record(image_path, lr, config, preset_name, png_path, sr, model, history, t0, started):
    """The contents of config.json."""
    return {
        "preset": preset_name,
        "config": config.to_dict(),
        "input": {
            "path": os.path.abspath(image_path),
            "sha256": _sha256(image_path),
            "height": lr.shape[0],
            "width": lr.shape[1],
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
        "wall_seconds": round(time.perf_counter() - t0, 2),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }


def run(image_path, config, preset_name, output_dir, overwrite, exports=(), export_tile=256):
    """Trains on ``image_path`` and writes all outputs; returns the PNG path."""
    lr = imaging.read_image(image_path)
    try:
        data.check_image_size(lr.shape[0], lr.shape[1], config.scale, config.min_father_side)
    except ValueError as e:
        raise UsageError(f"{image_path}: {e}") from None
    stem = os.path.splitext(os.path.basename(image_path))[0]
    png_path, run_dir = _prepare_outputs(output_dir, f"{stem}_x{config.scale}", overwrite)

    tmp_dir = tempfile.mkdtemp(prefix=f".tmp-{stem}-", dir=output_dir)
    try:
        os.chmod(tmp_dir, 0o777 & ~imaging.umask())
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.perf_counter()
        guard = callbacks.DivergenceGuard()
        with open(os.path.join(tmp_dir, "losses.csv"), "w", newline="") as log:
            model, history = train.train_on_image(
                lr,
                config,
                [callbacks.Progress(config.iterations), callbacks.LossLog(log), guard],
            )
        sr = inference.upscale(model, lr, config)
        if guard.diverged_at or not numpy.isfinite(sr).all():
            raise TrainingError(
                f"{image_path}: training diverged (non-finite loss at iteration "
                f"{guard.diverged_at}); nothing written. Try another --seed or "
                "--precision float32"
            )
        model.generator.save(os.path.join(tmp_dir, "generator.keras"))
        exported = export.write_exports(model.generator, config.scale, tmp_dir, exports,
                                        export_tile, config.grid)
        imaging.write_png(os.path.join(tmp_dir, os.path.basename(png_path)), sr)
        record = _record(image_path, lr, config, preset_name, png_path, sr, model, history, t0,
                         started)
        record["exports"] = [os.path.basename(path) for path in exported]
        with open(os.path.join(tmp_dir, "config.json"), "w") as f:
            json.dump(record, f, indent=2)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    _publish(tmp_dir, run_dir, png_path, overwrite)
    return png_path


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        return 2
    try:
        if FLAGS.image is None:
            raise UsageError("--image is required")
        unknown = sorted(set(FLAGS.export) - set(export.KINDS))
        if unknown:
            raise UsageError(f"--export {','.join(unknown)}: choose from {', '.join(export.KINDS)}")
        if FLAGS.export_tile < 0:
            raise UsageError(f"--export_tile {FLAGS.export_tile}: must be >= 0")
        if FLAGS.scale not in config_lib.SCALES:
            raise UsageError(f"--scale {FLAGS.scale}: must be one of {config_lib.SCALES}")
        overrides = {"scale": FLAGS.scale, "seed": FLAGS.seed, "precision": FLAGS.precision}
        if FLAGS.iterations is not None:
            overrides["iterations"] = FLAGS.iterations
        if FLAGS.kernel is not None:
            kernels.parse(FLAGS.kernel)  # a bad spec or file fails here, before training
            overrides["kernel"] = FLAGS.kernel
        try:
            config = config_lib.preset(FLAGS.preset, **overrides)
        except ValueError as e:
            raise UsageError(str(e)) from None
        png_path = run(FLAGS.image, config, FLAGS.preset, FLAGS.output_dir, FLAGS.overwrite,
                       FLAGS.export, FLAGS.export_tile)
    except (UsageError, ImageError, WeightsError, kernels.KernelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TrainingError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {e.filename or FLAGS.output_dir}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(png_path)
    return 0


def _parse_flags(argv):
    """absl flag parsing with the tool's convention: one line and exit code 2 on error."""
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def entry_point():
    app.run(main, flags_parser=_parse_flags)
