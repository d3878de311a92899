"""Test-time inference: tiling, and ZSSR's self-ensemble and back-projection.

Both must respect the sampling grid (``degrade.GRIDS``). On the "corner" grid
(LR pixel k is HR pixel s*k) mirroring an LR image of width W maps HR column
x to s*W - s - x, not s*W - 1 - x: undoing a flip of the SR output needs a
shift of s - 1 pixels, and the last s - 1 columns have no mirrored estimate.
Without the shift the ensemble loses about 5 dB (docs/method.md section 2).
"""

import math

import numpy as np

from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import imaging, metrics, tiling

# Context per tile side, LR pixels. The reach of an output pixel is 2 LR pixels
# of bicubic, ceil(depth * block / scale) for the generator (4 for the paper's
# net at x2; depth for a sub-pixel one: 8) and 1 for the ensemble's shift on the
# corner grid (``context``); 16 leaves room for deeper generators, and deeper
# ones than that get their own reach.
TILE_PAD = 16
# Memory one network pass may use before the image is tiled, and what it costs:
# about 34 bytes per hidden channel per SR pixel (measured: 2.1 KB per SR pixel
# for 64 channels on this CPU, float32, 512^2 and 1024^2 outputs).
MEMORY_BUDGET = 2 * 2**30
BYTES_PER_CHANNEL_PIXEL = 34


def _unflip(sr, axis, shift):
    """Undoes a flip of the LR image on the SR output: reverse ``axis``, shift by
    ``shift`` pixels; the ``shift`` uncovered pixels at the end are NaN."""
    out = np.flip(sr, axis)
    if shift:
        out = np.roll(out, -shift, axis)
        index = [slice(None)] * sr.ndim
        index[axis] = slice(-shift, None)
        out[tuple(index)] = np.nan
    return out


def _inverse(sr, transform, shift):
    transpose, flip_rows, flip_cols = transform
    out = sr.astype(np.float32, copy=True)
    if flip_cols:
        out = _unflip(out, 1, shift)
    if flip_rows:
        out = _unflip(out, 0, shift)
    return np.swapaxes(out, 0, 1) if transpose else out


def self_ensemble(upscale, lr, scale, grid="centre", transforms=degradation_lib.DIHEDRAL,
                  progress=None):
    """Pixel-wise median of ``upscale`` over geometric transforms of ``lr``.

    Args:
      upscale: function float32 ``(h, w, 3)`` -> ``(scale*h, scale*w, 3)``.
      lr: float32 ``(H, W, 3)`` in [0, 1].
      scale: integer factor.
      grid: ``degrade.GRIDS`` member the network was trained on.
      transforms: subset of ``degradation.DIHEDRAL``.
      progress: optional ``progress(label, done, total)``, called with label
        ``"ensemble"`` before the first transform and after each.

    Returns:
      float32 ``(scale*H, scale*W, 3)``; where a transform has no estimate
      (corner grid: the last ``scale - 1`` rows/columns) the median of the others.
    """
    shift = scale - 1 if grid == "corner" else 0
    report = progress or (lambda label, done, total: None)
    report("ensemble", 0, len(transforms))
    estimates = []
    for t in transforms:
        estimates.append(_inverse(np.asarray(upscale(np.ascontiguousarray(
            degradation_lib.transform(lr, t)))), t, shift))
        report("ensemble", len(estimates), len(transforms))
    return np.nanmedian(np.stack(estimates), axis=0).astype(np.float32)


def back_project(sr, lr, degradation, scale, iterations=10, progress=None):
    """Makes ``sr`` consistent with ``lr``: ``sr += up(lr - down(sr))``, repeated (ZSSR).

    ``down`` is the degradation's linear part (``Degradation.downscale``: blur and
    resampling) and ``up`` bicubic on its grid.

    Args:
      sr: float32 ``(scale*H, scale*W, 3)``.
      lr: ``(H, W, 3)``, float in [0, 1] or integers (``imaging.to_float``).
      degradation: a ``degradation.Degradation``.
      scale: integer factor.
      iterations: number of corrections (0 returns ``sr``).
      progress: optional ``progress(label, done, total)``, called with label
        ``"back-projection"`` before the first correction and after each.

    Returns:
      float32 ``(scale*H, scale*W, 3)`` clipped to [0, 1].
    """
    sr = np.asarray(sr, np.float32)
    lr = imaging.to_float(lr)
    report = progress or (lambda label, done, total: None)
    report("back-projection", 0, iterations)
    for i in range(iterations):
        residual = lr - degradation.downscale(sr, scale).numpy()
        sr = np.clip(sr + degradation.interpolate(residual, scale).numpy(), 0.0, 1.0)
        report("back-projection", i + 1, iterations)
    return sr


