"""Resampling against references.

MATLAB bicubic (docs/method.md section 2): symmetric-pad, tf.image.resize(bicubic,
antialias=True), crop reproduces MATLAB imresize for integer factors; the
polyphase upscaler must equal the exact matrices everywhere, borders included.
Blur and subsample: degrading Set5 HR with the g20 kernel must give the
dataset's LR_g20_x2 files bit for bit (MZSR's own files; docs/method.md section 3).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from zsrgan_tf import degrade, imaging, kernels


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


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(1, 1), (2, 5), (12, 17)])
def test_strided_downscale_equals_exact_matrices(scale, size, rng):
    # The O(pixels) convolution and the dense matrices: same taps, same borders
    # (the symmetric rule folds again when the taps reach past a tiny image).
    image = rng.random((size[0] * scale, size[1] * scale, 3)).astype(np.float32)
    got = degrade.downscale_bicubic(image, scale).numpy()
    assert got.shape == (*size, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, degrade.imresize(image, size).numpy(), atol=1e-6)
    batch = np.stack([image, image[::-1]])
    np.testing.assert_allclose(degrade.downscale_bicubic(batch, scale).numpy()[1],
                               degrade.imresize(image[::-1], size).numpy(), atol=1e-6)


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


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("size", [(2, 5), (9, 8)])
def test_upscale_at_tiny_sizes_and_all_scales(scale, size, rng):
    image = rng.random((*size, 3)).astype(np.float32)
    exact = degrade.imresize(image, (scale * size[0], scale * size[1])).numpy()
    np.testing.assert_allclose(degrade.upscale_bicubic(image, scale).numpy(), exact, atol=1e-5)


def test_phase_weights_are_keys_cubic():
    # x2, centre grid: phase 0 samples at k - 0.25, so taps k-2 .. k+2 sit at
    # distances 1.75, 0.75, 0.25, 1.25, 2.25; phase 1 is its mirror.
    centre = degrade.phase_weights(2).numpy()
    np.testing.assert_allclose(centre[0], [-0.0234375, 0.2265625, 0.8671875, -0.0703125, 0.0])
    np.testing.assert_allclose(centre[1], centre[0][::-1])
    # Corner grid: phase 0 is the LR pixel itself, phase 1 the midpoint.
    corner = degrade.phase_weights(2, "corner").numpy()
    np.testing.assert_allclose(corner, [[0, 0, 1, 0, 0], [0, -0.0625, 0.5625, 0.5625, -0.0625]])
    for s in (2, 3, 4):
        for grid in degrade.GRIDS:
            np.testing.assert_allclose(degrade.phase_weights(s, grid).numpy().sum(axis=1), 1.0)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_corner_grid_keeps_the_lr_pixels(scale, rng):
    image = rng.random((11, 14, 3)).astype(np.float32)
    up = degrade.upscale_bicubic(image, scale, "corner").numpy()
    assert up.shape == (11 * scale, 14 * scale, 3)
    np.testing.assert_array_equal(up[::scale, ::scale], image)


def test_blur_subsample_reproduces_set5_g20_bit_exactly(data_dir):
    kernel = kernels.parse(os.path.join(data_dir, "kernels", "g20_x2_kernel.mat"))
    names = sorted(os.listdir(os.path.join(data_dir, "Set5", "HR")))
    assert len(names) == 5
    for name in names:
        hr = imaging.read_image(os.path.join(data_dir, "Set5", "HR", name)).astype(np.float64)
        lr = np.asarray(Image.open(os.path.join(data_dir, "Set5", "LR_g20_x2", name)))
        # float64 like scipy.ndimage.correlate; float32 rounds one Set5 pixel the other way.
        out = degrade.blur_subsample(tf.constant(hr), kernel, 2).numpy()
        assert np.array_equal(np.round(out * 255).clip(0, 255).astype(np.uint8), lr[..., :3]), name


def test_blur_subsample_equals_scipy_on_odd_sizes(rng):
    ndimage = pytest.importorskip("scipy.ndimage")
    image = rng.random((23, 30, 3))
    kernel = kernels.gaussian(1.3, size=7) + rng.random((7, 7)) * 0.01  # not symmetric
    for scale in (2, 3):
        want = np.stack([ndimage.correlate(image[..., c], kernel, mode="reflect")
                         for c in range(3)], -1)[::scale, ::scale]
        got = degrade.blur_subsample(tf.constant(image), kernel, scale).numpy()
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_unusable_kernel_files_are_kernel_errors(tmp_path):
    """Every way a kernel file can be unusable is one KernelError naming the file."""
    savemat = pytest.importorskip("scipy.io").savemat
    savemat(tmp_path / "whole.mat", {"kernel": kernels.gaussian(2.0)})
    (tmp_path / "truncated.mat").write_bytes((tmp_path / "whole.mat").read_bytes()[:100])
    (tmp_path / "empty.npy").write_bytes(b"")
    np.save(tmp_path / "text.npy", np.array(["a", "b"]))
    savemat(tmp_path / "cell.mat", {"kernel": np.array([np.ones((3, 3)), "x"], dtype=object)})
    # The header of a MATLAB v7.3 (HDF5) file: version 0x0200 at byte 124.
    (tmp_path / "v73.mat").write_bytes(b"MATLAB 7.3 MAT-file".ljust(116) + bytes(8)
                                       + b"\x00\x02IM" + bytes(384))
    for name, message in [("truncated.mat", "cannot read the kernel"),
                          ("empty.npy", "cannot read the kernel"),
                          ("text.npy", "not a numeric array"),
                          ("cell.mat", "not a numeric array"),
                          ("v73.mat", "v7.3 files are not supported")]:
        path = str(tmp_path / name)
        with pytest.raises(kernels.KernelError, match=message) as caught:
            kernels.parse(path)
        assert str(caught.value).startswith(path) and "\n" not in str(caught.value), name
