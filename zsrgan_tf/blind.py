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

Measured (docs/results.md, "Blind kernel estimation"): on Set5 g20
(covariance 2.0) 1.76-2.25; on the 100 BSD100 g20 images median 1.76, 71%
within 25%; on Set5 made with covariances 0.5-4 the medians follow the truth.
The band was chosen on Set5 g20; BSD100 and the other covariances were not
used to choose it.

``blind:aniso`` (``estimate_gaussian_matrix``) runs the same search in each of
``SECTORS`` orientation sectors of the spectrum and fits a covariance matrix to
the directional variances. On Set5 made with anisotropic Gaussians it finds the
axis within 20 degrees (median 2-7) and the median major variance 3-18% low; on the
isotropic g20 sets it reports a mild anisotropy that is not there (median
major/minor 1.4), which is why ``blind`` stays isotropic.
"""

import numpy as np
from scipy import ndimage

# Frequency band compared, cycles per pixel (Nyquist is 0.5): where a blur of
# about an LR pixel changes the spectrum most and quantisation noise does not
# yet dominate.
BAND = (0.1, 0.45)
_BINS = 11
# Orientation sectors of the anisotropic estimate (8 measured closer than 4 on
# Set5 made with anisotropic kernels).
SECTORS = 8
# Candidate son blurs, LR pixels (covariance 0.1-17 HR pixels^2 at x2).
_SIGMAS = np.linspace(0.2, 3.5, 67)
# Long sides above this are estimated on a centre crop (the spectrum shape
# does not need more, and the search stays well under a second).
_MAX_SIDE = 1024


_LUMA = np.array([65.481, 128.553, 24.966]) / 255.0


def _luma(rgb):
    return rgb @ _LUMA


def _luma_noise(noise):
    """The std of the luma's noise for white noise of std ``noise`` in each channel."""
    return noise * float(np.sqrt(np.sum(_LUMA**2)))


def _spectra(image, edges, sectors=1):
    """Power of a grey image (Hann-windowed, mean removed) averaged over rings
    (radius bins ``edges``, cycles per pixel) and ``sectors`` equal orientation
    sectors of [0, 180) degrees, the first centred on the x axis:
    ``(sectors, len(edges) - 1)``."""
    h, w = image.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    power = (np.abs(np.fft.fft2((image - image.mean()) * window)) ** 2).ravel()
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    ring = np.digitize(np.hypot(fy, fx).ravel(), edges)
    angle = np.mod(np.arctan2(fy, fx).ravel() + np.pi / (2 * sectors), np.pi)
    sector = np.minimum((angle // (np.pi / sectors)).astype(int), sectors - 1)
    return np.array([[power[(ring == i) & (sector == j)].mean()
                      for i in range(1, len(edges))] for j in range(sectors)])


def _log_signal(image, noise, edges, sectors, operation=lambda x: x):
    """Log of the ring powers of ``operation(image)`` without the part white noise
    of ``noise`` (std, grey units) in ``image`` contributes: that part's power,
    measured on noise images made the same way (two, seeded), is subtracted, and
    what is left is kept at least a tenth of the total."""
    power = _spectra(operation(image), edges, sectors)
    if noise > 0:
        rng = np.random.default_rng(0)
        floor = np.mean([_spectra(operation(noise * rng.standard_normal(image.shape)), edges,
                                  sectors) for _ in range(2)], axis=0)
        power = np.maximum(power - floor, 0.1 * power)
    return np.log(power + 1e-20)


def _centre_crop(image, side):
    h, w = image.shape[:2]
    top, left = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return image[top:top + side, left:left + side]


def _grey(lr, min_side):
    grey = np.asarray(lr, np.float64)
    grey = _centre_crop(_luma(grey) if grey.ndim == 3 else grey, _MAX_SIDE)
    if min(grey.shape) < min_side:
        raise ValueError(f"blind kernel estimation needs at least {min_side} x {min_side} "
                         f"pixels, got {grey.shape}")
    return grey


def _son_errors(grey, scale, sectors, noise=0.0):
    """Spectrum-shape mismatch between the image and its son, per candidate son
    blur (rows, ``_SIGMAS``) and orientation sector (columns); ``noise``: the std
    of white noise in ``grey``, whose power is left out of both spectra."""
    edges = np.linspace(*BAND, _BINS + 1)
    target = _log_signal(grey, noise, edges, sectors)
    errors = []
    for sigma in _SIGMAS:
        def son(x, sigma=sigma):
            return ndimage.gaussian_filter(x, sigma, mode="reflect")[::scale, ::scale]

        diff = target - _log_signal(grey, noise, edges, sectors, son)
        # Shape only: any offset per sector is free.
        errors.append(np.sum((diff - diff.mean(axis=1, keepdims=True)) ** 2, axis=1))
    return np.array(errors)


def _kernel_variance(sigma_c, scale):
    """The kernel's variance (HR pixels^2) whose LR image matches a son blurred by
    ``sigma_c`` LR pixels (module docstring)."""
    return (scale * sigma_c) ** 2 / (scale**2 - 1)


def estimate_gaussian_cov(lr, scale, noise=0.0):
    """The covariance (HR pixels^2) of the isotropic Gaussian that made ``lr``.

    Args:
      lr: float array ``(H, W, 3)`` or ``(H, W)`` in [0, 1], at least
        ``16 * scale`` pixels each side (smaller sons leave rings of their
        spectrum empty).
      scale: the SR factor (2, 3 or 4): the kernel is the one of ``scale``.
      noise: std of white noise in each channel of ``lr`` ([0, 1] units;
        ``estimate.noise_level``), kept out of the spectra.

    Returns:
      float, the covariance for ``kernels.gaussian`` / ``gaussian:COV``.
    """
    errors = _son_errors(_grey(lr, 16 * scale), scale, 1, _luma_noise(noise))[:, 0]
    return float(_kernel_variance(_SIGMAS[int(np.argmin(errors))], scale))


def estimate_gaussian_matrix(lr, scale, noise=0.0):
    """The covariance matrix (HR pixels^2, ``kernels.gaussian`` convention) of the
    anisotropic Gaussian that made ``lr``.

    The isotropic search is run per orientation sector of the spectrum
    (``SECTORS``): blur along a direction u damps the frequencies along u by the
    kernel's variance ``u^T C u``, so each sector gives one directional variance,
    and C is their least-squares fit (3 unknowns, ``SECTORS`` equations).

    Args:
      lr: float array ``(H, W, 3)`` or ``(H, W)`` in [0, 1], at least
        ``48 * scale`` pixels each side (every ring and sector of the son's
        spectrum then holds frequencies).
      scale: the SR factor (2, 3 or 4).
      noise: as for ``estimate_gaussian_cov``.

    Returns:
      float64 ``[[xx, xy], [xy, yy]]``, symmetric positive definite.
    """
    errors = _son_errors(_grey(lr, 48 * scale), scale, SECTORS, _luma_noise(noise))
    variances = _kernel_variance(_SIGMAS[np.argmin(errors, axis=0)], scale)
    phi = np.arange(SECTORS) * np.pi / SECTORS  # the sectors' frequency directions
    design = np.stack([np.cos(phi) ** 2, 2 * np.cos(phi) * np.sin(phi), np.sin(phi) ** 2], 1)
    xx, xy, yy = np.linalg.lstsq(design, variances, rcond=None)[0]
    values, vectors = np.linalg.eigh([[xx, xy], [xy, yy]])
    values = np.maximum(values, _kernel_variance(_SIGMAS[0], scale))  # stay a covariance
    return vectors @ np.diag(values) @ vectors.T
