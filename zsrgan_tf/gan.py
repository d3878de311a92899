"""ZSRGAN: the generator, discriminator and frozen VGG trained together by ``fit``."""

import keras
import tensorflow as tf

from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import imaging, inference, losses, precision, vgg
from zsrgan_tf.config import TrainConfig
from zsrgan_tf.models import PACKAGE, Discriminator, Generator

# ZSSR's learning-rate drops divide by 10.
LR_DROP = 0.1
# "loss" is the generator's weighted objective (0-weighted terms during the warm-up):
# the key Keras' own callbacks (TerminateOnNaN, EarlyStopping) read.
LOSS_NAMES = ("loss", "l_g_pix", "l_g_percep", "l_g_gan", "l_d")


@keras.saving.register_keras_serializable(package=PACKAGE)
class StepHalving(keras.optimizers.schedules.LearningRateSchedule):
    """The paper code's schedule: ``lr(step) = initial / 2 ** ((step + 1) // every)``.

    ``step`` is the 0-based index of the update, so with ``every`` = 500 updates
    0-498 use ``initial``, 499-998 ``initial / 2``, ..., and 1999 ``initial / 16``.
    """

    def __init__(self, initial, every):
        self.initial = initial
        self.every = every

    def __call__(self, step):
        halvings = (tf.cast(step, tf.int64) + 1) // self.every
        return self.initial * tf.pow(0.5, tf.cast(halvings, tf.float32))

    def get_config(self):
        return {"initial": self.initial, "every": self.every}


def learning_rate_schedule(config):
    """``StepHalving`` (the paper), or drops by ``LR_DROP`` at ``lr_decay_steps``."""
    if not config.lr_decay_steps:
        return StepHalving(config.learning_rate, config.lr_halve_every)
    values = [config.learning_rate * LR_DROP**i
              for i in range(len(config.lr_decay_steps) + 1)]
    return keras.optimizers.schedules.PiecewiseConstantDecay(list(config.lr_decay_steps), values)


def make_optimizer(config=None):
    """Adam with the config's betas and ``learning_rate_schedule`` (default: the paper's),
    or a plain initial rate under ``adaptive_lr``.

    Args:
      config: a ``TrainConfig`` (default: the paper's settings).
    """
    config = config or TrainConfig()
    # A plain rate is a variable that ``callbacks.AdaptiveLearningRate`` can set.
    rate = config.learning_rate if config.adaptive_lr else learning_rate_schedule(config)
    return keras.optimizers.Adam(rate, beta_1=config.beta_1, beta_2=config.beta_2)


