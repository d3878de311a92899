"""ZSRGAN: a real fit changes the networks, logs the paper's losses, and upscales."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zsrgan_tf
from zsrgan_tf import data, degradation, gan
from zsrgan_tf.config import TrainConfig


@pytest.fixture(scope="module")
def small_lr(photo):
    return photo[60:132, 90:170]  # 72 x 80, real content


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def test_fit_updates_both_networks_and_reports_losses(small_lr):
    keras.utils.set_random_seed(0)
    model = zsrgan_tf.ZSRGAN()
    config = zsrgan_tf.TrainConfig(lr_halve_every=2)
    model.compile(g_optimizer=zsrgan_tf.make_optimizer(config),
                  d_optimizer=zsrgan_tf.make_optimizer(config))
    g0, d0 = _weights(model.generator), _weights(model.discriminator)
    vgg0 = [w.numpy().copy() for w in model.vgg.weights]
    config = TrainConfig(crop_size=64, batch_size=2, seed=0)
    dataset = zsrgan_tf.father_son_dataset(small_lr, config)
    history = model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)

    assert set(history.history) == set(gan.LOSS_NAMES)
    assert all(np.isfinite(v[-1]) and v[-1] > 0 for v in history.history.values())
    assert all(np.abs(a - b).max() > 0 for a, b in zip(g0, _weights(model.generator)))
    assert all(np.abs(a - b).max() > 0 for a, b in zip(d0, _weights(model.discriminator)))
    for a, b in zip(vgg0, model.vgg.weights):  # frozen
        np.testing.assert_array_equal(a, b.numpy())
    assert int(model.g_optimizer.iterations) == int(model.d_optimizer.iterations) == 3
    # Step indices 0, 1, 2 with halving every 2: rates 1e-3, 5e-4, 5e-4; next (3): 2.5e-4.
    assert float(model.g_optimizer.learning_rate) == pytest.approx(2.5e-4)

    sr = model.upscale(small_lr)
    assert sr.shape == (144, 160, 3) and sr.dtype == np.float32
    assert sr.min() >= 0.0 and sr.max() <= 1.0


def test_keras_callbacks_validation_and_evaluate(small_lr):
    """What a Keras user reaches for works: ``loss`` is the generator's objective
    (TerminateOnNaN stops a diverged run), validation and ``evaluate`` report the
    training losses without updating anything, and a learning-rate callback that
    would set ``model.optimizer`` fails instead of changing an unused optimiser."""
    keras.utils.set_random_seed(0)
    model = zsrgan_tf.ZSRGAN(TrainConfig(gan_warmup=0))
    model.compile()
    config = TrainConfig(crop_size=64, batch_size=2, seed=0)
    dataset = zsrgan_tf.father_son_dataset(small_lr, config)
    history = model.fit(dataset, steps_per_epoch=1, epochs=2, verbose=0,
                        validation_data=dataset, validation_steps=1)
    logs = {k: v[-1] for k, v in history.history.items()}
    assert set(logs) == set(gan.LOSS_NAMES) | {f"val_{k}" for k in gan.LOSS_NAMES}
    assert logs["loss"] == pytest.approx(
        logs["l_g_pix"] + logs["l_g_percep"] + logs["l_g_gan"], rel=1e-5)
    weights = _weights(model)
    scores = model.evaluate(dataset, steps=2, verbose=0, return_dict=True)
    assert set(scores) == set(gan.LOSS_NAMES) and all(np.isfinite(list(scores.values())))
    assert all(np.array_equal(a, b) for a, b in zip(weights, _weights(model)))
    assert int(model.g_optimizer.iterations) == 2

    nan = tf.data.Dataset.from_tensors((tf.fill((1, 64, 64, 3), np.nan),) * 2).repeat()
    history = model.fit(nan, steps_per_epoch=1, epochs=3, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) == 1
    with pytest.raises((AttributeError, ValueError)):
        model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.LearningRateScheduler(lambda epoch, lr: 1e-6)])


def test_pixel_only_trains_no_discriminator(small_lr):
    model = zsrgan_tf.ZSRGAN(TrainConfig(lambda_percep=0.0, lambda_gan=0.0))
    model.compile()
    d0 = _weights(model.discriminator)
    config = TrainConfig(crop_size=64, batch_size=2, seed=0)
    dataset = zsrgan_tf.father_son_dataset(small_lr, config)
    logs = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0).history
    assert logs["l_g_gan"][-1] == logs["l_d"][-1] == logs["l_g_percep"][-1] == 0.0
    for a, b in zip(d0, _weights(model.discriminator)):
        np.testing.assert_array_equal(a, b)


def test_call_is_the_generator(rng):
    model = zsrgan_tf.ZSRGAN()
    x = rng.random((1, 40, 30, 3)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), model.generator(x).numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.generator(x).numpy())


def test_network_sizes_come_from_the_config():
    config = zsrgan_tf.TrainConfig(g_filters=16, g_depth=5, d_filters=8, subpixel=True)
    model = gan.ZSRGAN(config, degradation.parse("bicubic"))
    g, d = model.generator, model.discriminator
    assert (g.filters, g.depth, g.block, d.filters) == (16, 5, 2, 8)
    convs = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [16, 16, 16, 16, 12]  # last: 3 * block^2
    assert d.get_layer("conv4").filters == 8 * 8
    with pytest.raises(ValueError, match="g_filters"):
        zsrgan_tf.TrainConfig(g_depth=0)


@pytest.mark.slow
@pytest.mark.parametrize("scale", [3, 4])
def test_train_on_image_other_scales(small_lr, scale):
    config = zsrgan_tf.preset("fast", scale=scale, iterations=2, batch_size=2)
    model, history = zsrgan_tf.train_on_image(small_lr, config)
    assert len(history.history["l_g_pix"]) == 2
    assert model.upscale(small_lr).shape == (72 * scale, 80 * scale, 3)


@pytest.mark.parametrize("kernel", ["bicubic", "gaussian:1.5"])
def test_subpixel_generator_trains_at_scale_3(small_lr, kernel):
    """Crops become multiples of the generator's block (64 -> 66) on both grids."""
    config = zsrgan_tf.preset("zssr", scale=3, iterations=2, kernel=kernel, subpixel=True,
                              crop_size=64, ensemble=False, back_projection=0)
    model, history = zsrgan_tf.train_on_image(small_lr, config)
    assert model.generator.block == 3 and len(history.history["l_g_pix"]) == 2
    assert np.isfinite(history.history["l_g_pix"]).all()
    assert model.upscale(small_lr).shape == (72 * 3, 80 * 3, 3)


