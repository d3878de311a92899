"""Test-time inference: tiling, and ZSSR's self-ensemble and back-projection.

Both must respect the sampling grid (``degrade.GRIDS``). On the "corner" grid
(LR pixel k is HR pixel s*k) mirroring an LR image of width W maps HR column
x to s*W - s - x, not s*W - 1 - x: undoing a flip of the SR output needs a
shift of s - 1 pixels, and the last s - 1 columns have no mirrored estimate.
Without the shift the ensemble loses about 5 dB (docs/method.md section 2).
"""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import degrade, imaging, metrics, tiling

# Memory one window may use before the image is tiled, and what it costs:
# about 34 bytes per hidden channel per SR pixel (measured: 2.1 KB per SR pixel
# for 64 channels on this CPU, float32, 512^2 and 1024^2 outputs).
MEMORY_BUDGET = 2 * 2**30
BYTES_PER_CHANNEL_PIXEL = 34


@dataclasses.dataclass(frozen=True)
class TestTime:
    """What runs around the network at test time, as ``train_one`` runs it.

    Attributes:
      degradation: the ``degradation.Degradation`` the sons were made with: it
        sets the sampling grid, the ensemble's transforms
        (``Degradation.symmetries``) and the back-projection's model. None:
        bicubic (the paper's sons, centre grid).
      ensemble: the self-ensemble (``inference.self_ensemble``): the network
        runs once per transform (8 for an isotropic blur), so it costs that
        many times the network alone.
      back_projection: corrections of ``inference.back_project`` (0: none); run
        only for a degradation without noise or JPEG.
    """

    degradation: object = None
    ensemble: bool = False
    back_projection: int = 0

    @classmethod
    def of(cls, config, degradation):
        """The test-time options of a run: its ``TrainConfig`` and degradation."""
        return cls(degradation, config.ensemble, config.back_projection)

    @property
    def model(self):
        """The degradation, bicubic when none is given."""
        return self.degradation or degradation_lib.parse("bicubic")

    @property
    def grid(self):
        return self.model.grid

    @property
    def projections(self):
        """Back-projection corrections that actually run."""
        return self.back_projection if self.model.linear else 0


def _transform(images, dihedral):
    """``degradation.transform`` on ``(N, H, W, C)`` tensors: transposed first, then flipped."""
    transpose, flip_rows, flip_cols = dihedral
    out = tf.transpose(images, [0, 2, 1, 3]) if transpose else images
    axes = [axis for axis, flip in ((1, flip_rows), (2, flip_cols)) if flip]
    return tf.reverse(out, axes) if axes else out


def _unflip(sr, axis, shift):
    """Undoes a flip of the LR image on the SR output ``(N, H, W, C)``: reverse
    ``axis``, shift by ``shift`` pixels towards the start; the ``shift`` pixels
    left at the end hold no estimate (``_missing``)."""
    out = tf.reverse(sr, [axis])
    if not shift:
        return out
    length = tf.shape(out)[axis]
    return tf.concat([tf.gather(out, tf.range(shift, length), axis=axis),
                      tf.gather(out, tf.range(shift), axis=axis)], axis)


def _inverse(sr, transform, shift):
    """The SR estimate of a transformed LR image, brought back to the image's own orientation."""
    transpose, flip_rows, flip_cols = transform
    out = sr
    if flip_cols:
        out = _unflip(out, 2, shift)
    if flip_rows:
        out = _unflip(out, 1, shift)
    return tf.transpose(out, [0, 2, 1, 3]) if transpose else out


def _missing(transform):
    """``(rows, cols)``: whether the inverse of ``transform`` leaves the last rows /
    columns without an estimate (on the corner grid)."""
    transpose, flip_rows, flip_cols = transform
    return (flip_cols if transpose else flip_rows), (flip_rows if transpose else flip_cols)


