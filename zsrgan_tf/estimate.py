"""Resolving a degradation spec, and estimating the degradation from the image alone.

``resolve`` turns a ``--kernel`` spec into a ``degradation.Degradation``: a
known spec is parsed; ``blind`` and ``blind:aniso`` estimate a Gaussian on the
corner grid (``blind``); ``auto`` chooses the whole model from the image.

The pieces ``auto`` rests on:
- ``jpeg_quality``: a JPEG file's quality, read from its quantisation tables
  (libjpeg scales its standard tables by the quality; the nearest scaled table
  is the quality, the way image tools report it); ``recompression_quality``:
  the same for pixels that were a JPEG once (a PNG saved from one).
- ``noise_level``: the standard deviation of white noise, by Immerkaer's
  estimator (J. Immerkaer, "Fast noise variance estimation", Computer Vision
  and Image Understanding 64(2), 1996: the mean absolute response to a
  3x3 mask that cancels planes and lines, times sqrt(pi/2) / 6) taken over the
  flattest part of the image and in the colour-difference planes, where
  textures answer least.
"""

import functools
import io

import numpy as np
from PIL import Image
from scipy import ndimage

from zsrgan_tf import blind, kernels
from zsrgan_tf import degradation as degradation_lib

# Immerkaer's mask: the difference of two Laplacians, zero on planes and lines.
_NOISE_MASK = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
# The share of the image, by local gradient energy, the noise is measured on.
_FLATTEST = 0.2


@functools.lru_cache(maxsize=1)
def _standard_tables():
    """``(100, 2, 64)``: libjpeg's luma and chroma tables at qualities 1-100, as
    Pillow encodes them."""
    pixels = Image.new("RGB", (8, 8))
    tables = []
    for quality in range(1, 101):
        buffer = io.BytesIO()
        pixels.save(buffer, format="JPEG", quality=quality)
        with Image.open(buffer) as im:
            tables.append([im.quantization[0], im.quantization[1]])
    return np.asarray(tables, np.float64)


def jpeg_quality(tables):
    """The quality a JPEG file was saved with, from its quantisation tables.

    Args:
      tables: ``{id: 64 ints}`` as Pillow reads them (``Image.quantization``;
        ``imaging.Picture.jpeg_tables``): id 0 luma, 1 chroma (absent in
        greyscale files).

    Returns:
      ``(quality, standard)``: the quality (1-100) whose standard tables are
      nearest (mean absolute difference of the logarithms), and whether they
      match exactly (False for a camera's own tables: the quality is then the
      nearest equivalent).
    """
    ids = [i for i in (0, 1) if i in tables]
    mine = np.log(np.asarray([tables[i] for i in ids], np.float64))
    standard = np.log(_standard_tables()[:, ids])
    distance = np.abs(standard - mine).mean(axis=(1, 2))
    best = int(np.argmin(distance))
    return best + 1, bool(distance[best] == 0)


