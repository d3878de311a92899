"""Presets and validation of settings."""

import pytest

from zsrgan_tf import config


def test_paper_preset_is_the_paper():
    p = config.PRESETS["paper"]
    assert (p.iterations, p.crop_size, p.batch_size, p.scale) == (2000, 128, 12, 2)
    assert (p.learning_rate, p.beta_1, p.beta_2, p.lr_halve_every) == (1e-3, 0.5, 0.999, 500)
    assert (p.lambda_pix, p.lambda_percep, p.lambda_gan) == (1, 1, 1)
    assert p.noise_sigma == 0.05  # sigma 0.1 in [-1, 1] units


def test_fast_is_the_time_to_quality_choice():
    # docs/history.md "Time to quality: the default preset": 300 steps of 4 x 64x64 is
    # the shortest schedule within 0.2 dB PSNR-Y of the paper preset on Set5 baby and
    # butterfly; then 10 back-projection steps.
    assert config.PRESETS["fast"] == config.TrainConfig(
        iterations=300, crop_size=64, batch_size=4, lr_halve_every=75, back_projection=10)


def test_zssr_subpixel_is_zssr_on_the_lr_grid():
    assert config.PRESETS["zssr-subpixel"] == config.preset("zssr", subpixel=True)


def test_preset_overrides_and_errors():
    assert config.preset("fast", iterations=7).iterations == 7
    with pytest.raises(KeyError, match="unknown preset"):
        config.preset("turbo")
    with pytest.raises(ValueError, match="scale"):
        config.TrainConfig(scale=5)
    with pytest.raises(ValueError, match="min_father_side"):
        config.TrainConfig(crop_size=32)


def test_parse_overrides_types_and_errors():
    got = config.parse_overrides("iterations=300,ensemble=True,lr_decay_steps=100/200,beta_1=0.9")
    assert got == {"iterations": 300, "ensemble": True, "lr_decay_steps": (100, 200),
                   "beta_1": 0.9}
    assert config.TrainConfig(**got).lr_decay_steps == (100, 200)
    with pytest.raises(ValueError, match="unknown setting"):
        config.parse_overrides("iters=3")
    with pytest.raises(ValueError, match="True or False"):
        config.parse_overrides("ensemble=yes")


def test_config_round_trips_through_json():
    import json

    c = config.preset("zssr", kernel="gaussian:2.0")
    again = config.TrainConfig(**json.loads(json.dumps(c.to_dict())))
    assert again == c
    with pytest.raises(ValueError, match="increasing"):
        config.TrainConfig(lr_decay_steps=(5, 3))
