"""Precision policy by device, and the mixed-precision train step on CPU."""

import numpy as np
import pytest

import zsrgan_tf
from benchmarks import flops
from zsrgan_tf import inference, precision
from zsrgan_tf.config import TrainConfig


def test_resolve_by_device(monkeypatch):
    monkeypatch.setattr(precision, "has_gpu", lambda: False)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"avx512f"}))
    assert precision.resolve("auto") == "float32"
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset({"amx_bf16", "amx_tile"}))
    assert precision.resolve("auto") == "mixed_bfloat16"
    monkeypatch.setattr(precision, "has_gpu", lambda: True)
    assert precision.resolve("auto") == "mixed_float16"
    assert precision.use_xla()
    assert precision.resolve("float32") == "float32"
    with pytest.raises(ValueError):
        precision.resolve("int8")


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_step_on_cpu(photo, policy):
    """The GPU path's policies run the same train_step on CPU, losses in float32."""
    lr = photo[:72, :80]
    config = zsrgan_tf.preset("fast", iterations=2, batch_size=2, precision=policy)
    model, history = zsrgan_tf.train_on_image(lr, config)
    assert model.generator.dtype_policy.name == policy
    assert model.generator.get_layer("conv1").compute_dtype == policy.split("_")[1]
    assert model.generator.output.dtype == "float32"
    scaled = policy == "mixed_float16"
    assert (type(model.g_optimizer).__name__ == "LossScaleOptimizer") == scaled
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    sr = model.upscale(lr)
    assert sr.dtype == np.float32 and sr.shape == (144, 160, 3)


def test_zssr_subpixel_trains_and_upscales_in_bf16(photo):
    """The preset that bf16 CPUs run by default, end to end: kernel-aware sons, the LR-grid
    generator in bf16, the ensemble's median and back-projection in float32."""
    lr = photo[:72, :80]
    config = zsrgan_tf.preset("zssr-subpixel", kernel="gaussian:2.0", iterations=2, crop_size=64,
                              precision="mixed_bfloat16")
    model, history = zsrgan_tf.train_on_image(lr, config)
    assert model.generator.dtype_policy.name == "mixed_bfloat16" and model.generator.block == 2
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    sr = inference.super_resolve(model, lr, config)
    assert sr.dtype == np.float32 and sr.shape == (144, 160, 3) and np.isfinite(sr).all()


def test_policy_scope_restores_global_policy():
    import keras

    before = keras.config.dtype_policy().name
    with precision.policy_scope("mixed_bfloat16"):
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == before


def test_iteration_flops_paper_preset():
    model = zsrgan_tf.ZSRGAN()
    work = flops.iteration_flops(model, 12, 128)
    # Generator: 128^2 px x 2 x (3*9*64 + 6*64*9*64 + 64*9*3) weights.
    assert work["generator"] == 128 * 128 * 2 * (1728 + 6 * 36864 + 1728)
    # VGG16 to relu3_1: conv1_1, conv1_2 at 128^2, conv2_x at 64^2, conv3_1 at 32^2.
    assert work["vgg"] == 2 * (128**2 * (1728 + 36864) + 64**2 * (73728 + 147456)
                               + 32**2 * 294912)
    # D: 4 stride-2 convs 4x4 (64..512 channels) and a 4x4 conv to the 5x5 map.
    assert work["discriminator"] == 2 * (64**2 * 16 * 3 * 64 + 32**2 * 16 * 64 * 128
                                         + 16**2 * 16 * 128 * 256 + 8**2 * 16 * 256 * 512
                                         + 5**2 * 16 * 512)
    assert work["per_iteration"] == 12 * (3 * work["generator"] + 3 * work["vgg"]
                                          + 8 * work["discriminator"])
    assert 4.5e11 < work["per_iteration"] < 5e11


@pytest.mark.slow
def test_gpu_default_on_cpu_rounds_crops(photo):
    """The GPU default (mixed_float16, loss scaling, XLA) compiles and trains here
    too; XLA's crops are multiples of 16."""
    lr = photo[:90, :100]
    config = zsrgan_tf.preset("fast", iterations=2, batch_size=2, crop_size=128,
                              precision="mixed_float16")
    model, history = zsrgan_tf.train_on_image(lr, config, jit_compile=True)
    assert model.jit_compile and type(model.g_optimizer).__name__ == "LossScaleOptimizer"
    assert all(np.isfinite(v[-1]) for v in history.history.values())
    batches = zsrgan_tf.father_son_dataset(lr, TrainConfig(crop_size=128), crop_multiple=16)
    sides = {b[0].shape[1] for b in batches.take(30)}
    assert sides <= {64, 80} and 80 in sides


def test_loss_scaling_is_live(rng):
    """Under mixed_float16 the loss is scaled: a scale of 2**60 overflows float16
    gradients, so the step is skipped and the scale halved (Keras' dynamic rule)."""
    import tensorflow as tf

    x = rng.random((1, 64, 64, 3)).astype(np.float32)
    dataset = tf.data.Dataset.from_tensors((x, x * 0.9)).repeat()
    with precision.policy_scope("mixed_float16"):
        model = zsrgan_tf.ZSRGAN(TrainConfig(lambda_percep=0.0, lambda_gan=0.0),
                                 generator=zsrgan_tf.Generator(8, 2))
    model.compile()
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 1
    model.g_optimizer.dynamic_scale.assign(2.0**60)
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    assert int(model.g_optimizer.iterations) == 1  # skipped
    assert float(model.g_optimizer.dynamic_scale) == 2.0**59


def test_reloaded_zsrgan_keeps_the_precision_of_every_network(tmp_path, rng):
    import keras

    with precision.policy_scope("mixed_bfloat16"):
        model = zsrgan_tf.ZSRGAN(generator=zsrgan_tf.Generator(8, 2))
    x = rng.random((1, 32, 32, 3)).astype(np.float32)
    want = model(x).numpy()  # the generator on the float32 image, as in training
    np.testing.assert_array_equal(want, model.generator(x).numpy())
    model.save(tmp_path / "zsrgan.keras")
    loaded = keras.saving.load_model(tmp_path / "zsrgan.keras")
    for network in (loaded.generator, loaded.discriminator, loaded.vgg):
        first = next(x for x in network.layers if isinstance(x, keras.layers.Conv2D))
        assert first.compute_dtype == "bfloat16", network.name
    np.testing.assert_array_equal(loaded(x).numpy(), want)
