"""Every training setting in one frozen dataclass, and the named presets."""

import dataclasses

SCALES = (2, 3, 4)
PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Settings of one per-image training run.

    Defaults are the paper's (section 3-4; the paper's code as described in
    REFERENCE.md section 1). Image values are float32 in [0, 1] throughout, so
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
      lr_halve_every: halve the learning rate after every this many steps.
      lambda_pix, lambda_percep, lambda_gan: generator loss weights.
      d_loss_weight: factor on the discriminator's BCE loss.
      vgg_normalize: feed VGG ImageNet-normalised RGB (True; the torchvision
        weights expect it) or the paper code's un-normalised input (False).
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
    lambda_pix: float = 1.0
    lambda_percep: float = 1.0
    lambda_gan: float = 1.0
    d_loss_weight: float = 0.5
    vgg_normalize: bool = True
    seed: int = 0
    precision: str = "auto"

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale}")
        if self.iterations < 1 or self.batch_size < 1 or self.lr_halve_every < 1:
            raise ValueError("iterations, batch_size and lr_halve_every must be >= 1")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed must be in [0, 2**32), got {self.seed}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.min_father_side < 64 or self.crop_size < self.min_father_side:
            raise ValueError("need 64 <= min_father_side <= crop_size")

    def replace(self, **changes):
        """A copy with some settings changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        return dataclasses.asdict(self)


PRESETS = {
    # The paper, exactly: 2000 steps of 12 x 128x128, lr halved every 500.
    "paper": TrainConfig(),
    # The CPU demo: the paper's losses and sampler on 4 x 64x64 crops, 600
    # steps, lr halved every 150 (the same four-stage schedule, compressed).
    "cpu": TrainConfig(iterations=600, crop_size=64, batch_size=4, lr_halve_every=150),
}


def preset(name, **overrides):
    """The named preset with ``overrides`` applied.

    Raises:
      KeyError: unknown preset name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides)
