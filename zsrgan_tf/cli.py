"""``train_one``: super-resolve images, each with a freshly trained ZSRGAN.

For an image ``<stem>.<ext>`` it writes ``<output_dir>/<stem>_x<scale>.png``
(the SR image, in the input's greyscale/colour, alpha and bit depth) and the
folder ``<output_dir>/<stem>_x<scale>/`` holding ``generator.keras``,
``config.json`` (every setting, versions, seed, wall time), ``losses.csv`` (one
row per iteration) and the ``--export`` files (``export.write_exports``).
Existing outputs are kept unless ``--overwrite``. The run is built in
``.<stem>_x<scale>.partial/`` with checkpoints, which ``--resume`` continues
after a crash or kill, and renamed into place when complete.

Errors in the input, flags or outputs print one line ``error: <file>: <problem>``
and exit with code 2; a diverged training run (non-finite loss) exits with 1
and keeps the last good generator in the partial folder. With a folder or glob,
each image runs on its own, failures are reported and the rest continue; a
summary table ends the run and the exit code is 1 if any image failed.
With ``--ray``, the images run as tasks of a Ray cluster instead (``cluster``),
with the same table and exit codes.

Each run ends by printing its output's LR-PSNR (``inference.lr_psnr``: the
output as the PNG stores it, degraded as the sons were made, against the input;
no ground truth), also recorded in ``config.json``.

A large image (more than ``outofcore.LARGE_PIXELS``) trains on its centre
region and is written file to file in bands, in memory that does not grow with
it; before training, the run prints its plan (windows, time, peak memory) and
stops if the machine has less memory available than that. Its LR-PSNR is not
computed (the output is never whole).
"""

import collections
import dataclasses
import datetime
import glob
import hashlib
import io
import json
import os
import platform
import shutil
import sys
import textwrap
import time
import warnings

import keras
import numpy
import tensorflow as tf
from absl import app, flags, logging
from PIL import Image

import zsrgan_tf
from zsrgan_tf import (
    callbacks,
    checkpoint,
    data,
    estimate,
    export,
    files,
    gradual,
    imaging,
    inference,
    kernels,
    models,
    outofcore,
    precision,
    train,
)
from zsrgan_tf import config as config_lib
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf.imaging import ImageError
from zsrgan_tf.vgg import WeightsError

FLAGS = flags.FLAGS
flags.DEFINE_string("image", None, "Low-resolution input: an image file (PNG, JPEG, TIFF, "
                    "WebP, BMP, ...), a folder of images or a quoted glob ('scans/*.tif').")
flags.DEFINE_integer("scale", 2, "Super-resolution factor: 2, 3 or 4.")
flags.DEFINE_enum("preset", "auto", sorted(config_lib.PRESETS),
                  "Settings preset: 'auto' (the default: L1 training of the sub-pixel generator "
                  "on sons made the way the image was, read from the image; see --kernel), "
                  "'fast' (the paper's losses on bicubic sons, 300 steps), 'paper' (the paper, "
                  "exactly), 'zssr' (ZSSR's recipe), 'zssr-subpixel' "
                  "(auto's recipe, bicubic sons unless --kernel) or 'blind' (zssr on 600 steps "
                  "with a Gaussian estimated from the image).")
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
    "kernel", None, "How the input was made, to make the sons the same way: 'auto' (read from "
    "the image: bicubic, a blur kernel, JPEG quality, noise), or the stages that made it "
    "joined by '+': a blur ('gaussian:COV', 'gaussian:MAJOR,MINOR,ANGLE' or a .npy/.mat "
    "kernel; alone: followed by keeping every scale-th pixel), 'bicubic' (a resize), "
    "'noise:LEVEL' (grey levels of 255), 'jpeg:QUALITY'; e.g. 'bicubic', 'gaussian:2.0', "
    "'gaussian:0.64+bicubic+jpeg:75'. Also 'blind' / 'blind:aniso' (a Gaussian estimated "
    "from the image). Default: the preset's (docs/degradations.md).",
)
flags.DEFINE_string("settings", "", "More TrainConfig settings, key=value,... (tuples with '/'), "
                    "e.g. 'adaptive_lr=True,iterations=3000'.")
