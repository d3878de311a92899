"""Test-time self-ensemble and back-projection, with the sampling grid handled exactly."""

import numpy as np
import pytest

from zsrgan_tf import degradation, degrade, inference, kernels, tiling


def _zero_insertion(scale):
    """An upscaler exact on the corner grid: LR pixel k goes to HR pixel s*k, zeros elsewhere."""

    def up(lr):
        out = np.zeros((lr.shape[0] * scale, lr.shape[1] * scale, 3), np.float32)
        out[::scale, ::scale] = lr
        return out

    return up


def _replicate(scale):
    """An upscaler exact on the centre grid: each LR pixel becomes an s x s block."""
    return lambda lr: np.repeat(np.repeat(lr, scale, 0), scale, 1)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_ensemble_undoes_transforms_on_the_corner_grid(scale, rng):
    lr = rng.random((9, 13, 3)).astype(np.float32)
    up = _zero_insertion(scale)
    got = inference.self_ensemble(up, lr, scale, "corner")
    np.testing.assert_array_equal(got, up(lr))
    # Without the (scale - 1)-pixel shift, flipped estimates land off the grid.
    wrong = inference.self_ensemble(up, lr, scale, "centre")
    assert np.abs(wrong - up(lr)).max() > 0.1


@pytest.mark.parametrize("scale", [2, 3])
def test_ensemble_undoes_transforms_on_the_centre_grid(scale, rng):
    lr = rng.random((9, 13, 3)).astype(np.float32)
    up = _replicate(scale)
    np.testing.assert_array_equal(inference.self_ensemble(up, lr, scale, "centre"), up(lr))


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_each_transform_is_undone(rng):
    lr = rng.random((6, 11, 3)).astype(np.float32)
    up = _zero_insertion(2)
    for t in degradation.DIHEDRAL:
        alone = inference.self_ensemble(up, lr, 2, "corner", transforms=[t])
        valid = ~np.isnan(alone)
        np.testing.assert_array_equal(alone[valid], up(lr)[valid])
        assert valid[:-1, :-1].all()  # only the last row/column may lack an estimate


@pytest.mark.parametrize("kernel", [None, "g20"])
def test_back_projection_makes_sr_consistent_with_lr(kernel, rng):
    k = kernels.gaussian(2.0) if kernel else None
    model = degradation.parse("gaussian:2.0" if kernel else "bicubic")
    hr = degrade.upscale_bicubic(rng.random((24, 20, 3)).astype(np.float32), 2).numpy()
    hr = np.clip(hr, 0, 1)
    lr = (degrade.blur_subsample(hr, k, 2) if k is not None
          else degrade.imresize(hr, (24, 20))).numpy()
    down = (lambda x: degrade.blur_subsample(x, k, 2).numpy()) if k is not None else (
        lambda x: degrade.imresize(x, (24, 20)).numpy())
    start = np.clip(hr + rng.normal(0, 0.05, hr.shape).astype(np.float32), 0, 1)
    before = np.abs(down(start) - lr).mean()
    after = np.abs(down(inference.back_project(start, lr, model, 2, 10)) - lr).mean()
    assert after < 0.3 * before
    np.testing.assert_allclose(inference.back_project(hr, lr, model, 2, 3), hr, atol=1e-5)


def test_lr_psnr_of_the_true_image_depends_on_the_assumed_degradation(data_dir):
    """The g20 input is its HR image blurred, subsampled and rounded: under the g20
    kernel the HR image reproduces it to the rounding's noise (about 59 dB); under
    bicubic sons (the paper's model) it does not (30.23 dB on bird)."""
    import os

    from zsrgan_tf import imaging

    lr = imaging.read_image(os.path.join(data_dir, "Set5", "LR_g20_x2", "bird.png"))
    hr = imaging.read_image(os.path.join(data_dir, "Set5", "HR", "bird.png"))
    g20 = degradation.parse(os.path.join(data_dir, "kernels", "g20_x2_kernel.mat"))
    assert 58.5 < inference.lr_psnr(hr, lr, g20, 2) < 60.0
    assert inference.lr_psnr(hr, lr, degradation.parse("bicubic"), 2) == pytest.approx(30.23,
                                                                                      abs=0.01)
    made = degrade.blur_subsample(hr, g20.blur, 2).numpy()
    assert inference.lr_psnr(hr, made, g20, 2) == float("inf")
    darker = np.clip(hr - 0.02, 0, 1)  # a colour shift of 0.02 caps it near 34 dB
    assert inference.lr_psnr(darker, lr, g20, 2) < 34.5


