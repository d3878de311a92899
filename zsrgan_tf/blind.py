"""Blind mode: estimating the blur of an LR image from the image alone.

The principle is cross-scale self-similarity (natural images look alike at
every scale; KernelGAN's premise): if ``lr = (hr * k)[::s, ::s]``, then the
image's own son ``(lr * c)[::s, ::s]`` should have the statistics of ``lr``
itself. Here the statistic is the shape of the radially averaged log power
spectrum in the high band ``BAND`` (cycles per pixel, each image in its own
pixels), where blur acts: for an isotropic Gaussian the match is found over the
son's blur ``c``, and the kernel follows in closed form. With ``lr`` blurred by
``sigma_k / s`` LR pixels, the son is blurred by ``sqrt((sigma_k/s)^2 + sigma_c^2) / s``
son pixels; equal blur means ``sigma_k = s * sigma_c / sqrt(s^2 - 1)``.

Measured (docs/BENCHMARKS.md, "Blind kernel estimation"): on Set5 g20
(covariance 2.0) 1.76-2.25; on the 100 BSD100 g20 images median 1.76, 71%
within 25%; on Set5 made with covariances 0.5-4 the medians follow the truth.
The band was chosen on Set5 g20; BSD100 and the other covariances were not
used to choose it.
"""

import numpy as np
from scipy import ndimage

from zsrgan_tf import kernels

# Frequency band compared, cycles per pixel (Nyquist is 0.5): where a blur of
# about an LR pixel changes the spectrum most and quantisation noise does not
# yet dominate.
BAND = (0.1, 0.45)
_BINS = 11
# Candidate son blurs, LR pixels (covariance 0.1-17 HR pixels^2 at x2).
_SIGMAS = np.linspace(0.2, 3.5, 67)
# Long sides above this are estimated on a centre crop (the spectrum shape
# does not need more, and the search stays well under a second).
_MAX_SIDE = 1024


def _luma(rgb):
    return rgb @ np.array([65.481, 128.553, 24.966]) / 255.0


def _log_spectrum(image, edges):
    """Radially averaged log power of a grey image (Hann-windowed, mean removed)."""
    h, w = image.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2
    radius = np.hypot(np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :])
    ring = np.digitize(radius.ravel(), edges)
    return np.log([power.ravel()[ring == i].mean() + 1e-20 for i in range(1, len(edges))])


def _centre_crop(image, side):
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[top:top + side, left:left + side]


def estimate_gaussian_cov(lr, scale):
    """The covariance (HR pixels^2) of the isotropic Gaussian that made ``lr``.

    Args:
      lr: float array ``(H, W, 3)`` or ``(H, W)`` in [0, 1], at least 32 x 32.
      scale: the SR factor (2, 3 or 4): the kernel is the one of ``scale``.

    Returns:
      float, the covariance for ``kernels.gaussian`` / ``gaussian:COV``.
    """
    grey = np.asarray(lr, np.float64)
    grey = _centre_crop(_luma(grey) if grey.ndim == 3 else grey, _MAX_SIDE)
    if min(grey.shape) < 32:
        raise ValueError(f"blind kernel estimation needs at least 32 x 32 pixels, got {grey.shape}")
    edges = np.linspace(*BAND, _BINS + 1)
    target = _log_spectrum(grey, edges)
    errors = []
    for sigma in _SIGMAS:
        son = ndimage.gaussian_filter(grey, sigma, mode="reflect")[::scale, ::scale]
        diff = target - _log_spectrum(son, edges)
        errors.append(np.sum((diff - diff.mean()) ** 2))  # shape only: any offset is free
    sigma_c = _SIGMAS[int(np.argmin(errors))]
    return float((scale * sigma_c) ** 2 / (scale**2 - 1))


def resolve(config, lr):
    """``config`` with a ``blind`` kernel replaced by ``gaussian:COV`` estimated from ``lr``."""
    if config.kernel != kernels.BLIND:
        return config
    return config.replace(kernel=f"gaussian:{estimate_gaussian_cov(lr, config.scale):.3f}")

