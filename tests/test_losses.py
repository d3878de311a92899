"""Losses against hand-computed values."""

import numpy as np
import pytest

from zsrgan_tf import losses


def test_l1_is_mean_absolute_error():
    a = np.zeros((2, 4, 4, 3), np.float32)
    b = np.full((2, 4, 4, 3), 0.25, np.float32)
    assert float(losses.l1_loss(a, b)) == pytest.approx(0.25)
    assert losses.l1_loss(a, b).dtype == "float32"
    assert float(losses.pixel_loss(a, b)) == pytest.approx(0.5)  # in [-1, 1] units


def test_gan_losses_are_bce_of_sigmoid():
    logits = np.array([[[[2.0]], [[-1.0]]]], np.float32)  # (1, 2, 1, 1)
    p = 1 / (1 + np.exp(-logits))
    want_g = -np.log(p).mean()
    assert float(losses.generator_adversarial_loss(logits)) == pytest.approx(want_g, rel=1e-5)
    want_d = 0.5 * (-np.log(p).mean() - np.log(1 - p).mean())
    assert float(losses.discriminator_loss(logits, logits)) == pytest.approx(want_d, rel=1e-5)


def test_discriminator_loss_is_finite_when_saturated():
    real = np.full((1, 5, 5, 1), 200.0, np.float32)
    fake = np.full((1, 5, 5, 1), -200.0, np.float32)
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.generator_adversarial_loss(fake)) == pytest.approx(200.0, rel=1e-4)

