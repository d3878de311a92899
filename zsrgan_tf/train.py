"""Train a ZSRGAN on one image: dataset + model + optimisers + ``fit``."""

import keras

from zsrgan_tf import precision
from zsrgan_tf.data import father_son_dataset
from zsrgan_tf.gan import ZSRGAN, make_optimizer


def train_on_image(lr, config, callbacks=(), jit_compile="auto"):
    """Trains a new image-specific model on ``lr`` with the settings of ``config``.

    One Keras epoch is one iteration (``steps_per_epoch=1``), so the history
    and callbacks see every iteration's losses; the returned model is the one
    after the final iteration (no checkpoint selection).

    Args:
      lr: the low-resolution image, array ``(H, W, 3)`` float in [0, 1].
      config: a ``TrainConfig``.
      callbacks: Keras callbacks (e.g. ``callbacks.Progress``, ``LossLog``).
      jit_compile: XLA for the train step; "auto" is on for GPUs only
        (``precision.use_xla``). Under XLA, crop sides are rounded down to
        multiples of ``precision.XLA_CROP_MULTIPLE`` so that only a few shapes compile.

    Returns:
      ``(model, history)``: the trained ``ZSRGAN`` and the Keras ``History``.
    """
    keras.utils.set_random_seed(config.seed)  # weight init; the sampler is seeded below
    xla = precision.use_xla() if jit_compile == "auto" else jit_compile
    dataset = father_son_dataset(
        lr,
        scale=config.scale,
        crop_size=config.crop_size,
        batch_size=config.batch_size,
        noise_sigma=config.noise_sigma,
        min_father_side=config.min_father_side,
        seed=config.seed,
        crop_multiple=precision.XLA_CROP_MULTIPLE if xla else 1,
    )
    with precision.policy_scope(precision.resolve(config.precision)):
        model = ZSRGAN.from_config_object(config)
    model.compile(
        g_optimizer=make_optimizer(config),
        d_optimizer=make_optimizer(config),
        jit_compile=xla,
    )
    history = model.fit(
        dataset,
        steps_per_epoch=1,
        epochs=config.iterations,
        callbacks=list(callbacks),
        shuffle=False,  # batch i depends only on (seed, i)
        verbose=0,
    )
    return model, history