def test_integer_images_are_scaled_like_read_image(rng):
    """uint8 LR images (as numpy users have them) mean the same as their float32 / 255."""
    import zsrgan_tf

    lr8 = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    lr = lr8 / np.float32(255)
    sr = np.clip(degrade.upscale_bicubic(lr, 2).numpy(), 0, 1)
    g20 = degradation.parse("gaussian:2.0")
    np.testing.assert_array_equal(inference.back_project(sr, lr8, g20, 2, 2),
                                  inference.back_project(sr, lr, g20, 2, 2))
    config = zsrgan_tf.preset("zssr", kernel="gaussian:2.0", back_projection=2)
    model = zsrgan_tf.ZSRGAN(config, g20)
    np.testing.assert_array_equal(inference.super_resolve(model, lr8, config, tile=0),
                                  inference.super_resolve(model, lr, config, tile=0))


@pytest.mark.parametrize("kernel,subpixel,projections",
                         [("bicubic", False, 0), ("bicubic", False, 3),
                          ("gaussian:2.0", False, 0), ("gaussian:2.0", True, 2)],
                         ids=["centre", "centre+bp", "corner+ensemble",
                              "corner+ensemble+subpixel+bp"])
def test_tiled_inference_equals_one_pass(kernel, subpixel, projections, rng):
    """Each window runs the whole inference (back-projection included) with the
    default context: the tiles give the one-pass result."""
    import zsrgan_tf

    config = zsrgan_tf.preset("zssr" if kernel != "bicubic" else "fast", kernel=kernel,
                              back_projection=projections, subpixel=subpixel)
    model = zsrgan_tf.ZSRGAN(config, degradation.parse(kernel))
    lr = rng.random((45, 58, 3)).astype(np.float32)
    whole = inference.super_resolve(model, lr, config, tile=0)
    tiled = inference.super_resolve(model, lr, config, tile=16)
    assert tiled.shape == whole.shape == (90, 116, 3)
    assert np.abs(tiled - whole).max() <= 1e-5
    # Too little context shows at the seams: the comparison can fail.
    assert np.abs(inference.super_resolve(model, lr, config, tile=16, pad=1) - whole).max() > 1e-3


def test_tile_windows_are_never_narrower_than_the_mirror_padding_needs():
    # 257 = 256 + 1 with no context: the last core is 1 pixel, its window 2.
    assert tiling.windows(257, 256, 0) == [(0, 256, 0, 256), (256, 257, 255, 257)]
    assert tiling.windows(257, 256, 3) == [(0, 256, 0, 257), (256, 257, 253, 257)]


def test_deep_generators_get_enough_tile_context(rng):
    """A sub-pixel generator of depth 20 reaches 20 LR pixels; the default pad
    follows it. (A random net's response that far out is ~1e-6, too weak
    to show the seams that too little context leaves; the test above shows those.)"""
    import zsrgan_tf

    config = zsrgan_tf.preset("zssr", kernel="gaussian:2.0", back_projection=0, ensemble=False,
                              subpixel=True, g_filters=8, g_depth=20)
    model = zsrgan_tf.ZSRGAN(config, degradation.parse(config.kernel))
    assert inference.context(model.generator, 2) == 23
    lr = rng.random((60, 52, 3)).astype(np.float32)
    whole = inference.super_resolve(model, lr, config, tile=0)
    assert np.abs(inference.super_resolve(model, lr, config, tile=16) - whole).max() <= 1e-5


def test_auto_tile_keeps_one_pass_within_the_budget():
    assert inference.auto_tile((400, 400, 3), 2, 64) == 0  # 1.4 GB: one pass
    tile = inference.auto_tile((3000, 4000, 3), 2, 64, pad=61)
    window = tile + 2 * 61
    per_lr_pixel = inference.BYTES_PER_CHANNEL_PIXEL * 64 * 4
    assert window ** 2 * per_lr_pixel <= inference.MEMORY_BUDGET
    assert (window + 2) ** 2 * per_lr_pixel > inference.MEMORY_BUDGET


def test_anisotropic_gaussian_orientation_and_moments():
    k = kernels.gaussian(kernels.anisotropic(4.0, 1.0, 30.0), size=41)
    r = np.arange(41) - 20
    x, y = np.meshgrid(r, r)  # x: column offset, y: row offset
    moments = [[np.sum(k * x * x), np.sum(k * x * y)], [np.sum(k * x * y), np.sum(k * y * y)]]
    np.testing.assert_allclose(moments, kernels.anisotropic(4.0, 1.0, 30.0), atol=1e-6)
    assert moments[0][1] > 0  # 30 degrees turns x towards +y (down)
    np.testing.assert_allclose(kernels.axes(moments), (4.0, 1.0, 30.0), atol=1e-5)
    np.testing.assert_allclose(kernels.parse("gaussian:2,2,70"), kernels.parse("gaussian:2.0"),
                               atol=1e-15)