def median(values):
    """Element-wise median of a list of same-shape tensors: the middle value, or the
    mean of the two middle ones for an even count (``numpy.median``'s rule).
    Sorted by a network of minimum/maximum (odd-even transposition): exact, and
    builtin ops only, so it exports as it runs."""
    values = list(values)
    for round_ in range(len(values)):
        for i in range(round_ % 2, len(values) - 1, 2):
            values[i], values[i + 1] = (tf.minimum(values[i], values[i + 1]),
                                        tf.maximum(values[i], values[i + 1]))
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _median_of(estimates, chosen):
    """The median of the ``chosen`` estimates (NaN where none is chosen)."""
    picked = [e for e, keep in zip(estimates, chosen) if keep]
    return median(picked) if picked else tf.fill(tf.shape(estimates[0]), float("nan"))


def self_ensemble(upscale, lr, scale, grid="centre", transforms=degradation_lib.DIHEDRAL,
                  progress=None):
    """Pixel-wise median of ``upscale`` over geometric transforms of ``lr``.

    TensorFlow ops only: it runs eagerly (with ``progress``) and inside the
    exported graph alike.

    Args:
      upscale: function float32 ``(h, w, 3)`` -> ``(scale*h, scale*w, 3)`` (or
        batched ``(N, h, w, 3)``, as ``lr`` is), numpy or tensor.
      lr: float32 ``(H, W, 3)`` or ``(N, H, W, 3)`` in [0, 1].
      scale: integer factor.
      grid: ``degrade.GRIDS`` member the network was trained on.
      transforms: subset of ``degradation.DIHEDRAL``.
      progress: optional ``progress(label, done, total)``, called with label
        ``"ensemble"`` before the first transform and after each.

    Returns:
      float32 tensor ``(scale*H, scale*W, 3)`` (batched like ``lr``); where a
      transform has no estimate (corner grid: the last ``scale - 1`` rows/columns)
      the median of the others, NaN where none has.
    """
    lr = tf.convert_to_tensor(lr, tf.float32)
    batched = lr if lr.shape.rank == 4 else lr[None]

    def run(x):
        return tf.convert_to_tensor(upscale(x if lr.shape.rank == 4 else x[0]), tf.float32)

    shift = scale - 1 if grid == "corner" else 0
    report = progress or (lambda label, done, total: None)
    report("ensemble", 0, len(transforms))
    estimates = []
    for t in transforms:
        out = run(_transform(batched, t))
        estimates.append(_inverse(out if lr.shape.rank == 4 else out[None], t, shift))
        report("ensemble", len(estimates), len(transforms))
    if not shift:
        result = median(estimates)
    else:
        rows_missing, cols_missing = zip(*map(_missing, transforms))
        rows_ok = [not m for m in rows_missing]
        cols_ok = [not m for m in cols_missing]
        both_ok = [r and c for r, c in zip(rows_ok, cols_ok)]
        main = [e[:, :-shift, :-shift] for e in estimates]
        right = [e[:, :-shift, -shift:] for e in estimates]
        bottom = [e[:, -shift:, :-shift] for e in estimates]
        corner = [e[:, -shift:, -shift:] for e in estimates]
        top = tf.concat([_median_of(main, [True] * len(main)), _median_of(right, cols_ok)], 2)
        end = tf.concat([_median_of(bottom, rows_ok), _median_of(corner, both_ok)], 2)
        result = tf.concat([top, end], 1)
    return result if lr.shape.rank == 4 else result[0]


