"""Shared fixtures: the datasets (optional) and a small real photo (always there).

The datasets (Set5, BSD100, the g20 kernel, the LPIPS check images) are read
from ``$ZSRGAN_DATA``. Tests that need them skip when it is not set, and fail
under CI (``CI`` set), where the dataset-level checks must run. Every other test
runs on the repository's own files: the CC0 sample photo and images the tests
generate.
"""

import os
import sys

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ZSRGAN_DATA")
# The benchmarks run as modules of the repository (``python -m benchmarks.NAME``),
# from any folder.
BENCHMARK_ENV = {**os.environ, "PYTHONPATH": REPO}


def benchmark(name):
    """The command line of ``benchmarks/NAME.py``; run it with ``env=BENCHMARK_ENV``."""
    return [sys.executable, "-m", f"benchmarks.{name}"]


@pytest.fixture(scope="session")
def data_dir():
    """The datasets' folder; missing data fails under CI and skips elsewhere."""
    if not DATA or not os.path.isdir(os.path.join(DATA, "Set5")):
        message = f"datasets not found at {DATA!r} (set ZSRGAN_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return DATA


@pytest.fixture(scope="session")
def baby_lr(data_dir):
    """Set5 'baby' g20 x2 input, float32 (256, 256, 3) in [0, 1]."""
    from zsrgan_tf import imaging

    return imaging.read_image(os.path.join(data_dir, "Set5", "LR_g20_x2", "baby.png"))


@pytest.fixture(scope="session")
def photo():
    """The bundled CC0 sample photo, float32 (150, 225, 3) in [0, 1]: real content."""
    from zsrgan_tf import imaging

    return imaging.read_image(os.path.join(REPO, "samples", "chelsea.png"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
