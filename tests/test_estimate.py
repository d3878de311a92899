"""Reading the degradation from the image alone: JPEG quality, noise, and ``auto``'s choice.

The inputs are made here from a synthetic "dead leaves" image (overlapping discs
of random colours with radii drawn from a 1/r^3 density: sharp edges and a
power-law spectrum at every scale, the textbook stand-in for a natural image),
so the tests need no data beside the repository.
"""

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks import evaluation
from zsrgan_tf import degradation, estimate


def dead_leaves(size=384, seed=0, smallest=2.0, largest=150.0):
    """float64 ``(size, size, 3)`` in [0, 1]: discs laid from the top down until
    the image is covered."""
    rng = np.random.default_rng(seed)
    image = np.full((size, size, 3), np.nan)
    rows, cols = np.mgrid[0:size, 0:size]
    while np.isnan(image[..., 0]).any():
        # Radii with density ~ 1/r^3 between the two bounds (inverse CDF).
        u = rng.random()
        r = 1 / np.sqrt(1 / smallest**2 - u * (1 / smallest**2 - 1 / largest**2))
        cy, cx = rng.uniform(-r, size + r, 2)
        disc = (rows - cy) ** 2 + (cols - cx) ** 2 <= r * r
        image[disc & np.isnan(image[..., 0])] = rng.random(3)
    return image


@pytest.fixture(scope="module")
def hr():
    return dead_leaves()


def _made(hr, spec, scale=2):
    """``(lr, jpeg tables)`` of ``hr`` degraded by ``spec``, as read back from the file."""
    content, _ = evaluation.degraded_file(hr, degradation.parse(spec), scale, 0)
    with Image.open(io.BytesIO(content)) as im:
        tables = {k: list(v) for k, v in im.quantization.items()} if im.format == "JPEG" else None
        return np.asarray(im.convert("RGB"), np.float32) / 255, tables


@pytest.mark.parametrize("quality", [30, 75, 90, 95])
def test_jpeg_quality_is_read_from_the_tables(hr, quality):
    _, tables = _made(hr, f"bicubic+jpeg:{quality}")
    assert estimate.jpeg_quality(tables) == (quality, True)


def test_a_cameras_own_tables_give_the_nearest_quality():
    _, tables = _made(dead_leaves(64), "bicubic+jpeg:80")
    tables = {k: [max(1, round(v * 1.1)) for v in t] for k, t in tables.items()}
    quality, standard = estimate.jpeg_quality(tables)
    assert 75 <= quality < 80 and not standard


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_a_jpeg_saved_again_as_png_shows_its_quality(hr, quality):
    lr, _ = _made(hr, f"gaussian:0.64+bicubic+jpeg:{quality}")  # decoded pixels, no tables
    assert estimate.recompression_quality(lr) == pytest.approx(quality, abs=3)
    model, evidence = estimate.resolve("auto", lr, 2)
    assert model.jpeg == evidence["jpeg"] and evidence["jpeg_read_from"] == "pixels"


def test_images_never_compressed_show_no_jpeg_quality(hr):
    for spec in ("bicubic", "gaussian:2.0", "gaussian:2.0+noise:5"):
        assert estimate.recompression_quality(_made(hr, spec)[0]) is None, spec


@pytest.mark.parametrize("level", [2, 5, 10])
def test_noise_level_reads_added_noise(hr, level):
    lr, _ = _made(hr, f"gaussian:2.0+noise:{level}")
    assert estimate.noise_level(lr) == pytest.approx(level, rel=0.15)


def test_clean_images_read_little_noise(hr):
    for spec in ("bicubic", "gaussian:2.0", "gaussian:0.2"):
        assert estimate.noise_level(_made(hr, spec)[0]) < 1.0, spec


@pytest.mark.parametrize("spec, chosen", [
    ("bicubic", "bicubic"),
    ("gaussian:2.0", "gaussian:"),
    ("gaussian:0.64+bicubic+jpeg:75", "bicubic+jpeg:75"),
    ("gaussian:2.0+noise:5", "+noise:"),
])
def test_auto_recognises_each_family(hr, spec, chosen):
    lr, tables = _made(hr, spec)
    model, evidence = estimate.resolve("auto", lr, 2, tables)
    assert chosen in model.spec
    true = degradation.parse(spec)
    assert model.grid == true.grid and model.jpeg == true.jpeg
    assert (model.noise > 0) == (true.noise > 0)
    assert set(evidence) >= {"jpeg", "noise", "blur"}


def test_auto_reads_the_blur_of_a_kernel(hr):
    lr, _ = _made(hr, "gaussian:2.0")
    model, evidence = estimate.resolve("auto", lr, 2)
    assert model.blur is not None and not model.bicubic
    cov = float(model.spec.partition(":")[2].split("+")[0].split(",")[0])
    assert 1.5 <= cov <= 3.0 and evidence["blur"] == pytest.approx(cov, abs=0.01)
