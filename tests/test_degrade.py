"""MATLAB bicubic as matrices, against TensorFlow's antialiased resize on a padded image.

REFERENCE.md section 6: symmetric-pad, tf.image.resize(bicubic, antialias=True),
crop reproduces MATLAB imresize for integer factors.
"""

import numpy as np
import pytest
import tensorflow as tf

from zsrgan_tf import degrade


def _reference(image, out_h, out_w, pad):
    """MATLAB imresize via TF: pad ``pad`` input px symmetrically, resize, crop."""
    h, w = image.shape[:2]
    fy, fx = out_h / h, out_w / w
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="symmetric")
    size = (round((h + 2 * pad) * fy), round((w + 2 * pad) * fx))
    out = tf.image.resize(padded, size, "bicubic", antialias=True).numpy()
    cy, cx = round(pad * fy), round(pad * fx)
    return out[cy : cy + out_h, cx : cx + out_w]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_matches_matlab_reference(scale, rng):
    image = rng.random((37, 53, 3)).astype(np.float32)
    got = degrade.upscale_bicubic(image, scale).numpy()
    assert got.shape == (37 * scale, 53 * scale, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, _reference(image, 37 * scale, 53 * scale, 8), atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_is_antialiased_matlab(scale, rng):
    image = rng.random((12 * scale, 17 * scale, 3)).astype(np.float32)
    got = degrade.imresize(image, (12, 17)).numpy()
    np.testing.assert_allclose(got, _reference(image, 12, 17, 8 * scale), atol=1e-5)


def test_resize_matrix_rows_sum_to_one_and_identity():
    m = degrade.resize_matrix(50, 37).numpy()
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(degrade.resize_matrix(9, 9).numpy(), np.eye(9))


def test_batched_equals_single(rng):
    batch = rng.random((2, 10, 14, 3)).astype(np.float32)
    both = degrade.imresize(batch, (20, 28)).numpy()
    np.testing.assert_allclose(both[1], degrade.imresize(batch[1], (20, 28)).numpy(), atol=1e-6)


def test_cubic_kernel_values():
    x = tf.constant([0.0, 0.5, 1.0, 1.5, 2.0, -0.5])
    np.testing.assert_allclose(
        degrade.cubic(x).numpy(), [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.5625], atol=1e-7
    )


@pytest.mark.parametrize("size", [(5, 7), (8, 9), (40, 31)])
def test_upscale_equals_exact_matrices_at_any_size(size, rng):
    image = rng.random((*size, 3)).astype(np.float32)
    exact = degrade.imresize(image, (2 * size[0], 2 * size[1])).numpy()
    np.testing.assert_allclose(degrade.upscale_bicubic(image, 2).numpy(), exact, atol=1e-5)
