"""Evaluating super-resolution methods on (LR, HR) pairs, with labelled protocols.

Methods:
- ``bicubic``: MATLAB bicubic upscaling (``degrade.upscale_bicubic``).
- ``zssr``: the paper's ZSSR baseline, the same generator and sampler trained
  with the pixel loss only (``lambda_percep = lambda_gan = 0``).
- ``zsrgan``: the full method.
Trained methods report their final iteration; the ground truth is used only
by ``score``, after super-resolution.
"""

import os
import time

import numpy as np

from zsrgan_tf import blind, degrade, imaging, inference, metrics, train
from zsrgan_tf import callbacks as callbacks_lib

METHODS = ("bicubic", "zssr", "zsrgan")
# The shared test sets' LR folder (Gaussian blur, covariance 2.0, x2; REFERENCE.md section 2).
G20_LR_DIR = "LR_g20_x2"
# Training state saved every this many iterations when a checkpoint path is given.
CHECKPOINT_EVERY = 50


def method_config(method, config):
    """The ``TrainConfig`` a trained method uses (None for ``bicubic``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "bicubic":
        return None
    if method == "zssr":
        return config.replace(lambda_percep=0.0, lambda_gan=0.0)
    return config


def super_resolve(method, lr, config, checkpoint=None, callbacks=()):
    """Super-resolves ``lr`` with ``method``.

    Args:
      method: one of ``METHODS``.
      lr: float32 ``(H, W, 3)`` in [0, 1].
      config: ``TrainConfig`` (its scale is used by every method).
      checkpoint: optional training-state path, to resume a killed run.
      callbacks: Keras callbacks for training.

    Returns:
      ``(sr, info)``: float32 ``(scale*H, scale*W, 3)`` in [0, 1], and a dict
      with ``seconds`` (training and inference, summed over resumed runs),
      ``final_losses``, ``dtype_policy`` and, for trained methods, ``kernel``
      (the spec used: a ``blind`` one is replaced by its estimate) and
      ``variants``: name -> SR image of the same network with fewer test-time
      options (see ``_variants``; computed after ``seconds`` is taken).
    """
    t0 = time.perf_counter()
    trained = method_config(method, config)
    if trained is None:
        sr = np.clip(degrade.upscale_bicubic(lr, config.scale).numpy(), 0.0, 1.0)
        return sr, {"seconds": time.perf_counter() - t0, "final_losses": {},
                    "dtype_policy": "float32"}
    trained = blind.resolve(trained, lr)
    callbacks = list(callbacks)
    earlier = 0.0
    if checkpoint:
        clock = callbacks_lib.TrainingClock(checkpoint + ".seconds.json", CHECKPOINT_EVERY)
        callbacks.append(clock)
        earlier = clock.before
    model, history = train.train_on_image(
        lr, trained, callbacks, checkpoint=checkpoint, checkpoint_every=CHECKPOINT_EVERY
    )
    sr = inference.upscale(model, lr, trained)
    seconds = earlier + time.perf_counter() - t0
    return sr, {
        "seconds": seconds,
        "final_losses": {k: float(v[-1]) for k, v in history.history.items() if v},
        "dtype_policy": model.generator.dtype_policy.name,
        "kernel": trained.kernel,
        "variants": _variants(model, lr, trained),
    }


def _variants(model, lr, config):
    """The same trained network with fewer test-time options, for ablations:
    ``network`` (no ensemble or back-projection) and each option alone. Empty
    unless the config uses both options (otherwise there is nothing to ablate)."""
    if not (config.ensemble and config.back_projection):
        return {}
    return {
        "network": model.upscale(lr),
        "ensemble": inference.upscale(model, lr, config.replace(back_projection=0)),
        "back_projection": inference.upscale(model, lr, config.replace(ensemble=False)),
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
    """``[(name, lr_path, hr_path)]`` for files present in both ``HR/`` and ``lr_subdir/``."""
    hr_dir, lr_dir = os.path.join(folder, "HR"), os.path.join(folder, lr_subdir)
    names = sorted(set(os.listdir(hr_dir)) & set(os.listdir(lr_dir)))
    return [(os.path.splitext(n)[0], os.path.join(lr_dir, n), os.path.join(hr_dir, n))
            for n in names]