flags.DEFINE_list(
    "export", [], "Also export the upscaler (the network with the run's ensemble and "
    "back-projection; docs/export.md): any of savedmodel, tflite (fp32), fp16, int8 (TFLite "
    "weight formats), uint8 (uint8-I/O copies of the TFLite files).",
)
flags.DEFINE_integer("tile", None, "LR tile side for inference; default: tiles only when one "
                     "pass would exceed 2 GiB (inference.auto_tile); 0: never tile (inputs "
                     "above 2^23 pixels always do, 1 GiB a window).")
flags.DEFINE_integer("tile_pad", None, "Context per tile side (LR pixels); default: the "
                     "inference's reach (inference.context), so tiles equal one pass.")
flags.DEFINE_bool("resume", False, "Continue an interrupted run of the same image and flags "
                  "from its checkpoint (<output_dir>/.<name>.partial/); with --overwrite, a "
                  "run of other flags is started over instead.")
flags.DEFINE_integer("checkpoint_every", 100, "Save the training state every N iterations.")
flags.DEFINE_enum("bit_depth", "auto", ["auto", "8", "16"],
                  "Bits per channel of the output PNG; auto: the input's.")
flags.DEFINE_integer("export_tile", 256, "Input side (LR pixels) of the fixed-size TFLite "
                     "files for GPU delegates; 0 for dynamic-size files only.")
flags.DEFINE_bool("export_ensemble", True, "Keep the run's self-ensemble in the exports (as "
                  "the PNG was made); --noexport_ensemble runs the network once instead of "
                  "up to 8 times, at some loss of quality.")
flags.DEFINE_string("ray", None, "Run the images as tasks of a Ray cluster (pip install "
                    "'zsrgan-tf[ray]'): 'local' starts one on this machine, 'auto' joins the "
                    "one `ray start` made here, HOST:PORT or ray://HOST:PORT a remote one. "
                    "Finished images are skipped, interrupted ones resumed. Every node must "
                    "see the input and output paths.")
flags.DEFINE_float("ray_cpus", 1.0, "CPU cores per image on the Ray cluster (also its "
                   "TensorFlow threads).")
flags.DEFINE_float("ray_gpus", None, "GPUs per image on the Ray cluster; a fraction shares "
                   "a GPU (0.25: four images each). Default: 0.25 when the cluster has GPUs, "
                   "else 0.")