@pytest.mark.parametrize("spec,count", [("bicubic", 8), ("gaussian:2.0", 8), ("gaussian:4,1,0", 4),
                                        ("gaussian:4,1,45", 4), ("gaussian:4,1,30", 2)])
def test_ensemble_keeps_the_transforms_that_leave_the_kernel_unchanged(spec, count):
    transforms = degradation.parse(spec).symmetries()
    assert len(transforms) == count and (False, False, False) in transforms
    assert (False, True, True) in transforms  # 180 degrees: every centred Gaussian


def test_a_kernel_file_keeps_all_8_transforms(tmp_path):
    # A 21x21 isotropic Gaussian as a file (the layout of the g20 kernel file).
    np.save(tmp_path / "g20.npy", kernels.gaussian(2.0))
    g20 = degradation.parse(str(tmp_path / "g20.npy"))
    assert g20.symmetries() == degradation.DIHEDRAL


def _numpy_ensemble(up, lr, scale, transforms):
    """The ensemble by numpy on the corner grid: NaN where an inverse has no estimate,
    then ``np.nanmedian``."""
    shift = scale - 1
    estimates = []
    for t in transforms:
        out = np.asarray(up(degradation.transform(lr, t)), np.float32).copy()
        for axis, flip in ((1, t[2]), (0, t[1])):
            if flip:
                out = np.roll(np.flip(out, axis), -shift, axis)
                index = [slice(None)] * 3
                index[axis] = slice(-shift, None)
                out[tuple(index)] = np.nan
        estimates.append(np.swapaxes(out, 0, 1) if t[0] else out)
    return np.nanmedian(np.stack(estimates), axis=0)


@pytest.mark.parametrize("count", [8, 4, 2, 3])
def test_ensemble_median_is_numpys_nanmedian(count, rng):
    """Any subset of transforms (an anisotropic blur's 4 or 2, or others) on the corner
    grid: where some inverses lack an estimate, the median of the rest."""
    lr = rng.random((7, 10, 3)).astype(np.float32)
    noise = {}

    def up(x):  # a different answer per input orientation, so the median matters
        key = x.tobytes()
        noise.setdefault(key, rng.random((3 * x.shape[0], 3 * x.shape[1], 3), np.float32))
        return noise[key]

    transforms = degradation.DIHEDRAL[::8 // count][:count] if count != 3 else (
        degradation.DIHEDRAL[0], degradation.DIHEDRAL[3], degradation.DIHEDRAL[6])
    got = inference.self_ensemble(lambda x: up(np.asarray(x)), lr, 3, "corner", transforms)
    np.testing.assert_array_equal(np.asarray(got), _numpy_ensemble(up, lr, 3, transforms))


def _random_weights(model, rng, scale=0.03):
    for weight in model.generator.weights:
        weight.assign(rng.normal(0, scale, weight.shape).astype(np.float32))


@pytest.mark.parametrize("kernel", ["bicubic", "gaussian:2.0", "gaussian:3,1,30", "gaussian:1.3+bicubic"])
def test_context_bounds_how_far_the_input_reaches(kernel, rng):
    """Change one input pixel: the output changes only within ``context`` LR pixels of
    it (network, ensemble and back-projection), so tiles with that pad are exact."""
    import zsrgan_tf

    config = zsrgan_tf.preset("zssr", kernel=kernel, subpixel=True, g_filters=8,
                              ensemble=True, back_projection=3)
    model = zsrgan_tf.ZSRGAN(config, degradation.parse(kernel))
    _random_weights(model, rng)
    test_time = inference.TestTime.of(config, model.degradation)
    reach = inference.context(model.generator, 2, test_time)
    lr = rng.random((2 * reach + 21, 2 * reach + 17, 3)).astype(np.float32)
    moved = lr.copy()
    moved[reach + 10, reach + 8] = 1.0 - moved[reach + 10, reach + 8]
    changed = np.any(inference.super_resolve(model, moved, config, tile=0)
                     != inference.super_resolve(model, lr, config, tile=0), axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.size
    assert rows.min() >= 2 * 10 and rows.max() < 2 * (2 * reach + 11)
    assert cols.min() >= 2 * 8 and cols.max() < 2 * (2 * reach + 9)
