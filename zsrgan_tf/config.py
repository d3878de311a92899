"""Every training setting in one frozen dataclass, and the named presets."""

import dataclasses

SCALES = (2, 3, 4)
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# Settings of earlier versions that are now fixed, with the value the code uses:
# a stored config that holds one of them at this value describes the same run.
FORMER_SETTINGS = {"lr_decay_factor": 0.1, "d_loss_weight": 0.5, "perceptual": "relu3_1",
                   "gan_target": "son", "vgg_normalize": True}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of one per-image training run.

    Defaults are the paper's (sections 3-4, and its public code; docs/method.md
    section 1). Image values are float32 in [0, 1] throughout, so
    ``noise_sigma`` 0.05 is the paper's sigma 0.1 in [-1, 1] units.

    Attributes:
      scale: integer super-resolution factor, one of ``SCALES``.
      iterations: number of training steps (one D update + one G update each).
      crop_size: side of the square father/son crops; the short side of the
        father is used when it is smaller.
      batch_size: geometric copies of one crop per step (the paper: 12).
      min_father_side: smallest short side of a random father (the
        discriminator needs >= 64).
      noise_sigma: std of the Gaussian noise added to the son, [0, 1] units.
      learning_rate: initial Adam learning rate, both networks.
      beta_1, beta_2: Adam moments, both networks.
      lr_halve_every: halve the learning rate after every this many steps
        (the paper's schedule; used when ``lr_decay_steps`` is empty).
      lr_decay_steps: steps after which the learning rate is divided by 10
        (ZSSR's drops, e.g. (1000, 1300)); replaces halving.
      adaptive_lr: ZSSR's rule instead of a fixed schedule: the rate is divided
        by 10 when the reconstruction error of the image from its own son stops
        falling, and training stops below 9e-6 (``callbacks.AdaptiveLearningRate``);
        ``iterations`` is then the maximum.
      lambda_pix, lambda_percep, lambda_gan: generator loss weights (pixel L1,
        VGG16 relu3_1 L1, adversarial), >= 0; 0 skips the term (and, for the
        adversarial one, the discriminator).
      gan_warmup: the generator's perceptual and adversarial terms count only from
        this step on (an L1 warm-up; 0: from the start, as the paper). The
        discriminator trains throughout.
      subpixel: the generator's convolutions work at the LR resolution
        (``models.Generator`` with ``block = scale``: space-to-depth in,
        depth-to-space out, ESPCN's sub-pixel convolution): 1/scale^2 of the
        generator's FLOPs. False: the paper's net at the output resolution.
      g_filters, g_depth: the generator's hidden channels and number of
        convolutions (the paper: 64 and 8; ``models.Generator``).
      d_filters: the discriminator's first-layer channels, doubled at each of
        its 4 layers (the paper: 64; ``models.Discriminator``).
      kernel: the degradation spec the sons are made with (``degradation``):
        "bicubic" (the paper: MATLAB bicubic down and up), "gaussian:COV" or a
        kernel file (blur with it and keep pixels 0, s, 2s, ...: kernel-aware
        sons, on the "corner" grid), a blur followed by "+bicubic", "+noise:N",
        "+jpeg:Q"; or an estimated one (``estimate.resolve``): "auto" (the whole
        model from the image), "blind" (a Gaussian on the corner grid) or
        "blind:aniso" (an anisotropic one). Results record the resolved spec.
      gradual: at x4 with plain bicubic sons, two x2 steps instead of one x4
        (ZSSR's gradual increase of the scale factor): a network trained on
        the image upscales it x2, a second one trained on that output upscales
        it x2 again (``gradual``); about twice the time.
      ensemble: at inference, the median over the 8 rotations/flips (ZSSR), or
        over those that leave an anisotropic kernel unchanged
        (``inference.kernel_symmetries``).
      back_projection: at inference, this many back-projection steps with the
        degradation's blur and resampling (ZSSR); skipped when the degradation
        has noise or JPEG, which an output consistent with its input would keep.
      seed: seeds weight init and the father/son sampler.
      precision: "auto" (by device, see ``precision``), "float32",
        "mixed_bfloat16" or "mixed_float16". An execution setting, not part of
        the method: "float32" reproduces the paper's arithmetic.
    """

    scale: int = 2
    iterations: int = 2000
    crop_size: int = 128
    batch_size: int = 12
    min_father_side: int = 64
    noise_sigma: float = 0.05
    learning_rate: float = 1e-3
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_halve_every: int = 500
    lr_decay_steps: tuple = ()
    adaptive_lr: bool = False
    lambda_pix: float = 1.0
    lambda_percep: float = 1.0
    lambda_gan: float = 1.0
    gan_warmup: int = 0
    subpixel: bool = False
    g_filters: int = 64
    g_depth: int = 8
    d_filters: int = 64
    kernel: str = "bicubic"
    gradual: bool = False
    ensemble: bool = False
    back_projection: int = 0
    seed: int = 0
    precision: str = "auto"

    def __post_init__(self):
        # JSON gives lists; keep a tuple so configs compare and hash alike.
        object.__setattr__(self, "lr_decay_steps", tuple(int(s) for s in self.lr_decay_steps))
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale}")
        if self.iterations < 1 or self.batch_size < 1 or self.lr_halve_every < 1:
            raise ValueError("iterations, batch_size and lr_halve_every must be >= 1")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if min(self.lambda_pix, self.lambda_percep, self.lambda_gan) < 0:
            raise ValueError("lambda_pix, lambda_percep and lambda_gan must be >= 0")
        if self.min_father_side < 64 or self.crop_size < self.min_father_side:
            raise ValueError("need 64 <= min_father_side <= crop_size")
        if list(self.lr_decay_steps) != sorted(set(self.lr_decay_steps)):
            raise ValueError("lr_decay_steps must be increasing")
        if min(self.g_filters, self.g_depth, self.d_filters) < 1:
            raise ValueError("g_filters, g_depth and d_filters must be >= 1")
        if self.back_projection < 0:
            raise ValueError("back_projection must be >= 0")

    def replace(self, **changes):
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The settings as JSON types (tuples become lists); ``from_dict`` inverts it."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, settings):
        """The config of ``to_dict``'s output, also of an earlier version's: its
        ``FORMER_SETTINGS`` are accepted at the value the code now uses.

        Raises:
          ValueError: a former setting at another value (a run this version cannot
            reproduce), or a setting that never existed.
        """
        settings = without_former_settings(settings)
        former = sorted(FORMER_SETTINGS.keys() & settings.keys())
        if former:
            raise ValueError(f"settings {former} are supported only at "
                             f"{ {k: FORMER_SETTINGS[k] for k in former} }")
        unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown settings {unknown}")
        return cls(**settings)


def without_former_settings(settings):
    """A settings dict without the ``FORMER_SETTINGS`` it holds at the value the
    code now uses (a former setting at another value stays: it is another run)."""
    return {k: v for k, v in settings.items()
            if k not in FORMER_SETTINGS or FORMER_SETTINGS[k] != v}


PRESETS = {
    # The paper, exactly: 2000 steps of 12 x 128x128, lr halved every 500.
    "paper": TrainConfig(),
    # The paper's losses and sampler on 4 x 64x64 crops, 300 steps, lr halved
    # every 75 (the same four-stage schedule, compressed): the shortest schedule
    # tried whose final PSNR-Y on Set5 baby and butterfly is at most 0.2 dB below
    # the paper preset's (docs/history.md, "Time to quality: the default
    # preset"). Then ZSSR's 10 back-projection steps (bicubic degradation), which
    # the paper does not do (docs/results.md, "Test-time options of the
    # bicubic-son presets").
    "fast": TrainConfig(iterations=300, crop_size=64, batch_size=4, lr_halve_every=75,
                        back_projection=10),
    # ZSSR's recipe (docs/method.md section 3): L1 only, one 128x128 crop
    # per step, no noise, Adam 1e-3 (default betas) divided by 10 at 1000 and
    # 1300 of 1500 steps; 8-transform median ensemble and 10 back-projection
    # steps. Kernel-aware with --kernel; bicubic sons otherwise.
    "zssr": TrainConfig(iterations=1500, crop_size=128, batch_size=1, noise_sigma=0.0,
                        beta_1=0.9, lambda_percep=0.0, lambda_gan=0.0,
                        lr_decay_steps=(1000, 1300), ensemble=True, back_projection=10),
    # Blind: the zssr recipe on sons made with a Gaussian estimated from the
    # image itself (``blind``), on the 600-step schedule (lr /10 after 400 and
    # 520), which costs 0.14 dB against 1500 steps with the true kernel
    # (docs/history.md, "Kernel-aware super-resolution"). ZSSR's net, not the
    # sub-pixel one: that matches it
    # with the true kernel but loses 0.4-0.8 dB to an overestimated kernel.
    "blind": TrainConfig(iterations=600, crop_size=128, batch_size=1, noise_sigma=0.0,
                         beta_1=0.9, lambda_percep=0.0, lambda_gan=0.0,
                         lr_decay_steps=(400, 520), ensemble=True, back_projection=10,
                         kernel="blind"),
}
# The zssr recipe with the sub-pixel generator (the same 8 convolutions on the
# LR grid, 1/4 of the FLOPs). With the true g20 kernel on Set5
# (docs/results.md, "Kernel-aware and blind presets"): 36.04 dB trained in
# float32, 36.11-36.19 over 3 seeds
# trained in bf16, in about 40 s per image on a 2-core CPU with AVX512-BF16.
PRESETS["zssr-subpixel"] = PRESETS["zssr"].replace(subpixel=True)
# The default: the zssr-subpixel recipe on sons made the way the input was
# (``estimate.auto``: bicubic, a blur kernel, JPEG, noise, read from the image),
# x4 in two x2 steps when the sons are bicubic (docs/degradations.md).
PRESETS["auto"] = PRESETS["zssr-subpixel"].replace(kernel="auto", gradual=True)


def parse_overrides(text):
    """``"key=value,key=value"`` -> a dict of typed ``TrainConfig`` settings.

    Booleans are ``True``/``False``; tuples (``lr_decay_steps``) are written
    with ``/`` between items, e.g. ``lr_decay_steps=1000/1300``.

    Raises:
      ValueError: unknown setting or a value of the wrong type.
    """
    types = {f.name: f.type for f in dataclasses.fields(TrainConfig)}
    changes = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in types:
            raise ValueError(f"unknown setting {key!r}; known: {', '.join(types)}")
        kind = types[key]
        if kind is bool:
            if value not in ("True", "False"):
                raise ValueError(f"{key}={value}: expected True or False")
            changes[key] = value == "True"
        elif kind is tuple:
            changes[key] = tuple(int(v) for v in filter(None, value.split("/")))
        else:
            changes[key] = kind(value)
    return changes


def preset(name, **overrides):
    """The named preset with ``overrides`` applied.

    Raises:
      KeyError: unknown preset name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides)