GENERATOR = "generator.keras"  # the trained generator in the run folder


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How ``run`` treats one image, beside its training settings. Each field is
    the command-line flag of the same name (``from_flags``).

    Attributes:
      preset: the preset's name, recorded in config.json.
      output_dir: folder of the SR image and the run folder.
      overwrite: replace existing outputs.
      export: kinds of ``export.write_exports`` (savedmodel, tflite, fp16, int8, uint8).
      export_tile: input side of the fixed-size TFLite files, LR pixels (0: none).
      export_ensemble: keep the run's self-ensemble in the exports.
      tile, tile_pad: inference tiling (``inference.super_resolve``); None: by memory.
      resume: continue an interrupted run from its partial folder (with
        ``overwrite``: only if it used the same settings, else start over).
      checkpoint_every: iterations between saved training states, >= 1.
      bit_depth: "auto" (the input's), "8" or "16": bits per channel of the PNG.
    """

    preset: str = "auto"
    output_dir: str = "saved_models"
    overwrite: bool = False
    export: tuple = ()
    export_tile: int = 256
    export_ensemble: bool = True
    tile: int | None = None
    tile_pad: int | None = None
    resume: bool = False
    checkpoint_every: int = 100
    bit_depth: str = "auto"

    def __post_init__(self):
        object.__setattr__(self, "export", tuple(self.export))  # flags give a list

    @classmethod
    def from_flags(cls):
        return cls(**{field.name: FLAGS[field.name].value for field in dataclasses.fields(cls)})


# Where a run writes: the PNG, the run folder, the folder it is built in until
# complete, and its training state there.
Outputs = collections.namedtuple("Outputs", "png run_dir partial state")


class UsageError(Exception):
    """A problem with the command line's files or values; one line, exit code 2."""


class TrainingError(Exception):
    """Training failed (diverged); one line, exit code 1."""


class _OtherSettings(Exception):
    """The partial folder holds an interrupted run of other settings (``run``
    starts over under ``overwrite``)."""


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


def outputs_of(image_path, scale, output_dir):
    """The ``Outputs`` paths of ``image_path`` at ``scale`` in ``output_dir``:
    ``<stem>_x<scale>.png``, ``<stem>_x<scale>/``, ``.<stem>_x<scale>.partial/``."""
    name = f"{os.path.splitext(os.path.basename(image_path))[0]}_x{scale}"
    partial = os.path.join(output_dir, f".{name}.partial")
    return Outputs(os.path.join(output_dir, f"{name}.png"), os.path.join(output_dir, name),
                   partial, os.path.join(partial, "checkpoint.npz"))


def _prepare_outputs(outputs, overwrite, resume):
    """Checks the output paths before training; returns ``outputs``."""
    output_dir = os.path.dirname(outputs.png) or "."
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as e:
        raise UsageError(f"{output_dir}: cannot create output folder ({e.strerror})") from None
    if not os.access(output_dir, os.W_OK):
        raise UsageError(f"{output_dir}: output folder is not writable")
    png_path, run_dir, partial = outputs.png, outputs.run_dir, outputs.partial
    if not overwrite:
        for path in (png_path, run_dir):
            if os.path.exists(path):
                raise UsageError(f"{path}: already exists (use --overwrite to replace it)")
    if os.path.exists(partial) and not resume:
        if not overwrite:
            raise UsageError(f"{partial}: holds an interrupted run of this image; --resume "
                             "continues it, --overwrite starts over")
        shutil.rmtree(partial)
    os.makedirs(partial, exist_ok=True)
    os.chmod(partial, 0o777 & ~files.umask())
    return outputs


def _publish(outputs, overwrite):
    """Moves a finished run into place: the folder first, then its PNG out of it.

    Each step is a rename within ``output_dir``; an old folder replaced under
    ``--overwrite`` is restored if the new one cannot be moved in.
    """
    if not overwrite:
        for path in (outputs.png, outputs.run_dir):
            if os.path.exists(path):
                raise UsageError(f"{path}: appeared while training; results kept in "
                                 f"{outputs.partial}")
    files.move_folder(outputs.partial, outputs.run_dir)
    os.replace(os.path.join(outputs.run_dir, os.path.basename(outputs.png)), outputs.png)


def _record(image_path, picture, source, config, preset_name, png_path, shape, model, history,
            seconds, started, bits):
    """The contents of config.json."""
    return {
        "preset": preset_name,
        "config": config.to_dict(),
        "input": {
            "path": os.path.abspath(image_path),
            "sha256": _sha256(image_path),
            "height": (source or picture.rgb).shape[0],
            "width": (source or picture.rgb).shape[1],
            "mode": picture.mode,
            "bits": picture.bits,
        },
        "output": {"image": os.path.abspath(png_path), "height": shape[0],
                   "width": shape[1], "grey": picture.grey,
                   "alpha": picture.alpha is not None or bool(source and source.has_alpha),
                   "bits": bits},
        "final_losses": {k: float(v[-1]) for k, v in history.history.items()},
        "execution": {
            "dtype_policy": model.generator.dtype_policy.name,
            "xla": bool(model.jit_compile),
            "train_step_traces": model.train_step_traces,
        },
        "started_utc": started.isoformat(timespec="seconds"),
        "wall_seconds": round(seconds, 2),  # summed over resumed runs
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
    }


def _diverged(message, model, state, partial):
    """Keeps the last good generator of a diverged run; returns the error to raise."""
    if os.path.exists(state):
        done = checkpoint.restore_generator(model, state)
        path = os.path.join(partial, "generator_last_good.keras")
        model.generator.save(path)
        message += f"; the generator of iteration {done} is kept in {path}"
    return TrainingError(message + "; try another --seed or --precision float32")


def _report_lr_psnr(image_path, sr, lr, degradation, scale):
    """Prints and returns the LR-PSNR (``inference.lr_psnr``) of ``sr``, the output
    as the PNG stores it (``imaging.as_stored``; RGB, before any grey conversion)."""
    value = inference.lr_psnr(sr, lr, degradation, scale)
    print(f"{image_path}: LR-PSNR {value:.1f} dB (the output degraded as the sons were made, "
          "against the input)", file=sys.stderr, flush=True)  # stdout: the PNG paths only
    return value


def _resolve(image_path, picture, config):
    """The run's ``(config, degradation, evidence)``: the spec resolved once
    (``estimate.resolve``); the config records the resolved spec."""
    try:
        degradation, evidence = estimate.resolve(config.kernel, picture.rgb, config.scale,
                                                 picture.jpeg_tables)
    except ValueError as e:
        raise UsageError(f"{image_path}: {e}") from None
    return config.replace(kernel=degradation.spec), degradation, evidence


def _header(image_path):
    """``(pixels, mode, jpeg_tables)`` from the file's header (Pillow, no
    pixels decoded); None when Pillow cannot open it (``imaging.read_picture``
    then reports the problem). Beyond Pillow's size limit the pixel count is
    unknown and taken as large."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(image_path) as im:
                return im.size[0] * im.size[1], im.mode, imaging.jpeg_tables(im)
    except Image.DecompressionBombError:
        return outofcore.LARGE_PIXELS + 1, "RGB", None
    except (OSError, SyntaxError, ValueError):
        return None


def _read(image_path):
    """``(source, picture)``: a small image read whole (no source); a large one
    (``outofcore.LARGE_PIXELS``) as an ``outofcore.Source`` and the picture it
    trains on, its centre region (``outofcore.centre``) with the file's layout."""
    header = _header(image_path)
    if header is None or header[0] <= outofcore.LARGE_PIXELS:
        return None, imaging.read_picture(image_path)
    _, mode, tables = header
    source = outofcore.Source(image_path)
    rows, cols = outofcore.centre(source.shape, outofcore.LARGE_PIXELS)
    height, width = source.shape[:2]
    print(f"{image_path}: {width}x{height} ({height * width / 1e6:.0f} megapixels): large; "
          f"trains on its centre {cols.stop - cols.start}x{rows.stop - rows.start}, writes the "
          "output in bands", file=sys.stderr, flush=True)
    return source, imaging.Picture(source[rows, cols], None, grey=source.grey, bits=source.bits,
                                   mode=mode, jpeg_tables=tables)


def run(image_path, config, options=RunOptions(), extra_callbacks=()):
    """Trains on ``image_path`` and writes all outputs; returns the PNG path.

    The run is built in ``<output_dir>/.<name>.partial/``, with a checkpoint
    every ``options.checkpoint_every`` iterations; ``options.resume`` continues
    from it. When complete, the checkpoint is removed and the folder renamed to
    ``<name>/``.
    """
    source, picture = _read(image_path)
    lr = picture.rgb
    try:
        data.check_image_size(lr.shape[0], lr.shape[1], config.scale,
                              data.min_father_side(config, lr.shape))
    except ValueError as e:
        raise UsageError(f"{image_path}: {e}") from None
    estimated = config.kernel in degradation_lib.ESTIMATED
    config, degradation, evidence = _resolve(image_path, picture, config)
    outputs = _prepare_outputs(outputs_of(image_path, config.scale, options.output_dir),
                               options.overwrite, options.resume)
    if estimated:
        print(f"{image_path}: degradation {degradation.spec} ({estimate.describe(evidence)})",
              file=sys.stderr, flush=True)
    try:
        if source is not None:
            _plan_large(source, picture, config, degradation, options)
        _train_and_write(image_path, picture, config, degradation, evidence, outputs, options,
                         extra_callbacks, source)
    except TrainingError:
        raise  # the partial keeps the log and the last good generator
    except _OtherSettings:
        # --resume with --overwrite: the interrupted run used other settings, so
        # it is discarded and this run starts over.
        shutil.rmtree(outputs.partial)
        return run(image_path, config, dataclasses.replace(options, resume=False),
                   extra_callbacks)
    except BaseException:
        # No checkpoint and no finished generator: nothing to resume or keep.
        kept = [outputs.state, os.path.join(outputs.partial, GENERATOR)]
        if not glob.glob(os.path.join(outputs.partial, "step*_*")) and not any(
                os.path.exists(p) for p in kept):
            shutil.rmtree(outputs.partial, ignore_errors=True)
        raise
    return outputs.png


def _train_and_write(image_path, picture, config, degradation, evidence, outputs, options,
                     extra_callbacks, source=None):
    """Trains (or resumes) in ``partial``, writes every output there, then publishes it.

    A gradual run (``gradual.steps``) trains one network per step, each on the
    output of the ones before (on the centre region of at most
    ``outofcore.LARGE_PIXELS`` that step's input has); a finished step keeps
    ``step<N>_generator.keras`` and its output ``step<N>_sr.npy``, so a resumed
    run starts at the first unfinished step. The last step's files have no
    prefix. The output is all the steps' networks on the whole image: in
    memory, or band by band from ``source`` for a large image (``outofcore``).
    """
    lr = picture.rgb
    partial, state, checkpoint_every = outputs.partial, outputs.state, options.checkpoint_every
    started = datetime.datetime.now(datetime.timezone.utc)
    scales = gradual.steps(config, degradation)
    image, generators, seconds = lr, [], 0.0
    for number, step in enumerate(scales, 1):
        prefix = "" if number == len(scales) else f"step{number}_"
        step_config = config.replace(scale=step)
        finished = os.path.join(partial, prefix + "sr.npy")
        clock_path = os.path.join(partial, prefix + "seconds.json")
        if prefix and os.path.exists(finished):  # done before an interruption
            generators.append(keras.saving.load_model(os.path.join(partial, prefix + GENERATOR)))
            seconds += callbacks.TrainingClock(clock_path, checkpoint_every).before
            image = numpy.load(finished)
            continue
        if len(scales) > 1:
            print(f"{image_path}: step {number} of {len(scales)}, x{step}", file=sys.stderr,
                  flush=True)
        step_state = state if not prefix else os.path.join(partial, prefix + "checkpoint.npz")
        guard = callbacks.DivergenceGuard()
        clock = callbacks.TrainingClock(clock_path, checkpoint_every)
        try:
            model, history = train.train_on_image(
                image, step_config,
                [callbacks.Progress(config.iterations), callbacks.LossLog(
                    os.path.join(partial, prefix + "losses.csv")), guard, clock,
                 *extra_callbacks],
                checkpoint=step_state, checkpoint_every=checkpoint_every,
                degradation=degradation)
        except checkpoint.CheckpointMismatch:
            if options.overwrite:
                raise _OtherSettings() from None
            raise UsageError(f"{partial}: the interrupted run used other settings; repeat "
                             "its flags, or --overwrite to start over") from None
        except data.ImageSizeError as e:  # fathers too small for the crop grid (x3 under XLA)
            raise UsageError(f"{image_path}: {e}") from None
        if guard.diverged_at:
            raise _diverged(f"{image_path}: training diverged (non-finite loss at iteration "
                            f"{guard.diverged_at})", model, step_state, partial)
        generators.append(model.generator)
        if prefix:  # the next step's training image
            centre = image[outofcore.centre(image.shape, outofcore.LARGE_PIXELS // step**2)]
            image = inference.super_resolve(model, centre, step_config, options.tile,
                                            options.tile_pad, callbacks.StepProgress())
            if not numpy.isfinite(image).all():
                raise _diverged(f"{image_path}: training diverged (non-finite output)", model,
                                step_state, partial)
            model.generator.save(os.path.join(partial, prefix + GENERATOR))
            clock.save(config.iterations)
            buffer = io.BytesIO()
            numpy.save(buffer, image)
            files.write_bytes(finished, buffer.getvalue())
            seconds += clock.seconds()
    bits = picture.bits if options.bit_depth == "auto" else int(options.bit_depth)
    test_time = inference.TestTime.of(config, degradation)
    png = os.path.join(partial, os.path.basename(outputs.png))
    try:
        if source is None:
            shape, lr_psnr = _write_in_memory(image_path, picture, generators, config,
                                              degradation, test_time, options, bits, png)
        else:
            shape, lr_psnr = _write_in_bands(source, generators, config, degradation, test_time,
                                             options, bits, png, partial)
    except FloatingPointError:
        raise _diverged(f"{image_path}: training diverged (non-finite output)", model, state,
                        partial) from None
    model.generator.save(os.path.join(partial, GENERATOR))
    exported = export.write_exports(
        generators, config.scale, partial, options.export, options.export_tile,
        dataclasses.replace(test_time, ensemble=config.ensemble and options.export_ensemble),
        callbacks.StepProgress())
    record = _record(image_path, picture, source, config, options.preset, outputs.png, shape,
                     model, history, seconds + clock.seconds(), started, bits)
    record["output"]["lr_psnr_db"] = None if lr_psnr is None else round(lr_psnr, 2)
    record["degradation"] = {"spec": degradation.spec, "evidence": evidence}
    record["steps"] = list(scales)
    record["exports"] = [os.path.basename(path) for path in exported]
    with open(os.path.join(partial, "config.json"), "w") as f:
        json.dump(record, f, indent=2)
    leftovers = [state, clock.path] + [
        os.path.join(partial, f"step{number}_{name}") for number in range(1, len(scales))
        for name in ("checkpoint.npz", "seconds.json", "sr.npy")]
    for leftover in leftovers:
        if os.path.exists(leftover):
            os.remove(leftover)
    _publish(outputs, options.overwrite)


def _write_in_memory(image_path, picture, generators, config, degradation, test_time, options,
                     bits, png):
    """Computes the output whole and writes ``png``; returns its shape and LR-PSNR."""
    sr = inference.upscale_image(generators, picture.rgb, config.scale, test_time, options.tile,
                                 options.tile_pad, callbacks.StepProgress())
    if not numpy.isfinite(sr).all():
        raise FloatingPointError("non-finite output")
    lr_psnr = _report_lr_psnr(image_path, imaging.as_stored(sr, bits), picture.rgb, degradation,
                              config.scale)
    alpha = None
    if picture.alpha is not None:
        alpha = inference.upscale_alpha(picture.alpha, config.scale, degradation)
    imaging.write_png(png, sr, alpha, picture.grey, bits)
    return sr.shape, lr_psnr


def _band_tiling(source, generators, scale, test_time, options):
    """``(core, pad)`` of a band run (``outofcore.core``, ``inference.context``)."""
    pad = options.tile_pad if options.tile_pad is not None else inference.context(
        generators, scale, test_time)
    return outofcore.core(source.shape, scale, generators[-1], pad, options.tile), pad


def _plan_large(source, picture, config, degradation, options):
    """Prints a large run's plan (``outofcore.plan``, timed with untrained
    generators of the run's shape) and stops at once, before training, when the
    machine has less memory available than it needs."""
    steps = gradual.steps(config, degradation)
    with precision.policy_scope(precision.resolve(config.precision)):
        generators = [models.Generator(config.g_filters, config.g_depth,
                                       block=step if config.subpixel else 1)
                      for step in steps]
    test_time = inference.TestTime.of(config, degradation)
    core, pad = _band_tiling(source, generators, config.scale, test_time, options)
    plan = outofcore.plan(inference.window_upscaler(generators, config.scale, test_time),
                          source.shape, config.scale, generators[-1], core, pad,
                          picture.rgb.shape[0] * picture.rgb.shape[1])
    available = outofcore.available_memory()
    print(f"{source.path}: {plan.describe()}"
          + ("" if available is None else f" ({available / 2**30:.1f} GiB available)"),
          file=sys.stderr, flush=True)
    if available is not None and plan.peak_bytes > available:
        raise UsageError(f"{source.path}: needs about {plan.peak_bytes / 2**30:.1f} GiB of "
                         f"memory, {available / 2**30:.1f} GiB available; free memory or "
                         "use a smaller --tile")


def _write_in_bands(source, generators, config, degradation, test_time, options, bits, png,
                    partial):
    """Computes the output band by band from ``source`` and writes ``png``
    (``outofcore``); a resumed run keeps the bands done. Returns the output's
    shape and None (no LR-PSNR: the output is never whole)."""
    height, width = source.shape[:2]
    scale = config.scale
    core, pad = _band_tiling(source, generators, scale, test_time, options)
    layout = outofcore.Layout(height * scale, width * scale,
                              imaging.stored_channels(source.grey, source.has_alpha, bits), bits)
    sink = outofcore.Sink(partial, layout, {"core": list(core), "pad": pad})
    outofcore.upscale(inference.window_upscaler(generators, scale, test_time), source, sink,
                      scale, core, pad, degradation, callbacks.StepProgress())
    sink.encode(png)
    return (height * scale, width * scale, 3), None


def expand_images(pattern):
    """The images ``--image`` names: a file, the photos of a folder (sorted, not
    recursive; by extension, ``imaging.PHOTO_EXTENSIONS``), or the files matching a glob."""
    if os.path.isdir(pattern):
        names = sorted(os.listdir(pattern))
        images = [os.path.join(pattern, n) for n in names
                  if os.path.splitext(n)[1].lower() in imaging.PHOTO_EXTENSIONS
                  and os.path.isfile(os.path.join(pattern, n))]
        if not images:
            raise UsageError(f"{pattern}: folder holds no image files")
        return images
    if os.path.exists(pattern):  # a file, even one whose name has glob characters
        return [pattern]
    if glob.has_magic(pattern):
        images = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
        if not images:
            raise UsageError(f"{pattern}: no files match")
        return images
    return [pattern]


def check_output_names(images, scale):
    """Raises ``UsageError`` if two images would write the same outputs
    (``photo.png`` and ``photo.jpg`` both make ``photo_x2``)."""
    seen = {}
    for image in images:
        name = os.path.basename(outputs_of(image, scale, "").run_dir)
        if name in seen:
            raise UsageError(f"{image}: {seen[name]} also writes {name}; run them separately")
        seen[name] = image


def _summary(results):
    """A Markdown table of a folder run: image, status, output or error, seconds."""
    lines = ["| image | status | output / error | seconds |", "|---|---|---|---|"]
    for image, status, detail, seconds in results:
        lines.append(f"| {image} | {status} | {detail} | {seconds:.0f} |")
    return "\n".join(lines)


def _config_from_flags():
    try:
        export.check_kinds(FLAGS.export)
    except ValueError as e:
        raise UsageError(f"--export {','.join(FLAGS.export)}: {e}") from None
    for name in ("export_tile", "tile_pad"):
        if (getattr(FLAGS, name) or 0) < 0:
            raise UsageError(f"--{name} {getattr(FLAGS, name)}: must be >= 0")
    if FLAGS.tile is not None and FLAGS.tile < 0:
        raise UsageError(f"--tile {FLAGS.tile}: must be >= 0 (0: never tile)")
    if FLAGS.checkpoint_every < 1:
        raise UsageError(f"--checkpoint_every {FLAGS.checkpoint_every}: must be >= 1")
    if FLAGS.scale not in config_lib.SCALES:
        raise UsageError(f"--scale {FLAGS.scale}: must be one of {config_lib.SCALES}")
    try:
        overrides = config_lib.parse_overrides(FLAGS.settings)
    except ValueError as e:
        raise UsageError(f"--settings {FLAGS.settings!r}: {e}") from None
    given = [f"--preset {FLAGS.preset}"] + [f"--settings {FLAGS.settings!r}"] * bool(overrides)
    # A flag given on the command line overrides the preset; left out, it keeps the
    # preset's value or the one in --settings. Both at once is ambiguous.
    for name in ("scale", "seed", "precision", "iterations", "kernel"):
        if FLAGS[name].present:
            if name in overrides:
                raise UsageError(f"--{name} and --settings {name}=...: give it once")
            overrides[name] = FLAGS[name].value
            given.append(f"--{name} {FLAGS[name].value}")
    try:
        config = config_lib.preset(FLAGS.preset, **overrides)
    except ValueError as e:
        raise UsageError(f"{' '.join(given)}: {e}") from None
    degradation_lib.check(config.kernel)  # a bad spec or file fails here, before training
    return config


def run_image(image, config, options, catch_all=False):
    """One image through ``run``; returns ``(exit code, PNG path or error line)``.

    ``catch_all``: also turn an unexpected exception into an error line (exit code
    1), so that one image of a folder run cannot stop the others.
    """
    try:
        return 0, run(image, config, options)
    except (UsageError, ImageError, WeightsError, kernels.KernelError) as e:
        return 2, str(e)
    except TrainingError as e:
        return 1, str(e)
    except OSError as e:
        return 2, f"{e.filename or options.output_dir}: {e.strerror or e}"
    except Exception as e:  # folder runs only; a single image shows the traceback
        if not catch_all:
            raise
        return 1, f"{image}: unexpected {type(e).__name__}: {e}"


def main(argv):
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}", file=sys.stderr)
        return 2
    if not FLAGS["verbosity"].present:  # TensorFlow's INFO lines (saving, exporting)
        logging.set_verbosity(logging.WARNING)
    try:
        if FLAGS.image is None:
            raise UsageError("--image is required")
        config = _config_from_flags()
        images = expand_images(FLAGS.image)
        check_output_names(images, config.scale)
    except (UsageError, kernels.KernelError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    options = RunOptions.from_flags()
    if FLAGS.ray:
        return _run_on_cluster(images, config, options)
    if len(images) == 1 and images[0] == FLAGS.image:
        code, detail = run_image(images[0], config, options)
        print(detail if code == 0 else f"error: {detail}", file=sys.stdout if code == 0
              else sys.stderr)
        return code
    results = []
    for image in images:  # each independently; a failure does not stop the others
        t0 = time.perf_counter()
        print(f"{image}:", file=sys.stderr, flush=True)
        code, detail = run_image(image, config, options, catch_all=True)
        if code:
            print(f"error: {detail}", file=sys.stderr, flush=True)
        results.append((image, "ok" if code == 0 else "failed", detail,
                        time.perf_counter() - t0))
        keras.backend.clear_session()
    print(_summary(results))
    return 1 if any(status == "failed" for _, status, _, _ in results) else 0


def _run_on_cluster(images, config, options):
    """The images as Ray tasks (``cluster.run``); the folder run's summary and exit codes."""
    from zsrgan_tf import cluster  # imports Ray: only with --ray

    try:
        resources = cluster.Resources(FLAGS.ray_cpus, FLAGS.ray_gpus)
    except ValueError as e:
        print(f"error: --ray_cpus/--ray_gpus: {e}", file=sys.stderr)
        return 2
    try:
        results = cluster.run(images, config, options, FLAGS.ray, resources)
    except cluster.ClusterError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = [(r.image, r.status, r.detail, r.seconds) for r in results]
    print(_summary(rows))
    return 1 if any(r.status == "failed" for r in results) else 0


# --help: the tool's flags by purpose (absl's own are under --helpfull).
HELP_GROUPS = (
    ("input and output", ("image", "scale", "output_dir", "overwrite", "resume", "bit_depth")),
    ("how it trains", ("preset", "kernel", "iterations", "seed", "settings", "precision",
                       "checkpoint_every")),
    ("inference", ("tile", "tile_pad")),
    ("export", ("export", "export_tile", "export_ensemble")),
    ("many images on a Ray cluster", ("ray", "ray_cpus", "ray_gpus")),
)


def help_text(program):
    """The ``--help`` text: usage, one example, the tool's flags grouped by purpose."""
    width = 100
    lines = [f"usage: {program} --image PATH [flags]", "",
             "Super-resolves images, each with a network trained on the image alone.", "",
             f"example: {program} --image photo.png --scale 2 --export tflite", ""]
    for title, names in HELP_GROUPS:
        lines.append(f"{title}:")
        for name in names:
            flag = FLAGS[name]
            default = ("" if flag.default in (None, "", []) else
                       f" (default: {flag.default_as_str.strip(chr(39))})")
            lines.append(f"  --{name}")
            lines += textwrap.wrap(flag.help + default, width, initial_indent=" " * 6,
                                   subsequent_indent=" " * 6)
        lines.append("")
    lines.append("--helpfull lists every flag, TensorFlow's and absl's too.")
    return "\n".join(lines)


def _parse_flags(argv):
    """absl flag parsing with the tool's convention: one line and exit code 2 on error."""
    if any(arg in ("-h", "--help", "--helpshort", "-?") for arg in argv[1:]):
        print(help_text(os.path.basename(argv[0])))
        sys.exit(0)
    try:
        return FLAGS(argv)
    except flags.Error as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def entry_point():
    app.run(main, flags_parser=_parse_flags)