@keras.saving.register_keras_serializable(package=PACKAGE)
class ZSRGAN(keras.Model):
    """Per-image GAN super-resolution: generator + discriminator + frozen VGG16.

    ``fit`` takes ``(son, father)`` batches (see ``father_son_dataset``); each
    step updates the discriminator once on ``0.5 * [BCE(D(HR), 1) + BCE(D(SR), 0)]``,
    then the generator once on
    ``lambda_pix * L_Rec + lambda_percep * L1(VGG(SR), VGG(HR)) + lambda_gan * BCE(D(SR), 1)``
    with the updated discriminator (paper eq. 4-5). A zero weight skips its
    network: ``lambda_gan=0`` trains no discriminator (the paper's ZSSR baseline).
    Logs: ``loss`` (the generator's weighted objective) and the four terms of
    ``LOSS_NAMES``. ``validation_data``/``evaluate`` take the same batches and
    report the same values without updating anything.

    ``call`` is the generator (input: the bicubic-upscaled LR, float32 [0, 1]
    NHWC); ``upscale`` runs the whole inference on an LR image.

    Args:
      config: a ``TrainConfig`` (default: the paper's settings). The model uses
        its scale, loss weights, warm-up and network sizes; the optimisers
        (``make_optimizer(config)``) and the data (``father_son_dataset(lr,
        config)``) take the rest.
      degradation: the ``degradation.Degradation`` the sons are made with, kept
        as ``model.degradation`` for ``inference.super_resolve`` (not saved with the
        model: a reloaded one has None). Default: ``config.kernel``'s, when it
        needs no estimate.
      generator, discriminator: networks to train; new ones of the config's
        sizes by default.
      grid: the sampling grid of the sons (``degrade.GRIDS``) when there is no
        degradation (a reloaded model); ``upscale`` uses it.

    ``L_Rec`` is ``losses.pixel_loss`` (L1 in the paper's [-1, 1] units); VGG16
    gets ImageNet-normalised RGB, as its weights expect (docs/method.md section 1).

    Example:
      >>> config = TrainConfig(scale=2)
      >>> model = ZSRGAN(config)
      >>> model.compile()  # the paper's Adam and schedule for both networks
      >>> model.fit(father_son_dataset(lr, config), steps_per_epoch=10, epochs=1)
      >>> sr = model.upscale(lr)
    """

    def __init__(self, config=None, degradation=None, generator=None, discriminator=None,
                 grid="centre", **kwargs):
        # float32: Keras casts a model's inputs to its compute dtype, and the image
        # path stays float32 (the generator's precision is its own, as in training).
        super().__init__(**{**kwargs, "dtype": "float32"})
        self.config = config = config or TrainConfig()
        if degradation is None and config.kernel not in degradation_lib.ESTIMATED:
            degradation = degradation_lib.parse(config.kernel)
        self.degradation = degradation
        self.grid = degradation.grid if degradation else grid
        self.generator = generator or Generator(
            config.g_filters, config.g_depth, block=config.scale if config.subpixel else 1,
            name="generator")
        self.discriminator = discriminator or Discriminator(config.d_filters,
                                                            name="discriminator")
        # The frozen trunk takes the generator's precision (kept by a reloaded model).
        with precision.policy_scope(self.generator.dtype_policy):
            self.vgg = vgg.vgg16_trunk(("block3_conv1",), name="vgg16_relu3_1")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in LOSS_NAMES}
        # Incremented by Python only while train_step is traced: the retrace count.
        self.train_step_traces = 0

    @property
    def scale(self):
        return self.config.scale

    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        """Sets the two optimisers (default: the paper's Adam, ``make_optimizer``).

        Under a ``mixed_float16`` policy they are wrapped in Keras'
        ``LossScaleOptimizer`` (dynamic loss scaling). ``kwargs`` go to
        ``keras.Model.compile`` (e.g. ``jit_compile``; "auto" is XLA on GPUs only).
        ``model.optimizer`` is None: Keras callbacks that set a learning rate
        through it (``LearningRateScheduler``) fail instead of acting on an
        optimiser nothing uses; rates live in ``g_optimizer``/``d_optimizer``.
        """
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = self._loss_scaled(g_optimizer or make_optimizer())
        self.d_optimizer = self._loss_scaled(d_optimizer or make_optimizer())

    def _loss_scaled(self, optimizer):
        if self.generator.dtype_policy.name != "mixed_float16" or isinstance(
            optimizer, keras.optimizers.LossScaleOptimizer
        ):
            return optimizer
        return keras.optimizers.LossScaleOptimizer(optimizer)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def vgg_features(self, rgb):
        """VGG16 relu3_1 features of RGB images in [0, 1], NHWC."""
        return self.vgg(vgg.imagenet_normalize(tf.cast(rgb, tf.float32)))

    def _discriminator_step(self, sr, father):
        with tf.GradientTape() as tape:
            real = self.discriminator(father, training=True)
            fake = self.discriminator(tf.stop_gradient(sr), training=True)
            l_d = losses.discriminator_loss(real, fake)
            scaled = self.d_optimizer.scale_loss(l_d)  # loss scaling under float16
        variables = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return l_d

    def _perceptual_and_adversarial(self, sr, father, training=True):
        """``(L_Percep, L_GAN^G)`` of a batch; a term with weight 0 is 0."""
        l_percep = l_gan = tf.constant(0.0)
        if self.config.lambda_percep:
            l_percep = losses.l1_loss(self.vgg_features(sr),
                                      tf.stop_gradient(self.vgg_features(father)))
        if self.config.lambda_gan:
            l_gan = losses.generator_adversarial_loss(self.discriminator(sr, training=training))
        return l_percep, l_gan

    def train_step(self, data):
        self.train_step_traces += 1
        son, father = data
        l_d = tf.constant(0.0)
        with tf.GradientTape() as tape:
            sr = self.generator(son, training=True)
            if self.config.lambda_gan:
                sr = self._check_discriminator_input(sr)  # both of what D judges
                father = self._check_discriminator_input(father)
                # D is updated first on the same SR (detached), as in the paper's code.
                with tape.stop_recording():
                    l_d = self._discriminator_step(sr, father)
            l_pix = losses.pixel_loss(sr, father)
            l_percep, l_gan = self._perceptual_and_adversarial(sr, father)
            l_g = self._generator_objective(l_pix, l_percep, l_gan)
            scaled = self.g_optimizer.scale_loss(l_g)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return self._log(l_g, l_pix, l_percep, l_gan, l_d)

    def test_step(self, data):
        """The losses of ``train_step`` on a batch, nothing updated (networks in
        inference mode; D's loss on the batch as it stands)."""
        son, father = data
        sr = self.generator(son, training=False)
        l_d = tf.constant(0.0)
        if self.config.lambda_gan:
            sr = self._check_discriminator_input(sr)
            father = self._check_discriminator_input(father)
            l_d = losses.discriminator_loss(self.discriminator(father, training=False),
                                            self.discriminator(sr, training=False))
        l_pix = losses.pixel_loss(sr, father)
        l_percep, l_gan = self._perceptual_and_adversarial(sr, father, training=False)
        l_g = self._generator_objective(l_pix, l_percep, l_gan)
        return self._log(l_g, l_pix, l_percep, l_gan, l_d)

    def _generator_objective(self, l_pix, l_percep, l_gan):
        # 0 during the L1 warm-up, then 1 (a step function of the update count).
        # A multiplication, not tf.cond: XLA cannot pad dynamic crop shapes through a cond.
        c = self.config
        on = tf.cast(self.g_optimizer.iterations >= c.gan_warmup, tf.float32)
        return c.lambda_pix * l_pix + on * (c.lambda_percep * l_percep + c.lambda_gan * l_gan)

    def _log(self, *values):
        """Updates the trackers with ``values`` in ``LOSS_NAMES`` order; the logs."""
        for name, value in zip(LOSS_NAMES, values):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    @staticmethod
    def _check_discriminator_input(images):
        """``images``, once checked to be at least ``Discriminator.MIN_SIDE``: a
        ValueError when the shape is static, else a runtime assertion that runs
        before the discriminator (ignored under XLA)."""
        message = f"the discriminator needs crops of >= {Discriminator.MIN_SIDE} px"
        known = [side for side in images.shape[1:3] if side is not None]
        if known and min(known) < Discriminator.MIN_SIDE:
            raise ValueError(f"crops of {images.shape[1]}x{images.shape[2]} px: {message}")
        if len(known) == 2:
            return images
        check = tf.debugging.assert_greater_equal(tf.reduce_min(tf.shape(images)[1:3]),
                                                  Discriminator.MIN_SIDE, message=message)
        with tf.control_dependencies([check]):
            return tf.identity(images)

    def upscale(self, lr):
        """Super-resolves an LR image: bicubic x``scale`` on ``grid``, then the generator.

        Args:
          lr: float array ``(H, W, 3)`` in [0, 1] (integers: see ``imaging.to_float``).

        Returns:
          float32 numpy array ``(scale * H, scale * W, 3)`` clipped to [0, 1].
        """
        images = tf.convert_to_tensor(imaging.to_float(lr)[None], tf.float32)
        return inference.network(self.generator, self.scale, self.grid)(images)[0].numpy()

    def get_config(self):
        return {
            "name": self.name,
            "config": self.config.to_dict(),
            "grid": self.grid,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("generator", "discriminator"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        config["config"] = TrainConfig.from_dict(config["config"])
        return cls(**config)
