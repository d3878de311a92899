"""Shared fixtures: the read-only test data in ../shared/data and small real images."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ZSRGAN_DATA", os.path.join(REPO, "..", "shared", "data"))


@pytest.fixture(scope="session")
def data_dir():
    """The shared test data; missing data fails under CI and skips elsewhere."""
    if not os.path.isdir(os.path.join(DATA, "Set5")):
        if os.environ.get("CI"):
            pytest.fail(f"test data not found at {DATA} (set ZSRGAN_DATA)")
        pytest.skip(f"test data not found at {DATA} (set ZSRGAN_DATA)")
    return DATA


@pytest.fixture(scope="session")
def baby_lr(data_dir):
    """Set5 'baby' g20 x2 input, float32 (256, 256, 3) in [0, 1]."""
    from zsrgan_tf import imaging

    return imaging.read_image(os.path.join(data_dir, "Set5", "LR_g20_x2", "baby.png"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
