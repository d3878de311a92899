"""Evaluating super-resolution methods on (LR, HR) pairs, with labelled protocols.

Methods:
- ``bicubic``: MATLAB bicubic upscaling (``degrade.upscale_bicubic``).
- ``l1``: the paper's ZSSR baseline, the same generator and sampler trained
  with the pixel loss only (``lambda_percep = lambda_gan = 0``). Result
  folders written before this name was chosen call it ``zssr``.
- ``zsrgan``: the full method.
Trained methods report their final iteration; the ground truth is used only
by ``score``, after super-resolution.
"""

import io
import os
import time
import zlib

import numpy as np
from PIL import Image

from zsrgan_tf import callbacks as callbacks_lib
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import degrade, estimate, files, gradual, imaging, inference, metrics, train

METHODS = ("bicubic", "l1", "zsrgan")
# The g20 test sets' LR folder (Gaussian blur, covariance 2.0, x2; docs/method.md section 3).
G20_LR_DIR = "LR_g20_x2"
# Training state saved every this many iterations when a checkpoint path is given.
CHECKPOINT_EVERY = 50


def method_config(method, config):
    """The ``TrainConfig`` a trained method uses (None for ``bicubic``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "bicubic":
        return None
    if method == "l1":
        return config.replace(lambda_percep=0.0, lambda_gan=0.0)
    return config


def super_resolve(method, lr, config, checkpoint=None, callbacks=(), jpeg_tables=None,
                  variants=True):
    """Super-resolves ``lr`` with ``method``.

    Args:
      method: one of ``METHODS``.
      lr: float32 ``(H, W, 3)`` in [0, 1].
      config: ``TrainConfig`` (its scale is used by every method).
      checkpoint: optional training-state path, to resume a killed run.
      callbacks: Keras callbacks for training.
      jpeg_tables: the input file's JPEG quantisation tables, for ``auto``
        (``imaging.Picture.jpeg_tables``).
      variants: also return the ablation's ``variants`` (three more inferences).

    Returns:
      ``(sr, info)``: float32 ``(scale*H, scale*W, 3)`` in [0, 1], and a dict
      with ``seconds`` (the degradation's estimate, training and inference,
      summed over resumed runs), ``final_losses``, ``dtype_policy`` and, for
      trained methods, ``kernel`` (the resolved degradation spec),
      ``evidence`` (what an estimated one rests on), ``steps`` (the scale of
      each training step, ``gradual``) and ``variants``: name ->
      SR image of the same network with fewer test-time options (see
      ``_variants``; computed after ``seconds`` is taken).
    """
    t0 = time.perf_counter()
    trained = method_config(method, config)
    if trained is None:
        sr = np.clip(degrade.upscale_bicubic(lr, config.scale).numpy(), 0.0, 1.0)
        return sr, {"seconds": time.perf_counter() - t0, "final_losses": {},
                    "dtype_policy": "float32"}
    degradation, evidence = estimate.resolve(trained.kernel, lr, trained.scale, jpeg_tables)
    trained = trained.replace(kernel=degradation.spec)
    callbacks, last_callbacks = list(callbacks), list(callbacks)
    earlier = 0.0
    if checkpoint:
        clock = callbacks_lib.TrainingClock(checkpoint + ".seconds.json", CHECKPOINT_EVERY)
        last_callbacks.append(clock)
        earlier = clock.before
    # A gradual run's earlier steps are not checkpointed: a resumed run trains them again
    # (same seed), then resumes the last step.
    image, scales = lr, gradual.steps(trained, degradation)
    for number, step in enumerate(scales, 1):
        last = number == len(scales)
        step_config = trained.replace(scale=step)
        model, history = train.train_on_image(
            image, step_config, last_callbacks if last else callbacks,
            checkpoint=checkpoint if last else None, checkpoint_every=CHECKPOINT_EVERY,
            degradation=degradation)
        lr_of_step = image
        image = inference.super_resolve(model, image, step_config)
    sr = image
    seconds = earlier + time.perf_counter() - t0
    return sr, {
        "seconds": seconds,
        "final_losses": {k: float(v[-1]) for k, v in history.history.items() if v},
        "dtype_policy": model.generator.dtype_policy.name,
        "kernel": trained.kernel,
        "evidence": evidence,
        "steps": list(scales),
        # The last step's network with fewer test-time options.
        "variants": _variants(model, lr_of_step, step_config) if variants else {},
    }


def _variants(model, lr, config):
    """The same trained network with fewer test-time options, for ablations:
    ``network`` (no ensemble or back-projection) and each option alone. Empty
    unless the config uses both options (otherwise there is nothing to ablate)."""
    if not (config.ensemble and config.back_projection):
        return {}
    return {
        "network": model.upscale(lr),
        "ensemble": inference.super_resolve(model, lr, config.replace(back_projection=0)),
        "back_projection": inference.super_resolve(model, lr, config.replace(ensemble=False)),
    }


def score(sr, hr, scale, lpips_model=None):
    """PSNR/SSIM under both protocols and LPIPS-VGG (on RGB, HR cropped to SR's size).

    Returns:
      ``{"mzsr": {"psnr_y", "ssim_y"}, "paper": {"psnr_rgb", "ssim_rgb"}, "lpips"}``;
      ``lpips`` is None without ``lpips_model``.
    """
    h, w = sr.shape[:2]
    hr_crop = hr[:h, :w]  # HR cropped to a multiple of the scale (no-op for Set5/BSD100)
    result = {
        "mzsr": {"psnr_y": metrics.psnr(sr, hr, "mzsr", scale),
                 "ssim_y": metrics.ssim(sr, hr, "mzsr", scale)},
        "paper": {"psnr_rgb": metrics.psnr(sr, hr_crop, "paper", scale),
                  "ssim_rgb": metrics.ssim(sr, hr_crop, "paper", scale)},
        "lpips": None,
    }
    if lpips_model is not None:
        pair = [np.asarray(sr, np.float32)[None], np.asarray(hr_crop, np.float32)[None]]
        result["lpips"] = float(lpips_model(pair).numpy()[0])
    return result


def check_pair_sizes(pairs, scale):
    """Raises ValueError (one line naming the files) unless every LR image times
    ``scale`` is its HR image cropped to a multiple of ``scale``: the size the
    ``mzsr`` protocol compares, known before any training.

    Args:
      pairs: ``[(name, lr_path, hr_path)]`` as from ``dataset_pairs``.
    """
    for _, lr_path, hr_path in pairs:
        lr = imaging.read_image(lr_path).shape[:2]
        hr = imaging.read_image(hr_path).shape[:2]
        want = (hr[0] // scale * scale, hr[1] // scale * scale)
        if (lr[0] * scale, lr[1] * scale) != want:
            raise ValueError(
                f"{lr_path}: {lr[1]}x{lr[0]} LR at x{scale} is {lr[1] * scale}x{lr[0] * scale}, "
                f"but {hr_path} cropped to a multiple of {scale} is {want[1]}x{want[0]} "
                "(crop HR to a multiple of the scale before degrading it)")


def dataset_pairs(folder, lr_subdir=G20_LR_DIR):
    """``[(name, lr_path, hr_path)]`` for the images whose name (without extension)
    is in both ``HR/`` and ``lr_subdir/`` (a JPEG input has a PNG ground truth)."""
    hr_dir, lr_dir = os.path.join(folder, "HR"), os.path.join(folder, lr_subdir)
    hr = {os.path.splitext(n)[0]: n for n in os.listdir(hr_dir)}
    lr = {os.path.splitext(n)[0]: n for n in os.listdir(lr_dir)}
    return [(name, os.path.join(lr_dir, lr[name]), os.path.join(hr_dir, hr[name]))
            for name in sorted(set(hr) & set(lr))]


def degraded_file(hr, degradation, scale, seed):
    """The LR file an HR image makes under ``degradation``, as its bytes.

    The linear part is computed in float64 (``Degradation.downscale``), the noise
    drawn from ``numpy.random.default_rng(seed)``, and the result rounded to 8 bits
    in float64 (as the g20 test sets' LR_g20_x2 files were made: ``gaussian:2.0``
    reproduces them bit for bit); with JPEG, Pillow encodes it at the spec's
    quality (its default 4:2:0 chroma).

    Args:
      hr: float ``(H, W, 3)`` in [0, 1], H and W multiples of ``scale``.
      degradation: a ``degradation.Degradation``.
      scale: integer factor.
      seed: int, the noise's seed.

    Returns:
      ``(bytes, extension)``: a JPEG (".jpg") or PNG (".png") file.
    """
    lr = degradation.downscale(np.asarray(hr, np.float64), scale).numpy()
    if degradation.noise:
        lr = lr + degradation.noise * np.random.default_rng(seed).standard_normal(lr.shape)
    pixels = Image.fromarray(imaging.to_uint8(lr))
    buffer = io.BytesIO()
    if degradation.jpeg is None:
        pixels.save(buffer, format="PNG")
        return buffer.getvalue(), ".png"
    pixels.save(buffer, format="JPEG", quality=degradation.jpeg)
    return buffer.getvalue(), ".jpg"


def _copy_cropped(source, target, scale):
    """Copies an HR image cropped to a multiple of ``scale``, whole or not at all:
    byte for byte when no crop is needed, else re-encoded with its layout."""
    picture = imaging.read_picture(source)
    h, w = picture.rgb.shape[:2]
    if h % scale == 0 and w % scale == 0:
        with open(source, "rb") as f:
            files.write_bytes(target, f.read())
        return
    h, w = h // scale * scale, w // scale * scale
    alpha = None if picture.alpha is None else picture.alpha[:h, :w]
    imaging.write_png(target, picture.rgb[:h, :w], alpha, picture.grey, picture.bits)
    print(f"{target}: cropped to {w}x{h}, a multiple of {scale}")


def degrade_dataset(dataset, spec, scale, out, lr_dir, seed=0):
    """Makes LR inputs from a dataset's HR images with a known degradation.

    Each ``dataset``/HR PNG is cropped to a multiple of ``scale`` (bottom and
    right; MZSR's "modcrop") and copied to ``out``/HR (byte for byte when no
    crop is needed), then degraded (``degraded_file``) into ``out``/``lr_dir``,
    as PNG, or JPEG when the spec ends with JPEG compression. The noise of image
    NAME is drawn from the seed ``seed`` + crc32(NAME). Existing files are left
    alone, so a second call only lists them.

    Args:
      dataset: folder with HR/.
      spec: a known degradation spec (``degradation.parse``).
      scale: integer factor.
      out: output folder.
      lr_dir: name of the LR subfolder.
      seed: int.

    Returns:
      The LR paths, sorted by name.

    Raises:
      kernels.KernelError: a bad spec. FileNotFoundError: no ``dataset``/HR.
    """
    degradation = degradation_lib.parse(spec)
    hr_dir = os.path.join(dataset, "HR")
    if not os.path.isdir(hr_dir):
        raise FileNotFoundError(f"{hr_dir}: no such folder")
    for folder in ("HR", lr_dir):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    made = []
    for name in sorted(n for n in os.listdir(hr_dir) if n.lower().endswith(".png")):
        stem = os.path.splitext(name)[0]
        hr_copy = os.path.join(out, "HR", name)
        if not os.path.exists(hr_copy):
            _copy_cropped(os.path.join(hr_dir, name), hr_copy, scale)
        ext = ".png" if degradation.jpeg is None else ".jpg"
        lr_path = os.path.join(out, lr_dir, stem + ext)
        if not os.path.exists(lr_path):
            content, _ = degraded_file(
                imaging.read_image(hr_copy), degradation, scale,
                seed + zlib.crc32(stem.encode()))
            files.write_bytes(lr_path, content)
        made.append(lr_path)
    return made
