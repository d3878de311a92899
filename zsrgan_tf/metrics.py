"""PSNR and SSIM under the two labelled protocols of docs/method.md section 5.

``mzsr`` (every published g20 number): GT cropped to a multiple of the scale,
SR and GT rounded to uint8, Y of BT.601 as MATLAB's ``rgb2ycbcr``
(16 + 65.481 R + 128.553 G + 24.966 B, RGB in [0, 1], rounded to uint8 as
MATLAB does for uint8 images), ``scale`` pixels shaved
at each border, PSNR with peak 255, SSIM with an 11x11 Gaussian window
(sigma 1.5), K1 = 0.01, K2 = 0.03, valid region.

``paper`` (the ZSRGAN table): RGB in [0, 255], clipped but not rounded, no
shave, PSNR with peak 255, SSIM with scikit-image's defaults (7x7 uniform
window, sample covariance), averaged over channels.

Inputs are float RGB arrays ``(H, W, 3)`` in [0, 1]; all maths in float64.
"""

import numpy as np

PROTOCOLS = ("mzsr", "paper")
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966])


def rgb_to_y(rgb):
    """MATLAB ``rgb2ycbcr`` luma: RGB in [0, 1] -> Y in [16, 235], float64."""
    return 16.0 + np.asarray(rgb, np.float64) @ _Y_WEIGHTS


def _prepare(sr, hr, protocol, scale):
    """The two planes/images each protocol compares, float64 in [0, 255]."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
    sr, hr = np.asarray(sr, np.float64), np.asarray(hr, np.float64)
    if protocol == "paper":
        if sr.shape != hr.shape:
            raise ValueError(f"SR {sr.shape} and HR {hr.shape} differ in size")
        return np.clip(sr, 0, 1) * 255.0, np.clip(hr, 0, 1) * 255.0
    h, w = hr.shape[0] // scale * scale, hr.shape[1] // scale * scale
    hr = hr[:h, :w]
    if sr.shape[:2] != (h, w):
        raise ValueError(f"SR {sr.shape[:2]} is not HR cropped to a multiple of {scale}: {(h, w)}")
    sr = np.round(np.clip(sr, 0, 1) * 255.0) / 255.0
    hr = np.round(np.clip(hr, 0, 1) * 255.0) / 255.0
    crop = (slice(scale, -scale), slice(scale, -scale))
    # MATLAB's rgb2ycbcr on uint8 images returns uint8 Y: round it too.
    return np.round(rgb_to_y(sr))[crop], np.round(rgb_to_y(hr))[crop]


def psnr(sr, hr, protocol="mzsr", scale=2):
    """PSNR in dB (inf for identical images) under ``protocol``.

    Args:
      sr: super-resolved image, float ``(H, W, 3)`` in [0, 1].
      hr: ground truth, float ``(H', W', 3)`` in [0, 1] (``mzsr`` crops it to a
        multiple of ``scale``).
      protocol: "mzsr" or "paper".
      scale: SR factor (crop and shave of ``mzsr``).
    """
    a, b = _prepare(sr, hr, protocol, scale)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def _filter_valid(x, window):
    """2-D correlation of ``x`` (H, W) with ``window`` over the valid region."""
    kh, kw = window.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(kh):
        for j in range(kw):
            out += window[i, j] * x[i : i + out.shape[0], j : j + out.shape[1]]
    return out


def _ssim_plane(a, b, window, cov_norm):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _filter_valid(a, window), _filter_valid(b, window)
    var_a = cov_norm * (_filter_valid(a * a, window) - mu_a**2)
    var_b = cov_norm * (_filter_valid(b * b, window) - mu_b**2)
    cov = cov_norm * (_filter_valid(a * b, window) - mu_a * mu_b)
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return float(ssim_map.mean())


def _gaussian_window(size=11, sigma=1.5):
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    w = np.outer(g, g)
    return w / w.sum()


def ssim(sr, hr, protocol="mzsr", scale=2):
    """SSIM under ``protocol`` (see the module docstring); arguments as ``psnr``."""
    a, b = _prepare(sr, hr, protocol, scale)
    if protocol == "mzsr":
        return _ssim_plane(a, b, _gaussian_window(), 1.0)
    window = np.full((7, 7), 1.0 / 49)
    return float(np.mean([_ssim_plane(a[..., c], b[..., c], window, 49 / 48) for c in range(3)]))
