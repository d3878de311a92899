"""LPIPS-VGG v0.1 against the reference implementation's check values."""

import os

import numpy as np
import pytest

import zsrgan_tf
from zsrgan_tf.lpips import LPIPS


@pytest.fixture(scope="module")
def lpips():
    return LPIPS()


def test_reference_values(lpips, data_dir):
    folder = os.path.join(data_dir, "lpips_reference")
    ref, p0, p1 = (zsrgan_tf.read_image(os.path.join(folder, f"ex_{n}.png"))
                   for n in ("ref", "p0", "p1"))
    d = lpips([np.stack([ref, ref]), np.stack([p0, p1])]).numpy()
    assert d.shape == (2,) and d.dtype == np.float32
    np.testing.assert_allclose(d, [0.5686, 0.4217], atol=1e-4)


def test_any_size_and_identity(lpips, rng):
    a = rng.random((1, 37, 53, 3)).astype(np.float32)
    b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1).astype(np.float32)
    assert lpips([a, a]).numpy()[0] == pytest.approx(0.0, abs=1e-6)
    assert lpips([a, b]).numpy()[0] > 0.01


def test_mixed_float16_does_not_overflow_on_high_contrast(lpips):
    """Squared block3 features of a 2-px checkerboard sum past float16's 65504 per
    pixel; the unit normalisation runs in float32 under any policy."""
    from zsrgan_tf import precision

    rows, cols = np.mgrid[:64, :64]
    board = ((rows // 2 + cols // 2) % 2).astype(np.float32)  # squares of 2 x 2 pixels
    x0 = np.repeat(board[None, ..., None], 3, axis=-1)
    noise = 0.05 * np.random.default_rng(0).standard_normal(x0.shape)
    x1 = np.clip(x0 * 0.8 + 0.1 + noise, 0, 1).astype(np.float32)
    with precision.policy_scope("mixed_float16"):
        half = LPIPS()
    want = lpips([x0, x1]).numpy()[0]
    assert half([x0, x1]).numpy()[0] == pytest.approx(want, rel=0.02)
