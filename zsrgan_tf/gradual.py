"""x4 in two x2 steps: ZSSR's gradual increase of the scale factor.

ZSSR (A. Shocher, N. Cohen, M. Irani, CVPR 2018) reaches large factors through
smaller ones: the output of each step is the input of the next, so every
network learns a factor whose sons still hold enough of the image. A bicubic
x4 reduction is close to two bicubic x2 ones, so with bicubic sons a x4 run is
two x2 runs (``TrainConfig.gradual``). A blur kernel with direct subsampling at
x4 has no such split into x2 steps, nor have noise and JPEG (the first step's
output carries neither), so those runs keep one step.
"""

STEP = 2  # the scale of each step


def steps(config, degradation):
    """The scale of each training step of a run, in order.

    Args:
      config: the run's ``TrainConfig`` (``gradual``, ``scale``).
      degradation: its resolved ``degradation.Degradation``.

    Returns:
      ``(2, 2)`` for a gradual x4 run with plain bicubic sons, else ``(scale,)``.
    """
    if config.gradual and config.scale == STEP**2 and degradation.spec == "bicubic":
        return (STEP, STEP)
    return (config.scale,)
