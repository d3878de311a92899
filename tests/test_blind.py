"""Blind kernel estimation: the estimate follows the true Gaussian, from the image alone."""

import os

import numpy as np
import pytest

from zsrgan_tf import blind, degrade, estimate, imaging, kernels
from zsrgan_tf import degradation as degradation_lib


@pytest.fixture(scope="module")
def baby_hr(data_dir):
    return imaging.read_image(os.path.join(data_dir, "Set5", "HR", "baby.png")).astype(np.float64)


def test_estimates_the_g20_kernel_of_the_test_set(baby_lr):
    # The LR_g20_x2 baby was made with covariance 2.0 (docs/method.md section 3).
    assert blind.estimate_gaussian_cov(baby_lr, 2) == pytest.approx(2.0, abs=0.15)


@pytest.mark.parametrize("true_cov", [1.0, 3.0])
def test_estimate_follows_other_covariances(baby_hr, true_cov):
    lr = degrade.blur_subsample(baby_hr, kernels.gaussian(true_cov), 2)
    lr = np.round(np.clip(np.asarray(lr), 0.0, 1.0) * 255.0) / 255.0  # as saved to 8 bits
    assert blind.estimate_gaussian_cov(lr, 2) == pytest.approx(true_cov, rel=0.25)


def test_resolve_estimates_only_blind(baby_lr):
    resolved, evidence = estimate.resolve("blind", baby_lr, 2)
    cov = float(resolved.spec.partition(":")[2])
    assert resolved.spec.startswith("gaussian:") and cov == pytest.approx(2.0, abs=0.15)
    assert resolved.grid == "corner" and evidence == {"covariance": round(cov, 3)}
    assert estimate.resolve("gaussian:1.5", baby_lr, 2) == (degradation_lib.parse("gaussian:1.5"),
                                                            {})


def test_unresolved_blind_spec_is_refused():
    with pytest.raises(kernels.KernelError, match="blind: estimated from the image"):
        degradation_lib.parse("blind")
    degradation_lib.check("blind")  # valid as a flag: resolved once the image is read
    with pytest.raises(kernels.KernelError, match="expected gaussian:COV"):
        degradation_lib.check("gaussian:wide")
    with pytest.raises(kernels.KernelError, match="expected gaussian:COV or gaussian:MAJOR"):
        degradation_lib.check("gaussian:4,1")
    with pytest.raises(kernels.KernelError, match="MAJOR >= MINOR > 0"):
        degradation_lib.check("gaussian:1,4,0")


def test_too_small_image_is_refused():
    with pytest.raises(ValueError, match="at least 32 x 32"):
        blind.estimate_gaussian_cov(np.zeros((20, 40, 3)), 2)
    # x4: a 48-pixel image leaves rings of the son's spectrum empty (NaN errors).
    with pytest.raises(ValueError, match="at least 64 x 64"):
        blind.estimate_gaussian_cov(np.zeros((48, 80, 3)), 4)


@pytest.mark.parametrize("angle", [0.0, 45.0, 120.0])
def test_anisotropic_estimate_finds_the_axis(baby_hr, angle):
    # Measured on all of Set5 (docs/results.md "Blind kernel estimation"): axes within
    # 14 degrees for these kernels, median major variances 9-18% low, minors near the truth.
    lr = degrade.blur_subsample(baby_hr, kernels.gaussian(kernels.anisotropic(4.0, 1.0, angle)), 2)
    lr = imaging.to_uint8(lr.numpy()) / 255.0  # as saved to 8 bits
    major, minor, found = kernels.axes(blind.estimate_gaussian_matrix(lr, 2))
    assert kernels.angle_gap(found, angle) <= 10.0
    assert 2.8 <= major <= 4.5 and 0.7 <= minor <= 1.6


def test_resolve_blind_aniso_gives_an_anisotropic_spec(baby_lr):
    resolved, _ = estimate.resolve("blind:aniso", baby_lr, 2)
    major, minor, _ = (float(v) for v in resolved.spec.partition(":")[2].split(","))
    assert major >= minor > 0 and major / minor < 1.5  # the g20 kernel is isotropic
    assert resolved.blur.shape == (21, 21)
    degradation_lib.check("blind:aniso")
    with pytest.raises(ValueError, match="at least 96 x 96"):
        blind.estimate_gaussian_matrix(np.zeros((90, 200, 3)), 2)