def lr_psnr(sr, lr, degradation, scale):
    """LR-PSNR: how well ``sr``, degraded by the linear part of ``degradation``
    (blur and resampling), reproduces the input ``lr``, in dB (peak 1). It needs
    no ground truth: it measures agreement with the run's own model of the
    degradation, not closeness to the truth. With the true kernel the true HR
    image scores about 59 dB (the input's 8-bit rounding); with a wrong model it
    scores low too (Set5 g20 HR images under bicubic: 24-34 dB), so a low value
    means "inconsistent with the assumed degradation", whatever the cause; noise
    and JPEG in the input lower it too.

    Args:
      sr: float32 ``(scale*H, scale*W, 3)`` in [0, 1].
      lr: ``(H, W, 3)``, float in [0, 1] or integers (``imaging.to_float``).
      degradation: a ``degradation.Degradation``.
      scale: integer factor.

    Returns:
      float dB (the ``paper`` protocol of ``metrics.psnr``: RGB, clipped, not
      rounded, no shave); inf when the two agree exactly.
    """
    lr = imaging.to_float(lr)
    down = degradation.downscale(np.asarray(sr, np.float32), scale).numpy()
    return metrics.psnr(down, lr, "paper", scale)


def context(generator, scale):
    """LR pixels of context a tile needs for ``generator`` (see ``TILE_PAD``)."""
    return 2 + math.ceil(generator.depth * generator.block / scale) + 1


def auto_tile(shape, scale, filters, block=1, budget=MEMORY_BUDGET, pad=TILE_PAD):
    """The LR tile (core) side for ``upscale``: 0 (no tiling) when one pass over
    the whole image fits in ``budget`` bytes, else the largest core whose padded
    window does (at least 32).

    Args:
      shape: LR shape ``(H, W, ...)``.
      scale: integer factor.
      filters: hidden channels of the generator.
      block: the generator's space-to-depth block (its hidden maps have
        1/block^2 of the SR pixels).
    """
    per_pixel = BYTES_PER_CHANNEL_PIXEL * filters * scale * scale // (block * block)  # per LR px
    if shape[0] * shape[1] * per_pixel <= budget:
        return 0
    return max(32, math.isqrt(budget // per_pixel) - 2 * pad)


def super_resolve(model, lr, config, tile=None, pad=None, progress=None):
    """The final SR image of a trained run, with the config's test-time options.

    Large images are processed in tiles with ``pad`` pixels of context, which
    gives the same result as one pass (the pad covers the network's and the
    ensemble's reach); back-projection then runs on the whole image.

    Args:
      model: a trained ``gan.ZSRGAN``; its ``degradation`` (the one its sons were
        made with) sets the grid, the ensemble's transforms and the
        back-projection.
      lr: ``(H, W, 3)``, float in [0, 1] or integers (``imaging.to_float``).
      config: the run's ``TrainConfig`` (``ensemble``, ``back_projection``, ``scale``);
        back-projection runs only for a degradation without noise or JPEG.
      tile: LR core side of the tiles; None chooses by memory (``auto_tile``);
        0 is one whole-image pass.
      pad: context per tile side, LR pixels; None: ``TILE_PAD``, or the
        generator's ``context`` when that is larger.
      progress: optional ``progress(label, done, total)`` for the tiles (or,
        in one pass, the ensemble's transforms) and the back-projection
        (``callbacks.StepProgress``).

    Returns:
      float32 ``(scale*H, scale*W, 3)`` in [0, 1].
    """
    lr = imaging.to_float(lr)
    degradation = model.degradation

    def network(window, progress=None):
        if config.ensemble:
            return self_ensemble(model.upscale, window, config.scale, degradation.grid,
                                 degradation.symmetries(), progress)
        return model.upscale(window)

    if pad is None:
        pad = max(TILE_PAD, context(model.generator, config.scale))
    if tile is None:
        tile = auto_tile(lr.shape, config.scale, model.generator.filters, model.generator.block,
                         pad=pad)
    sr = tiling.tiled(network, lr, tile, pad, progress=progress) if tile else network(lr, progress)
    # With noise or JPEG in the input, an output consistent with it would carry them.
    if config.back_projection and degradation.linear:
        sr = back_project(sr, lr, degradation, config.scale, config.back_projection, progress)
    return sr