def test_gan_at_scale_3_with_a_kernel(small_lr):
    """Kernel-aware crops of 64 at x3 become 66, not 63 (below the discriminator's input)."""
    config = zsrgan_tf.preset("fast", scale=3, iterations=2, batch_size=2, kernel="gaussian:2.0")
    _, history = zsrgan_tf.train_on_image(small_lr, config)
    assert np.isfinite(history.history["l_d"]).all() and history.history["l_d"][-1] > 0


def test_crops_too_small_for_the_discriminator_are_refused(rng):
    model = zsrgan_tf.ZSRGAN()
    model.compile()
    batch = rng.random((2, 32, 32, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="32x32 px: the discriminator needs crops of >= 64"):
        model.fit(tf.data.Dataset.from_tensors((batch, batch)).repeat(), steps_per_epoch=1,
                  verbose=0)
    # Crops of varying (unknown) size: checked when the step runs.
    model = zsrgan_tf.ZSRGAN()
    model.compile()
    varying = tf.data.Dataset.from_generator(
        lambda: iter([(batch, batch)]),
        output_signature=(tf.TensorSpec((None, None, None, 3), tf.float32),) * 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="needs crops of >= 64"):
        model.fit(varying.repeat(), steps_per_epoch=1, verbose=0)


@pytest.mark.slow
def test_train_on_image_is_reproducible(small_lr):
    config = zsrgan_tf.preset("fast", iterations=2, batch_size=2)
    a = zsrgan_tf.train_on_image(small_lr, config)[0].upscale(small_lr)
    b = zsrgan_tf.train_on_image(small_lr, config)[0].upscale(small_lr)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_step_halving_is_the_paper_codes_schedule():
    schedule = gan.StepHalving(1e-3, 500)
    rates = {step: float(schedule(step)) for step in (0, 498, 499, 998, 999, 1999)}
    assert rates == pytest.approx(
        {0: 1e-3, 498: 1e-3, 499: 5e-4, 998: 5e-4, 999: 2.5e-4, 1999: 6.25e-5}
    )


def test_lr_decay_steps_schedule():
    schedule = gan.learning_rate_schedule(zsrgan_tf.preset("zssr"))
    rates = [float(schedule(step)) for step in (0, 1000, 1001, 1300, 1301)]
    assert rates == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5])


@pytest.mark.slow
def test_gan_warmup_trains_the_generator_on_l1_only(small_lr):
    """During the warm-up the generator's updates are those of an L1-only run."""

    def generator_after(config):
        model, _ = zsrgan_tf.train_on_image(small_lr, config)
        return model.generator.get_weights()

    base = zsrgan_tf.preset("fast", iterations=2, batch_size=2, crop_size=64)
    warm = generator_after(base.replace(gan_warmup=2))
    l1 = generator_after(base.replace(lambda_percep=0.0, lambda_gan=0.0))
    full = generator_after(base)
    for a, b in zip(warm, l1):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(warm, full)) > 1e-4


def test_small_images_train_without_a_discriminator(rng):
    """A 40x36 image is too small for x4 fathers of 64 pixels, which the discriminator
    needs; the pixel loss alone trains on fathers down to the image itself."""
    lr = rng.random((36, 40, 3)).astype(np.float32)
    config = zsrgan_tf.preset("zssr-subpixel", scale=4, iterations=2, ensemble=False)
    assert data.min_father_side(config, lr.shape) == 36
    assert data.min_father_side(config, (300, 200, 3)) == 64  # big images: as before
    model, history = zsrgan_tf.train_on_image(lr, config)
    assert model.upscale(lr).shape == (144, 160, 3)
    with pytest.raises(data.ImageSizeError, match="x4 needs a short side >= 64"):
        zsrgan_tf.train_on_image(lr, config.replace(lambda_gan=0.1))
