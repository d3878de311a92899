"""PSNR/SSIM protocols against hand-computed values and the published bicubic baseline."""

import os

import numpy as np
import pytest

from zsrgan_tf import degrade, imaging, metrics


def test_identical_images_and_known_offset(rng):
    hr = rng.random((20, 24, 3))
    assert metrics.psnr(hr, hr, "mzsr") == float("inf")
    assert metrics.psnr(hr, hr, "paper") == float("inf")
    assert metrics.ssim(hr, hr, "paper") == pytest.approx(1.0)
    hr = np.full((20, 24, 3), 128 / 255)
    sr = hr + 10 / 255  # +10 levels in R, G, B: Y from round(125.93) = 126 to round(134.52) = 135
    dy = 9.0
    assert metrics.psnr(sr, hr, "mzsr") == pytest.approx(10 * np.log10(255**2 / dy**2))
    assert metrics.psnr(sr, hr, "paper") == pytest.approx(10 * np.log10(255**2 / 100))


def test_paper_protocol_is_unrounded_rgb_with_scikit_image_ssim(rng):
    """``paper``: no rounding (a 0.3-level offset counts), and SSIM as scikit-image's
    defaults define it, computed here window by window: 7x7 uniform windows inside
    the image, sample (N - 1) variances, K1 = 0.01, K2 = 0.03, range 255, the mean
    over windows and channels."""
    flat = np.full((12, 13, 3), 0.5)
    assert metrics.psnr(flat + 0.3 / 255, flat, "paper") == pytest.approx(20 * np.log10(255 / 0.3))
    hr = rng.random((12, 13, 3))
    sr = np.clip(hr + rng.normal(0, 0.1, hr.shape), 0, 1)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for c in range(3):
        a, b = sr[..., c] * 255, hr[..., c] * 255
        for i in range(12 - 6):
            for j in range(13 - 6):
                x, y = a[i : i + 7, j : j + 7].ravel(), b[i : i + 7, j : j + 7].ravel()
                cov = np.cov(x, y)  # ddof 1
                scores.append((2 * x.mean() * y.mean() + c1) * (2 * cov[0, 1] + c2)
                              / ((x.mean() ** 2 + y.mean() ** 2 + c1) * (cov[0, 0] + cov[1, 1] + c2)))
    assert metrics.ssim(sr, hr, "paper") == pytest.approx(np.mean(scores), abs=1e-12)


def test_y_is_matlab_bt601():
    assert metrics.rgb_to_y(np.array([0.0, 0.0, 0.0])) == pytest.approx(16.0)
    assert metrics.rgb_to_y(np.array([1.0, 1.0, 1.0])) == pytest.approx(235.0)
    assert metrics.rgb_to_y(np.array([1.0, 0.0, 0.0])) == pytest.approx(16 + 65.481)


def test_mzsr_rounds_crops_and_shaves(rng):
    hr = rng.random((21, 25, 3))  # cropped to 20 x 24, then 2 px shaved
    sr = hr[:20, :24] + 0.3 / 255  # rounds back to the same uint8 values mostly
    assert metrics.psnr(sr, hr, "mzsr") > 50
    with pytest.raises(ValueError, match="multiple of 2"):
        metrics.psnr(hr, hr, "mzsr")


def test_bicubic_baseline_set5_matches_published(data_dir):
    """MATLAB bicubic x2 of Set5 LR_g20_x2: 28.73 dB / 0.8449 (MZSR paper, mzsr protocol)."""
    names = sorted(f[:-4] for f in os.listdir(os.path.join(data_dir, "Set5", "HR")))
    psnrs, ssims = [], []
    for name in names:
        lr = imaging.read_image(os.path.join(data_dir, "Set5", "LR_g20_x2", f"{name}.png"))
        hr = imaging.read_image(os.path.join(data_dir, "Set5", "HR", f"{name}.png"))
        sr = degrade.upscale_bicubic(lr, 2).numpy()
        psnrs.append(metrics.psnr(sr, hr, "mzsr", 2))
        ssims.append(metrics.ssim(sr, hr, "mzsr", 2))
    assert len(names) == 5
    assert np.mean(psnrs) == pytest.approx(28.73, abs=0.01)
    assert np.mean(ssims) == pytest.approx(0.8449, abs=0.001)
