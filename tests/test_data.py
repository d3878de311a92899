"""The father/son sampler: degradation, alignment, the 8 transforms, noise, seeding."""

import numpy as np
import pytest
import tensorflow as tf

from zsrgan_tf import data, degradation, degrade, kernels
from zsrgan_tf.config import TrainConfig


def _first(dataset):
    son, father = next(iter(dataset))
    return son.numpy(), father.numpy()


def _dihedral(x):
    """The 8 distinct rotations/flips of a square HWC array."""
    rots = [np.rot90(x, k) for k in range(4)]
    return rots + [np.fliplr(r) for r in rots]


def test_shapes_and_dtypes(photo):
    son, father = _first(data.father_son_dataset(photo, TrainConfig(seed=3)))
    assert son.dtype == father.dtype == np.float32
    assert son.shape == father.shape and son.shape[0] == 12 and son.shape[-1] == 3
    assert 64 <= son.shape[1] == son.shape[2] <= 128


def test_crop_pair_is_a_crop_of_father_and_degraded_son(photo):
    image = photo[:100, :150]
    fh, fw, top, left, crop = 80, 120, 7, 33, 64
    father, son = data.crop_pair(tf.constant(image), (fh, fw), (top, left), crop, 2)
    full_father = degrade.imresize(image, (fh, fw)).numpy()
    full_son = degrade.imresize(degrade.imresize(full_father, (fh // 2, fw // 2)), (fh, fw)).numpy()
    np.testing.assert_allclose(father, full_father[top : top + crop, left : left + crop], atol=1e-5)
    np.testing.assert_allclose(son, full_son[top : top + crop, left : left + crop], atol=1e-5)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_whole_image_batch_has_all_8_transforms_and_aligned_sons(photo, scale):
    # The smallest image allows one father (the image) and one crop (all of it).
    side = data.min_image_side(scale)
    image = photo[50 : 50 + side, 40 : 40 + side]
    config = TrainConfig(scale=scale, noise_sigma=0.0, seed=5)
    son, father = _first(data.father_son_dataset(image, config))
    small = degrade.imresize(image, (side // scale,) * 2)
    clean_son = degrade.imresize(small, (side, side)).numpy()
    seen = []
    for f, s in zip(father, son):
        matches = [k for k, t in enumerate(_dihedral(image)) if np.allclose(f, t, atol=1e-5)]
        assert len(matches) == 1
        seen.append(matches[0])
        np.testing.assert_allclose(s, _dihedral(clean_son)[matches[0]], atol=1e-5)
    assert sorted(set(seen)) == list(range(8))
    assert sorted(np.bincount(seen)) == [1, 1, 1, 1, 2, 2, 2, 2]


def test_same_seed_same_pairs_other_seed_differs(photo):
    def take(seed):
        batches = data.father_son_dataset(photo, TrainConfig(seed=seed))
        return [b[0].numpy() for b in batches.take(3)]

    a, b, c = take(7), take(7), take(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert any(x.shape != y.shape or not np.array_equal(x, y) for x, y in zip(a, c))


def test_noise_is_gaussian_with_sigma(photo):
    noisy, _ = _first(data.father_son_dataset(photo, TrainConfig(noise_sigma=0.05, seed=2)))
    clean, _ = _first(data.father_son_dataset(photo, TrainConfig(noise_sigma=0.0, seed=2)))
    residual = noisy - clean
    assert abs(residual.mean()) < 2e-3
    assert abs(residual.std() - 0.05) < 2e-3


def test_father_sizes_weights_and_aspect():
    sizes, probs = data.father_sizes(100, 151, 2)
    assert sizes[0].tolist() == [64, 96] and sizes[-1].tolist() == [100, 150]
    assert (sizes % 2 == 0).all()
    np.testing.assert_allclose(probs, sizes.prod(1) / sizes.prod(1).sum())
    assert data.min_image_side(3) == 66
    with pytest.raises(ValueError, match=r"image is 200x65 \(width x height\); x3 needs a short"):
        data.father_sizes(65, 200, 3)


def test_sampler_prefers_large_fathers(photo):
    batches = data.father_son_dataset(photo[:100, :100], TrainConfig(crop_size=100, seed=1))
    shapes = [b[0].shape[1] for b in batches.take(400)]
    # Sides 64..100 weighted by area: expected mean 84.6 (uniform: 82.0, s.e. 0.5).
    assert np.mean(shapes) > 83.5


@pytest.mark.parametrize("scale", [2, 3])
def test_kernel_aware_sons_are_blurred_subsampled_transformed_fathers(photo, scale):
    kernel = kernels.gaussian(2.0)
    side = 96
    image = photo[50 : 50 + side, 70 : 70 + side]
    config = TrainConfig(scale=scale, noise_sigma=0.0, seed=2, min_father_side=64)
    son, father = _first(data.father_son_dataset(image, config,
                                                 degradation.parse("gaussian:2.0")))
    assert son.shape == father.shape and father.shape[1] % scale == 0
    for f, s in zip(father, son):
        # The son's kept pixels are exactly the blurred, subsampled (transformed) father...
        low = degrade.blur_subsample(f.astype(np.float64), kernel, scale).numpy()
        np.testing.assert_allclose(s[::scale, ::scale], low, atol=1e-5)
        # ...and the rest is bicubic on the corner grid.
        np.testing.assert_allclose(s, degrade.upscale_bicubic(low, scale, "corner").numpy(),
                                   atol=1e-5)


@pytest.mark.parametrize("multiple, sides", [(1, {66}), (16, {96})])
def test_kernel_aware_crops_round_up_to_the_discriminator_minimum(photo, multiple, sides):
    # x3 with a kernel: a crop of 64 rounds to a multiple of 3 (or of lcm(16, 3) = 48
    # under XLA); rounding down would give 63 (48), below the discriminator's 64.
    batches = data.father_son_dataset(photo[:120, :120], TrainConfig(scale=3, crop_size=64),
                                      degradation.parse("gaussian:2.0"),
                                      crop_multiple=multiple)
    assert {son.shape[1] for son, _ in batches.take(20)} == sides


def test_fathers_too_small_for_the_crop_multiple_are_an_image_size_error(photo):
    with pytest.raises(data.ImageSizeError, match="needs a short side >= 96"):
        data.father_son_dataset(photo[:90, :120], TrainConfig(scale=3, crop_size=64),
                                degradation.parse("gaussian:2.0"), crop_multiple=16)

