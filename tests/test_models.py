"""Generator and discriminator: shapes, the residual, the patch map, serialisation."""

import keras
import numpy as np
import pytest

from benchmarks import flops
from zsrgan_tf.models import Discriminator, Generator


@pytest.mark.parametrize("shape", [(1, 37, 53, 3), (2, 64, 64, 3)])
def test_generator_any_size(shape, rng):
    g = Generator()
    x = rng.random(shape).astype(np.float32)
    y = g(x)
    assert tuple(y.shape) == shape and y.dtype == "float32"
    assert len(g.layers) == 1 + 8 + 1  # input, 8 convs, residual add
    assert g.count_params() == 3 * 9 * 64 + 64 + 6 * (64 * 9 * 64 + 64) + 64 * 9 * 3 + 3


def test_generator_is_residual(rng):
    g = Generator()
    last = g.get_layer("conv8")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = rng.random((1, 20, 20, 3)).astype(np.float32)
    np.testing.assert_array_equal(g(x).numpy(), x)


@pytest.mark.parametrize("side,patches", [(128, 5), (64, 1), (96, 3)])
def test_discriminator_patch_map(side, patches, rng):
    d = Discriminator()
    y = d(rng.random((2, side, side, 3)).astype(np.float32), training=True)
    assert tuple(y.shape) == (2, patches, patches, 1) and y.dtype == "float32"
    assert [l.name for l in d.layers if "bn" in l.name] == ["bn1", "bn2", "bn3", "bn4"]
    assert not any(w.name == "bias" for w in d.trainable_weights)


def test_generator_keras_round_trip(tmp_path, rng):
    g = Generator()
    path = str(tmp_path / "generator.keras")
    g.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Generator)
    x = rng.random((1, 33, 47, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), g(x).numpy())


@pytest.mark.parametrize("block", [2, 3])
def test_subpixel_generator_works_on_the_lr_grid(block, rng):
    """block b: the same stack on the space-to-depth of the input, 1/b^2 of the FLOPs."""
    g = Generator(block=block)
    x = rng.random((2, 24 * block, 7 * block, 3)).astype(np.float32)
    assert tuple(g(x).shape) == x.shape
    convs = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs[0].kernel.shape == (3, 3, 3 * block**2, 64)
    assert convs[-1].kernel.shape == (3, 3, 64, 3 * block**2)
    lr_pixels, c = 24 * 7, 3 * block**2
    assert flops.conv_flops(g, 24 * block, 7 * block) == 2 * lr_pixels * 9 * (
        2 * c * 64 + 6 * 64 * 64)
    # Shifting the input by a whole block shifts the output alike, outside the
    # reach of the borders (8 blocks: one per 3x3 convolution on the LR grid).
    inner = slice(9 * block, -9 * block)
    np.testing.assert_allclose(g(np.roll(x, block, axis=1)).numpy()[:, inner],
                               np.roll(g(x).numpy(), block, axis=1)[:, inner], atol=1e-5)
    last = g.get_layer("conv8")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    np.testing.assert_array_equal(g(x).numpy(), x)


def test_subpixel_generator_keras_round_trip(tmp_path, rng):
    g = Generator(block=2)
    path = str(tmp_path / "generator.keras")
    g.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.block == 2
    x = rng.random((1, 34, 48, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), g(x).numpy())


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_saved_networks_reload_in_their_precision(tmp_path, rng, policy):
    """A generator trained under a mixed policy reloads under it (not the global
    float32) and reproduces its output; the export's float32 copy is float32 even
    while a mixed policy is global."""
    from zsrgan_tf import export, precision

    with precision.policy_scope(policy):
        g, d = Generator(), Discriminator(filters=8)
    for net in (g, d):
        net.save(tmp_path / f"{net.name}.keras")
        loaded = keras.saving.load_model(tmp_path / f"{net.name}.keras")
        assert loaded.dtype_policy.name == policy
        assert loaded.get_layer("conv1").dtype_policy.name == policy
    x = rng.random((1, 64, 64, 3)).astype(np.float32)
    loaded = keras.saving.load_model(tmp_path / f"{g.name}.keras")
    np.testing.assert_array_equal(loaded(x).numpy(), g(x).numpy())
    with precision.policy_scope(policy):
        copy = export.float32_copy(g)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