def back_project(sr, lr, degradation, scale, iterations=10, progress=None):
    """Makes ``sr`` consistent with ``lr``: ``sr += up(lr - down(sr))``, repeated (ZSSR).

    ``down`` is the degradation's linear part (``Degradation.downscale``: blur and
    resampling) and ``up`` bicubic on its grid. TensorFlow ops only: it runs
    eagerly (with ``progress``) and inside the exported graph alike.

    Args:
      sr: float32 ``(scale*H, scale*W, 3)`` (or batched).
      lr: ``(H, W, 3)`` (or batched), float in [0, 1] or integers (``imaging.to_float``).
      degradation: a ``degradation.Degradation``.
      scale: integer factor.
      iterations: number of corrections (0 returns ``sr``).
      progress: optional ``progress(label, done, total)``, called with label
        ``"back-projection"`` before the first correction and after each.

    Returns:
      float32 tensor like ``sr``, clipped to [0, 1].
    """
    sr = tf.convert_to_tensor(sr, tf.float32)
    lr = tf.convert_to_tensor(lr if tf.is_tensor(lr) else imaging.to_float(lr), tf.float32)
    report = progress or (lambda label, done, total: None)
    report("back-projection", 0, iterations)
    for i in range(iterations):
        residual = lr - degradation.downscale(sr, scale)
        sr = tf.clip_by_value(sr + degradation.interpolate(residual, scale), 0.0, 1.0)
        report("back-projection", i + 1, iterations)
    return sr


def upscale_alpha(alpha, scale, degradation=None):
    """An alpha channel ``(H, W)`` float in [0, 1] upscaled by bicubic on the
    degradation's grid (alpha is not super-resolved); None: the centre grid.
    Returns float32 numpy ``(scale*H, scale*W)``."""
    model = TestTime(degradation).model
    return model.interpolate(np.asarray(alpha, np.float32)[..., None], scale).numpy()[..., 0]


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


def context(generator, scale, test_time=TestTime()):
    """LR pixels of context a tile needs so that the tiled result equals one
    whole-image pass: how far an output pixel depends on input pixels.

    Per step (in the step's input pixels): 2 for the bicubic, ``ceil(depth *
    block / step)`` for the generator's convolutions, 1 for the ensemble's shift
    on the corner grid, and per back-projection correction the reach of the
    downscale (its taps, in input pixels) plus 2 for the bicubic upscale and 1
    for rounding. A later step's reach counts in the earlier steps' output
    pixels, so it shrinks by their factor.

    Args:
      generator: a ``models.Generator`` or the list of a gradual run's.
      scale: the whole factor.
      test_time: ``TestTime``.
    """
    generators = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    step = round(scale ** (1 / len(generators)))
    model = test_time.model
    reach_hr = model.blur.shape[0] // 2 if model.blur is not None else 0
    if model.bicubic:
        reach_hr += 2 * step
    per_projection = math.ceil(reach_hr / step) + 2 + 1
    total, factor = 0, 1
    for g in generators:
        own = 2 + math.ceil(g.depth * g.block / step) + 1 + test_time.projections * per_projection
        total += math.ceil(own / factor)
        factor *= step
    return total


