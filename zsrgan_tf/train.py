"""Train a ZSRGAN on one image: dataset + model + optimisers + ``fit``."""

import os

import keras
import numpy as np

from zsrgan_tf import checkpoint as checkpoint_lib
from zsrgan_tf import estimate, imaging, precision
from zsrgan_tf.callbacks import AdaptiveLearningRate
from zsrgan_tf.data import father_son_dataset
from zsrgan_tf.gan import ZSRGAN, make_optimizer

# The adaptive rule's reconstruction test uses at most this LR centre crop.
_SON_TEST_SIDE = 512
def _son_test_pair(lr, config, degradation):
    """``(generator input, target)`` of the adaptive rule's test: the LR image's own
    son (the linear part of ``degradation``), upscaled, and the LR image (a centre
    crop of at most ``_SON_TEST_SIDE``, a multiple of the scale)."""
    s = config.scale
    h, w = (min(n, _SON_TEST_SIDE) // s * s for n in lr.shape[:2])
    top, left = (lr.shape[0] - h) // 2, (lr.shape[1] - w) // 2
    image = np.asarray(lr[top:top + h, left:left + w], np.float32)
    son_input = degradation.interpolate(degradation.downscale(image[None], s), s)
    return son_input, image


def training_dataset(lr, config, degradation, xla, block, start=0):
    """The father/son ``tf.data`` pipeline ``train_on_image`` trains on.

    Args:
      lr: float32 ``(H, W, 3)`` in [0, 1].
      config: a ``TrainConfig``.
      degradation: the ``degradation.Degradation`` sons are made with.
      xla: crop sides become multiples of ``precision.XLA_CROP_MULTIPLE``.
      block: the generator's space-to-depth block (crop sides are multiples of it).
      start: index of the first batch (a resumed run's iterations done).
    """
    multiple = int(np.lcm(precision.XLA_CROP_MULTIPLE if xla else 1, block))
    return father_son_dataset(lr, config, degradation, start, multiple)


def train_on_image(lr, config, callbacks=(), jit_compile="auto", checkpoint=None,
                   checkpoint_every=100, degradation=None):
    """Trains a new image-specific model on ``lr`` with the settings of ``config``.

    One Keras epoch is one iteration (``steps_per_epoch=1``), so the history
    and callbacks see every iteration's losses; the returned model is the one
    after the final iteration (no checkpoint selection).

    Args:
      lr: the low-resolution image, array ``(H, W, 3)``, float in [0, 1] or
        integers (uint8 / uint16, scaled by ``imaging.to_float``).
      config: a ``TrainConfig``; its ``kernel`` spec is resolved with
        ``estimate.resolve`` unless ``degradation`` is given (an estimated one,
        e.g. ``auto``, from ``lr``: deterministic, so a resumed run gets the same).
      callbacks: Keras callbacks (e.g. ``callbacks.Progress``, ``LossLog``).
      jit_compile: XLA for the train step; "auto" is on for GPUs only
        (``precision.use_xla``). Under XLA, crop sides are rounded down to
        multiples of ``precision.XLA_CROP_MULTIPLE`` so that only a few shapes compile.
      checkpoint: optional ``.npz`` path. If it exists, training resumes from it
        (the same settings are required); the state is saved there every
        ``checkpoint_every`` iterations and after the last (see ``checkpoint``).
      degradation: the resolved ``degradation.Degradation`` of ``config.kernel``
        (the command line resolves it first, to print and record it).

    Returns:
      ``(model, history)``: the trained ``ZSRGAN`` (its ``degradation`` is the one
      the sons were made with) and the Keras ``History``.
    """
    lr = imaging.to_float(lr)
    if degradation is None:
        degradation, _ = estimate.resolve(config.kernel, lr, config.scale)
    config = config.replace(kernel=degradation.spec)  # what the checkpoint records
    keras.utils.set_random_seed(config.seed)  # weight init; the sampler is seeded below
    xla = precision.use_xla() if jit_compile == "auto" else jit_compile
    with precision.policy_scope(precision.resolve(config.precision)):
        model = ZSRGAN(config, degradation)
    model.compile(
        g_optimizer=make_optimizer(config),
        d_optimizer=make_optimizer(config),
        jit_compile=xla,
    )
    callbacks = list(callbacks)
    if config.adaptive_lr:
        callbacks.insert(0, AdaptiveLearningRate(*_son_test_pair(lr, config, degradation)))
    done = 0
    if checkpoint:
        settings = {"config": config.to_dict(), "xla": bool(xla),
                    "dtype_policy": model.generator.dtype_policy.name}
        if os.path.exists(checkpoint):
            defaults = type(config)().to_dict()
            done = checkpoint_lib.restore(model, checkpoint, settings, defaults)
        callbacks.append(checkpoint_lib.Checkpointer(checkpoint, settings, checkpoint_every))
    dataset = training_dataset(lr, config, degradation, xla, model.generator.block, start=done)
    history = model.fit(
        dataset,
        steps_per_epoch=1,
        initial_epoch=done,
        epochs=config.iterations,
        callbacks=callbacks,
        shuffle=False,  # batch i depends only on (seed, i)
        verbose=0,
    )
    return model, history