def _recompression_error(pixels, quality):
    """Mean squared change of uint8 ``pixels`` when JPEG-compressed at ``quality``."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    with Image.open(buffer) as im:
        return float(np.mean((np.asarray(im, np.float64) - pixels) ** 2))


def recompression_quality(lr):
    """The JPEG quality a decoded image was compressed at, or None for none found.

    For an image that was a JPEG once and was saved again losslessly (as PNG, on
    the same 8x8 grid), compressing it again at its own quality changes it
    least: the "JPEG ghost" (H. Farid, "Exposing digital forgeries from JPEG
    ghosts", IEEE TIFS 2009). The change falls steadily with the quality for an
    image never compressed; a compressed one shows a dip at its quality. Found:
    a quality whose change is below the change 5 qualities above it and under
    half of the change 5 below (qualities above 95, whose artefacts are slight,
    are not looked for).

    Args:
      lr: float ``(H, W, 3)`` in [0, 1]; a top-left crop of at most 512 pixels a
        side is used (it keeps the 8x8 grid).

    Returns:
      The quality (5-95) or None.
    """
    pixels = np.round(np.clip(np.asarray(lr)[:512, :512], 0, 1) * 255).astype(np.uint8)
    if min(pixels.shape[:2]) < 16:
        return None
    error = functools.lru_cache(maxsize=None)(lambda q: _recompression_error(pixels, q))
    coarse = min(range(5, 100, 5), key=error)
    best = min(range(max(1, coarse - 4), min(96, coarse + 5)), key=error)
    if best <= 5 or best > 95:
        return None
    dip = error(best) < min(0.5 * error(best - 5), error(best + 5))
    return best if dip else None


def _immerkaer(plane):
    """Immerkaer's noise estimate of a 2-D plane, on its flattest ``_FLATTEST``."""
    response = np.abs(ndimage.correlate(plane, _NOISE_MASK, mode="reflect"))[1:-1, 1:-1]
    gradient = np.hypot(ndimage.sobel(plane, 0), ndimage.sobel(plane, 1))
    activity = ndimage.uniform_filter(gradient, 5)[1:-1, 1:-1]
    flat = activity <= np.quantile(activity, _FLATTEST)
    return float(np.sqrt(np.pi / 2) * response[flat].mean() / 6)


def noise_level(lr):
    """The standard deviation of white noise in ``lr``, in grey levels of 255.

    The smaller of two estimates (``_immerkaer``): on the luma (divided by its
    noise gain, so that it reads the per-channel level) and on the two
    colour-difference planes. Textures and aliasing raise the luma estimate
    and colour edges the colour one; noise of independent channels raises both.

    Args:
      lr: float ``(H, W, 3)`` in [0, 1].

    Returns:
      float >= 0, grey levels of 255 per channel.
    """
    rgb = np.asarray(lr, np.float64) * degradation_lib.LEVELS
    weights = np.array([0.299, 0.587, 0.114])
    luma = _immerkaer(rgb @ weights) / np.sqrt(np.sum(weights**2))
    colour = np.mean([_immerkaer((rgb[..., c] - rgb[..., 1]) / np.sqrt(2)) for c in (0, 2)])
    return min(luma, colour)


def resolve(spec, lr, scale, jpeg_tables=None):
    """The degradation ``spec`` names for the LR image ``lr``.

    Args:
      spec: a degradation spec (``degradation``), or an estimated one
        (``degradation.ESTIMATED``).
      lr: float32 ``(H, W, 3)`` in [0, 1], the input image.
      scale: the SR factor.
      jpeg_tables: the input file's JPEG quantisation tables
        (``imaging.Picture.jpeg_tables``), or None.

    Returns:
      ``(degradation, evidence)``: the ``Degradation`` and a dict of what the
      choice rests on (empty for a known spec).

    Raises:
      kernels.KernelError: a bad spec.
      ValueError: the image is too small to estimate from.
    """
    if spec == kernels.BLIND:
        cov = blind.estimate_gaussian_cov(lr, scale)
        return degradation_lib.parse(f"gaussian:{cov:.3f}"), {"covariance": round(cov, 3)}
    if spec == kernels.BLIND_ANISO:
        major, minor, angle = kernels.axes(blind.estimate_gaussian_matrix(lr, scale))
        return (degradation_lib.parse(f"gaussian:{major:.3f},{minor:.3f},{angle:.1f}"),
                {"major": round(major, 3), "minor": round(minor, 3), "angle": round(angle, 1)})
    if spec == degradation_lib.AUTO:
        return auto(lr, scale, jpeg_tables)
    return degradation_lib.parse(spec), {}


# The decision of ``auto`` reads the blur as the covariance (HR pixels^2) of the
# isotropic Gaussian with direct x2 subsampling that matches the image's own
# spectrum (``blind.estimate_gaussian_cov`` with x2 sons, whatever the scale).
# On Set5, Set14 and the first 20 BSD100 images (docs/degradations.md),
# bicubic-made images read 0.2-1.76 (median 0.56; the highest are photos that
# were blurred to begin with) and g20-made ones 1.33-3.2 (median 1.9). A kernel
# wrongly assumed costs far more than one missed: with the corner-grid Gaussian
# it reads, a bicubic-made photo came out 10 dB below bicubic interpolation,
# while bicubic sons on a g20 image stay above it. So a kernel is assumed only
# above every bicubic-made image measured.
BICUBIC_COV = 0.56  # what bicubic's own antialiasing reads as (the median above)
HEAVY_BLUR_COV = 1.8  # above: a blur kernel and direct subsampling (corner grid)
# An anisotropic kernel needs a long axis of at least this much (bicubic-made
# images read up to 2.4, Set5/Set14/BSD100 made with gaussian:4,1,45 from 2.7)
# and axes this unequal (major / minor).
ANISOTROPIC_MAJOR = 2.6
ANISOTROPY = 2.5
NOISE_LEVEL = 2.0  # grey levels of 255; below, an image is taken as noise-free
# The smallest short side (LR pixels) the blur is estimated on.
MIN_SIDE = 32


def auto(lr, scale, jpeg_tables=None):
    """The degradation model ``auto`` chooses for ``lr``, and the evidence.

    Each step reads the image alone:
    1. JPEG: the quality of a JPEG file (``jpeg_quality``), or of an image that
       was a JPEG before it was saved again (``recompression_quality``); the
       sons are compressed at it.
    2. Noise: ``noise_level``; at ``NOISE_LEVEL`` grey levels or more the sons
       get noise of that level.
    3. Blur (x2 only): the blur's Gaussian-equivalent covariance, isotropic
       and per axis (``blind``, with x2 sons, noise kept out). A heavy blur
       (``HEAVY_BLUR_COV``, or a long axis of ``ANISOTROPIC_MAJOR`` with
       ``ANISOTROPY``) is taken as a blur kernel followed by direct subsampling
       (the corner grid of blur-kernel benchmarks); anisotropic when its axes
       differ by ``ANISOTROPY``.
       Anything else is bicubic: a kernel that is not there costs far more
       than one that is missed.
       A JPEG file keeps the centre grid of the resizing tools that make JPEG
       files, with a Gaussian before the bicubic for the blur read beyond
       bicubic's own (``BICUBIC_COV``).
       At x3 and x4 a kernel of a usual size blurs the LR image by under half a
       pixel, which the image cannot tell apart from bicubic's antialiasing:
       bicubic then (pass ``--kernel`` when the blur is known).

    Args:
      lr: float ``(H, W, 3)`` in [0, 1].
      scale: the SR factor.
      jpeg_tables: the file's JPEG quantisation tables, or None.

    Returns:
      ``(degradation, evidence)``; the evidence holds ``jpeg`` (the quality or
      None; ``jpeg_read_from`` "tables" or "pixels"), ``noise`` (grey levels),
      ``blur`` (covariance at x2, HR pixels^2; None when the image is too
      small) and, where measured (x2 without JPEG, 96 pixels or more), ``axes``
      (the major and minor covariances at x2).
    """
    if jpeg_tables:
        quality, source = jpeg_quality(jpeg_tables)[0], "tables"
    else:
        quality, source = recompression_quality(lr), "pixels"
    noise = noise_level(lr)
    noisy = noise >= NOISE_LEVEL
    floor = noise / degradation_lib.LEVELS if noisy else 0.0
    evidence = {"jpeg": quality, "noise": round(noise, 2), "blur": None}
    if quality is not None:
        evidence["jpeg_read_from"] = source
    blur_stage = "bicubic"
    if min(lr.shape[:2]) >= MIN_SIDE:
        blur = blind.estimate_gaussian_cov(lr, 2, floor)
        evidence["blur"] = round(blur, 2)
        if quality is not None:
            extra = (blur - BICUBIC_COV) * scale**2 / 4  # the same LR-pixel blur at scale
            if extra >= 0.1:
                blur_stage = f"gaussian:{extra:.2f}+bicubic"
        elif scale == 2:
            blur_stage = _kernel(lr, blur, floor, evidence) or blur_stage
    stages = [blur_stage]
    if noisy:
        stages.append(f"noise:{noise:.1f}")
    if quality is not None:
        stages.append(f"jpeg:{quality}")
    return degradation_lib.parse("+".join(stages)), evidence


def _kernel(lr, blur, floor, evidence):
    """The blur stage of a heavy blur at x2 (``auto``), or None."""
    axes = None
    if min(lr.shape[:2]) >= 96:  # the anisotropic estimate's smallest image at x2
        major, minor, angle = kernels.axes(blind.estimate_gaussian_matrix(lr, 2, floor))
        axes = (major, minor, angle)
        evidence["axes"] = [round(major, 2), round(minor, 2)]
    anisotropic = axes is not None and axes[0] >= ANISOTROPY * axes[1]
    if anisotropic and axes[0] >= ANISOTROPIC_MAJOR:
        return f"gaussian:{axes[0]:.2f},{axes[1]:.2f},{axes[2]:.0f}"
    if blur < HEAVY_BLUR_COV:
        return None
    return f"gaussian:{blur:.2f}"


def describe(evidence):
    """The evidence of an estimate as one short line, e.g. "JPEG quality 75 (from the
    file's tables), noise 0.4 grey levels, blur 1.33 (x2 covariance)"."""
    parts = []
    for key, value in evidence.items():
        if key == "jpeg":
            source = {"tables": "the file's tables", "pixels": "the pixels"}.get(
                evidence.get("jpeg_read_from"))
            parts.append("no JPEG" if value is None else f"JPEG quality {value} (from {source})")
        elif key == "noise":
            parts.append(f"noise {value:.1f} grey levels")
        elif key == "blur":
            parts.append("blur not measured" if value is None else f"blur {value} (x2 covariance)")
        elif key == "axes":
            parts.append(f"axes {value[0]}, {value[1]}")
        elif key != "jpeg_read_from":
            parts.append(f"{key} {value}")
    return ", ".join(parts)