def auto_tile(shape, scale, filters, block=1, budget=MEMORY_BUDGET, pad=0):
    """The LR tile (core) side: 0 (no tiling) when one pass over the whole
    image fits in ``budget`` bytes, else the largest core whose padded window
    does (at least 32).

    Args:
      shape: LR shape ``(H, W, ...)``.
      scale: integer factor.
      filters: hidden channels of the generator.
      block: the generator's space-to-depth block (its hidden maps have
        1/block^2 of the SR pixels).
      pad: context per window side, LR pixels (``context``).
    """
    per_pixel = BYTES_PER_CHANNEL_PIXEL * filters * scale * scale // (block * block)  # per LR px
    if shape[0] * shape[1] * per_pixel <= budget:
        return 0
    return max(32, math.isqrt(budget // per_pixel) - 2 * pad)


def network(generator, scale, grid):
    """The generator as an upscaler: ``(N, H, W, 3)`` float32 in [0, 1] ->
    ``(N, scale*H, scale*W, 3)``: bicubic x``scale`` on ``grid``, the
    generator, float32, clipped to [0, 1]."""
    def upscale(images):
        upscaled = degrade.upscale_bicubic(images, scale, grid)
        return tf.clip_by_value(tf.cast(generator(upscaled, training=False), tf.float32),
                                0.0, 1.0)
    return upscale


def upscale_steps(generators, step, test_time, images, progress=None):
    """A run's whole inference on a batch: for each generator (one per step of a
    gradual run, else one) the ``network``, under the self-ensemble, then
    back-projected onto the step's input (``test_time``). TensorFlow ops only:
    eager (with ``progress``) and in the exported graph alike.

    Args:
      generators: list of ``models.Generator``.
      step: integer factor of each step.
      test_time: ``TestTime``.
      images: float32 ``(N, H, W, 3)`` in [0, 1].
      progress: optional ``progress(label, done, total)`` for the ensemble's
        transforms and the back-projection.

    Returns:
      float32 tensor ``(N, step**n * H, step**n * W, 3)`` in [0, 1].
    """
    model = test_time.model
    for generator in generators:
        upscale = network(generator, step, test_time.grid)
        sr = (self_ensemble(upscale, images, step, test_time.grid, model.symmetries(), progress)
              if test_time.ensemble else upscale(images))
        if test_time.projections:
            sr = back_project(sr, images, model, step, test_time.projections, progress)
        images = sr
    return images


def window_upscaler(generators, scale, test_time):
    """``upscale_steps`` as a function of one window: float ``(h, w, 3)`` ->
    float32 numpy ``(scale*h, scale*w, 3)``; it takes ``progress=`` too."""
    step = round(scale ** (1 / len(generators)))

    def upscale(window, progress=None):
        images = tf.convert_to_tensor(imaging.to_float(window)[None], tf.float32)
        return upscale_steps(generators, step, test_time, images, progress)[0].numpy()
    return upscale


def upscale_image(generators, lr, scale, test_time=TestTime(), tile=None, pad=None,
                  progress=None):
    """A run's whole inference (``upscale_steps``) on an image in memory.

    A large image is processed in tiles, each window with ``pad`` pixels of
    context through the whole inference (network, ensemble, back-projection):
    with the default pad (``context``, the exact reach) the result equals one
    whole-image pass.

    Args:
      generators: list of ``models.Generator``, one per step (``gradual``).
      lr: ``(H, W, 3)``, float in [0, 1] or integers (``imaging.to_float``).
      scale: the whole factor.
      test_time: ``TestTime``.
      tile: LR core side of the tiles; None chooses by memory (``auto_tile``);
        0 is one whole-image pass.
      pad: context per tile side, LR pixels; None: ``context``.
      progress: optional ``progress(label, done, total)`` for the tiles (or,
        in one pass, the ensemble's transforms and the back-projection;
        ``callbacks.StepProgress``).

    Returns:
      float32 ``(scale*H, scale*W, 3)`` in [0, 1].
    """
    upscale = window_upscaler(generators, scale, test_time)
    if pad is None:
        pad = context(generators, scale, test_time)
    if tile is None:
        last = generators[-1]
        tile = auto_tile(lr.shape, scale, last.filters, last.block, pad=pad)
    if not tile:
        return upscale(lr, progress)
    return tiling.tiled(upscale, lr, tile, pad, progress=progress)


def super_resolve(model, lr, config, tile=None, pad=None, progress=None):
    """The final SR image of a trained run, with the config's test-time options
    (``upscale_image``).

    Args:
      model: a trained ``gan.ZSRGAN``; its ``degradation`` (the one its sons were
        made with) sets the grid, the ensemble's transforms and the
        back-projection.
      lr: ``(H, W, 3)``, float in [0, 1] or integers (``imaging.to_float``).
      config: the run's ``TrainConfig`` (``ensemble``, ``back_projection``, ``scale``);
        back-projection runs only for a degradation without noise or JPEG.
      tile, pad, progress: as for ``upscale_image``.

    Returns:
      float32 ``(scale*H, scale*W, 3)`` in [0, 1].
    """
    return upscale_image([model.generator], lr, config.scale,
                         TestTime.of(config, model.degradation), tile, pad, progress)
