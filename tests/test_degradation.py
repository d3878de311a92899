"""The degradation model: specs, the linear part, noise and JPEG as sons get them."""

import io
import os

import numpy as np
import pytest
import tensorflow as tf
from conftest import REPO
from PIL import Image

from benchmarks import evaluation
from zsrgan_tf import degradation, degrade, imaging, kernels


@pytest.fixture(scope="module")
def photo():
    """The CC0 sample, cropped to 224x150 (multiples of 2), float32 in [0, 1]."""
    return imaging.read_image(os.path.join(REPO, "samples", "chelsea.png"))[:150, :224]


@pytest.mark.parametrize("spec, canonical, grid, noise, jpeg", [
    ("bicubic", "bicubic", "centre", 0.0, None),
    ("gaussian:2.0", "gaussian:2.0", "corner", 0.0, None),
    ("gaussian:1.3+bicubic", "gaussian:1.3+bicubic", "centre", 0.0, None),
    ("gaussian:0.64+bicubic+jpeg:75", "gaussian:0.64+bicubic+jpeg:75", "centre", 0.0, 75),
    ("gaussian:2.0+noise:5.0", "gaussian:2.0+noise:5", "corner", 5 / 255, None),
    ("bicubic+noise:2.5+jpeg:90", "bicubic+noise:2.5+jpeg:90", "centre", 2.5 / 255, 90),
])
def test_specs_parse_to_one_model(spec, canonical, grid, noise, jpeg):
    model = degradation.parse(spec)
    assert (model.spec, model.grid, model.noise, model.jpeg) == (canonical, grid, noise, jpeg)
    assert model.linear == (noise == 0 and jpeg is None)
    assert degradation.parse(model.spec) == model  # the canonical text gives it back


@pytest.mark.parametrize("spec, message", [
    ("noise:5", "name the resampling"),
    ("jpeg:80+bicubic", "in the order"),
    ("bicubic+bicubic", "once each"),
    ("gaussian:2+gaussian:1", "once each"),
    ("bicubic+jpeg:0", "integer in 1-100"),
    ("bicubic+jpeg:80.5", "integer in 1-100"),
    ("bicubic+noise:abc", "expected a number"),
    ("bicubic+noise:0", r"in \(0, 100\]"),
    ("bicubc", "bicubc: no such kernel file"),
    ("auto", "estimated from the image"),
])
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises(kernels.KernelError, match=message):
        degradation.parse(spec)


def test_estimated_specs_pass_the_early_check():
    for spec in degradation.ESTIMATED:
        degradation.check(spec)
    with pytest.raises(kernels.KernelError):
        degradation.check("gaussian:-1")


def test_the_linear_part_is_blur_then_resampling(photo):
    x = photo.astype(np.float64)
    k = kernels.gaussian(1.3)
    blurred = degrade.blur_subsample(x, k, 1)
    np.testing.assert_allclose(degradation.parse("gaussian:1.3+bicubic").downscale(x, 2),
                               degrade.imresize(blurred, (75, 112)), atol=1e-12)
    np.testing.assert_allclose(degradation.parse("bicubic").downscale(x, 2),
                               degrade.imresize(x, (75, 112)), atol=1e-12)
    np.testing.assert_array_equal(degradation.parse("gaussian:1.3").downscale(x, 2),
                                  degrade.blur_subsample(x, k, 2))


def test_sons_get_the_noise_of_the_spec(photo):
    model = degradation.parse("gaussian:2.0+noise:5")
    clean = model.downscale(photo[None], 2).numpy()
    noisy = model.degrade(photo[None], 2, tf.constant([1, 2])).numpy()
    # Rounded to 8 bits, and the difference is the noise (5 levels) plus the rounding.
    np.testing.assert_array_equal(noisy * 255, np.round(noisy * 255))
    assert np.std(noisy - clean) * 255 == pytest.approx(np.sqrt(25 + 1 / 12), rel=0.05)
    again = model.degrade(photo[None], 2, tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(noisy, again)  # stateless: the seed decides


def test_sons_get_the_jpeg_compression_pillow_gives(photo):
    """TensorFlow's encoder and accurate decoder give the pixels of Pillow's round trip
    (both libjpeg with the standard tables and 4:2:0 chroma)."""
    model = degradation.parse("bicubic+jpeg:75")
    son = model.degrade(photo[None], 2, tf.constant([0, 0])).numpy()[0]
    pixels = imaging.to_uint8(model.downscale(photo, 2).numpy())
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=75)
    pillow = np.asarray(Image.open(buffer)) / 255.0
    np.testing.assert_array_equal(son, pillow.astype(np.float32))
    assert np.abs(son - pixels / 255.0).max() > 0.01  # the compression changed it


def test_degraded_files_are_what_the_spec_says(photo):
    content, ext = evaluation.degraded_file(photo, degradation.parse("bicubic+jpeg:90"), 2, 0)
    with Image.open(io.BytesIO(content)) as im:
        assert (ext, im.format, im.size) == (".jpg", "JPEG", (112, 75))
    content, ext = evaluation.degraded_file(photo, degradation.parse("gaussian:2.0+noise:5"), 2,
                                            3)
    again, _ = evaluation.degraded_file(photo, degradation.parse("gaussian:2.0+noise:5"), 2, 3)
    assert ext == ".png" and content == again  # seeded


def test_an_isotropic_blur_keeps_every_transform():
    assert degradation.parse("gaussian:2.0+noise:5").symmetries() == degradation.DIHEDRAL
    assert degradation.parse("bicubic").symmetries() == degradation.DIHEDRAL
    assert len(degradation.parse("gaussian:4,1,30+bicubic").symmetries()) == 2
