"""Presets and validation of settings."""

import pytest

from zsrgan_tf import config


def test_paper_preset_is_the_paper():
    p = config.PRESETS["paper"]
    assert (p.iterations, p.crop_size, p.batch_size, p.scale) == (2000, 128, 12, 2)
    assert (p.learning_rate, p.beta_1, p.beta_2, p.lr_halve_every) == (1e-3, 0.5, 0.999, 500)
    assert (p.lambda_pix, p.lambda_percep, p.lambda_gan, p.d_loss_weight) == (1, 1, 1, 0.5)
    assert p.noise_sigma == 0.05  # sigma 0.1 in [-1, 1] units


def test_preset_overrides_and_errors():
    assert config.preset("cpu", iterations=7).iterations == 7
    with pytest.raises(KeyError, match="unknown preset"):
        config.preset("fast")
    with pytest.raises(ValueError, match="scale"):
        config.TrainConfig(scale=5)
    with pytest.raises(ValueError, match="min_father_side"):
        config.TrainConfig(crop_size=32)
