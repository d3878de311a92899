"""The degradation model: how an LR image was made from its unknown HR image.

One ``Degradation`` says everything the method assumes about the input: the
blur, the resampling (which fixes the sampling grid), additive noise and JPEG
compression. It is resolved once from a ``--kernel`` spec (and, for the
estimated specs, from the image; ``estimate``) and then taken by everything
that needs it: the sons are made with it (``degrade``, in ``data``), and
back-projection, LR-PSNR, the self-ensemble and the exports use its linear
part (``downscale``) and its grid.

Spec grammar: stages joined by ``+`` in the order they act on the HR image,
``[BLUR][+bicubic][+noise:LEVEL][+jpeg:QUALITY]``:

- ``bicubic``: MATLAB's antialiased ``imresize`` by 1/scale (the paper's sons;
  the classic "BI" benchmark). Pixel centres at half-integers: the "centre" grid.
- ``gaussian:COV`` / ``gaussian:MAJOR,MINOR,ANGLE`` / a ``.npy``/``.mat`` file
  (``kernels.parse``): a blur. Alone, it is followed by direct subsampling
  (keep pixels 0, s, 2s, ...: MZSR's g^d kernels and the g20 test sets; LR
  pixel k is HR pixel s*k, the "corner" grid); followed by ``bicubic``, the
  blurred image is resized by ``imresize`` (MZSR's g^b; the centre grid).
- ``noise:LEVEL``: additive white Gaussian noise of standard deviation LEVEL
  grey levels of 255 (e.g. ``noise:5``), added to the LR image.
- ``jpeg:QUALITY``: JPEG compression of the LR image at QUALITY (1-100, the IJG
  scale libjpeg, Pillow and cameras use; 4:2:0 chroma).

Examples: ``bicubic``, ``gaussian:2.0`` (g20), ``gaussian:1.3+bicubic``,
``gaussian:0.64+bicubic+jpeg:75`` (a camera-like chain), ``gaussian:2.0+noise:5``.

The grid of a blur cannot be read from an image: shifting the unknown HR image
by half a pixel gives LR images with the same statistics. It is a convention,
and the spec states it: a blur alone means the corner grid of blur-kernel
benchmarks, ``+bicubic`` the centre grid of every resizing tool.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from zsrgan_tf import degrade, kernels

BICUBIC = "bicubic"
AUTO = "auto"
# Specs resolved from the image (``estimate.resolve``).
ESTIMATED = (AUTO, *kernels.BLIND_SPECS)
# Noise levels are written in grey levels of this peak (the 8-bit range).
LEVELS = 255.0


@dataclasses.dataclass(frozen=True, eq=False)
class Degradation:
    """A resolved degradation (see the module docstring).

    Attributes:
      spec: the canonical spec text (recorded in config.json; ``parse`` of it
        gives this object back).
      blur: float64 ``(n, n)`` kernel on the HR grid (n odd, sums to 1), or None.
      bicubic: the resampling is MATLAB's antialiased ``imresize`` (centre grid);
        False: direct subsampling after ``blur`` (corner grid).
      noise: standard deviation of the additive noise, [0, 1] units.
      jpeg: JPEG quality (1-100), or None.
    """

    spec: str
    blur: np.ndarray = None
    bicubic: bool = False
    noise: float = 0.0
    jpeg: int = None

    def __eq__(self, other):
        return isinstance(other, Degradation) and self.spec == other.spec

    def __hash__(self):
        return hash(self.spec)

    @property
    def grid(self):
        """The sampling grid (``degrade.GRIDS``) of LR pixels on the HR grid."""
        return "centre" if self.bicubic else "corner"

    @property
    def linear(self):
        """True when the degradation is blur and resampling only (no noise, no JPEG):
        then an SR image can be made exactly consistent with its input
        (back-projection)."""
        return self.noise == 0 and self.jpeg is None

    def downscale(self, images, scale):
        """The linear part: blur and resample (no noise, no JPEG).

        Args:
          images: float tensor ``(H, W, C)`` or ``(N, H, W, C)``, float32 or
            float64; H and W multiples of ``scale``.
          scale: integer factor.

        Returns:
          Tensor ``(H / scale, W / scale, C)`` (or batched), dtype of ``images``,
          not clipped.
        """
        images = tf.convert_to_tensor(images)
        if not self.bicubic:
            return degrade.blur_subsample(images, self.blur, scale)
        if self.blur is not None:
            images = degrade.blur_subsample(images, self.blur, 1)
        return degrade.downscale_bicubic(images, scale)

    def degrade(self, images, scale, seed):
        """The whole degradation, for making sons: ``downscale``, then noise, then
        rounding to 8 bits and JPEG when the spec has them.

        Args:
          images: float32 ``(N, H, W, 3)`` in [0, 1]; H, W multiples of ``scale``.
          scale: integer factor.
          seed: stateless seed, int tensor ``(2,)`` (the noise).

        Returns:
          float32 ``(N, H / scale, W / scale, 3)``: in [0, 1] (and on the 8-bit
          grid) when it has noise or JPEG, else the linear part unclipped.
        """
        lr = self.downscale(tf.cast(images, tf.float32), scale)
        if self.linear:
            return lr
        if self.noise:
            lr += self.noise * tf.random.stateless_normal(tf.shape(lr), seed)
        levels = tf.round(tf.clip_by_value(lr, 0.0, 1.0) * LEVELS)
        if self.jpeg is None:
            return levels / LEVELS
        quality = self.jpeg

        def compress(image):
            data = tf.io.encode_jpeg(tf.cast(image, tf.uint8), quality=quality)
            # The accurate inverse DCT: libjpeg's default, what Pillow decodes with.
            return tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")

        compressed = tf.map_fn(compress, levels, fn_output_signature=tf.uint8)
        return tf.cast(compressed, tf.float32) / LEVELS

    def interpolate(self, images, scale):
        """Bicubic interpolation x``scale`` on this degradation's grid (the
        generator's input; back-projection's ``up``)."""
        return degrade.upscale_bicubic(images, scale, self.grid)

    def symmetries(self):
        """The ``DIHEDRAL`` transforms that leave the blur unchanged: all 8 without
        a blur or for an isotropic one; 4 for an anisotropic Gaussian on an axis
        or a diagonal, 2 (identity and 180 degrees) otherwise. The network learnt
        the image's own blur; a flipped or rotated image carries a flipped or
        rotated blur, so only these give it inputs like the ones it learnt."""
        if self.blur is None:
            return DIHEDRAL
        peak = np.abs(self.blur).max()
        return tuple(t for t in DIHEDRAL
                     if np.abs(transform(self.blur, t) - self.blur).max() <= 1e-6 * peak)


# The 8 dihedral transforms of an image as (transpose, flip rows, flip columns).
DIHEDRAL = tuple((t, r, c) for t in (False, True) for r in (False, True) for c in (False, True))


def transform(image, dihedral):
    """``image`` (an array ``(H, W, ...)``) under one of ``DIHEDRAL``: transposed
    first, then flipped."""
    transpose, flip_rows, flip_cols = dihedral
    out = np.swapaxes(image, 0, 1) if transpose else image
    if flip_rows:
        out = out[::-1]
    if flip_cols:
        out = out[:, ::-1]
    return out


def _number(text, stage):
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise kernels.KernelError(f"{stage}: expected a number")
    return value


def _stage(stage):
    """``(rank, canonical text, field, value)`` of one stage of a spec."""
    name, _, value = stage.partition(":")
    if stage == BICUBIC:
        return 1, BICUBIC, "bicubic", True
    if name == "noise":
        level = _number(value, stage)
        if not 0 < level <= 100:
            raise kernels.KernelError(f"{stage}: the noise level must be in (0, 100] grey "
                                      "levels of 255")
        return 2, f"noise:{level:g}", "noise", level / LEVELS
    if name == "jpeg":
        quality = _number(value, stage)
        if quality != int(quality) or not 1 <= quality <= 100:
            raise kernels.KernelError(f"{stage}: the JPEG quality must be an integer in 1-100")
        return 3, f"jpeg:{int(quality)}", "jpeg", int(quality)
    return 0, stage, "blur", kernels.parse(stage)


def parse(spec):
    """The ``Degradation`` a spec names (module docstring); not ``ESTIMATED`` ones.

    Raises:
      kernels.KernelError: a one-line message naming the spec or file and the problem.
    """
    if spec in ESTIMATED:
        raise kernels.KernelError(f"{spec}: estimated from the image; resolve it with "
                                  "zsrgan_tf.estimate.resolve first")
    # A kernel file whose name holds a '+' is one stage.
    stages = [_stage(s) for s in ([spec] if os.path.exists(spec) else spec.split("+"))]
    ranks = [rank for rank, *_ in stages]
    if ranks != sorted(set(ranks)):
        raise kernels.KernelError(f"{spec}: stages must come once each, in the order "
                                  "BLUR+bicubic+noise:LEVEL+jpeg:QUALITY")
    fields = {field: value for _, _, field, value in stages}
    if "blur" not in fields and "bicubic" not in fields:
        raise kernels.KernelError(f"{spec}: name the resampling: bicubic, or a blur "
                                  "(followed by direct subsampling)")
    return Degradation("+".join(text for _, text, _, _ in stages), **fields)


def check(spec):
    """Raises ``kernels.KernelError`` for a spec ``parse`` would refuse; the
    estimated specs are valid (they need the image). For checking flags early."""
    if spec not in ESTIMATED:
        parse(spec)
