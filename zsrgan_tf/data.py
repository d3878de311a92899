"""Father/son training pairs cut from the test image itself, as a tf.data pipeline.

One training step sees one random "HR father" (the image resized to a random
size, biased toward the original) and its "LR son" (the father downscaled by
the scale factor and upscaled back, both MATLAB bicubic), cropped at the same
place and augmented by the 8 rotations/flips (paper sections 3.1 and 4.2;
docs/method.md section 1).

Everything is TensorFlow ops with stateless random numbers keyed by
``(seed, step)``: the pairs are reproducible whatever the parallelism, and the
pipeline can run on any device. Resizes are matrices (see ``degrade``), so a
crop of the father and of the son is computed directly from the image without
materialising either full image.
"""

import numpy as np
import tensorflow as tf

from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import degrade, imaging, precision
from zsrgan_tf.config import TrainConfig
from zsrgan_tf.models import Discriminator

# The paper's batch: each rotation by 0/90/180/270 degrees as is, flipped
# left-right and flipped up-down: 12 copies, 8 distinct transforms.
_N_COPIES = 12

# Smallest crop side: the discriminator's smallest input.
MIN_CROP = Discriminator.MIN_SIDE


def min_image_side(scale, min_father_side=64):
    """Smallest short side (pixels) an input image needs for training at ``scale``."""
    return -(-min_father_side // scale) * scale


class ImageSizeError(ValueError):
    """The image is too small to train on; the message starts "image is WxH"."""


def check_image_size(height, width, scale, min_father_side=64):
    """Raises ``ImageSizeError`` if the image is too small to train at ``scale``."""
    needed = min_image_side(scale, min_father_side)
    if min(height, width) < needed:
        raise ImageSizeError(
            f"image is {width}x{height} (width x height); x{scale} needs a short side "
            f">= {needed} px"
        )


def father_sizes(height, width, scale, min_father_side=64):
    """Candidate father sizes and their sampling weights.

    Short sides are every multiple of ``scale`` from ``min_father_side`` (rounded
    up) to the image's short side; the long side keeps the aspect ratio and is
    also a multiple of ``scale`` so the son is exactly father / scale.

    Args:
      height, width: input image size in pixels.
      scale: integer SR factor.
      min_father_side: smallest father short side.

    Returns:
      ``(sizes, probs)``: int32 array ``(K, 2)`` of (height, width) and float64
      array ``(K,)`` proportional to the father's area (sizes near the original
      are likelier).

    Raises:
      ImageSizeError: the image is smaller than ``min_image_side``.
    """
    check_image_size(height, width, scale, min_father_side)
    short, long_ = min(height, width), max(height, width)
    first = min_image_side(scale, min_father_side)
    shorts = np.arange(first, short + 1, scale)
    longs = np.round(shorts * long_ / short / scale).astype(int) * scale
    longs = np.minimum(longs, long_ // scale * scale)
    sizes = np.stack([shorts, longs] if height <= width else [longs, shorts], axis=1)
    area = sizes[:, 0].astype(np.float64) * sizes[:, 1]
    return sizes.astype(np.int32), area / area.sum()


def dihedral_copies(crop):
    """The paper's 12 geometric copies of a square crop.

    Args:
      crop: tensor ``(c, c, C)``.

    Returns:
      Tensor ``(12, c, c, C)``: for k = 0..3, rot90^k, then its left-right flip,
      then its up-down flip (8 distinct transforms, 4 of them twice).
    """
    copies = []
    for k in range(4):
        rotated = tf.image.rot90(crop, k)
        copies += [rotated, tf.image.flip_left_right(rotated), tf.image.flip_up_down(rotated)]
    return tf.stack(copies)


def father_crop(image, father_size, corner, crop):
    """A ``crop x crop`` crop at ``corner`` of ``imresize(image, father_size)``,
    computed from the rows of the resize matrices."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    rows = degrade.resize_matrix(height, father_size[0])[corner[0] : corner[0] + crop]
    cols = degrade.resize_matrix(width, father_size[1])[corner[1] : corner[1] + crop]
    return degrade.apply_separable(image, rows, cols)


def _crop_matrices(in_size, father_size, scale, start, crop):
    """Rows ``start:start+crop`` of the father and of the son resize matrices."""
    father = degrade.resize_matrix(in_size, father_size, tf.float64)
    down = degrade.resize_matrix(father_size, father_size // scale, tf.float64)
    up = degrade.resize_matrix(father_size // scale, father_size, tf.float64)
    son = tf.matmul(tf.matmul(up[start : start + crop], down), father)  # cheapest order
    return father[start : start + crop], son


def crop_pair(image, father_size, corner, crop, scale):
    """One father crop and its son crop, computed directly from the image.

    The father is ``imresize(image, father_size)``; the son is the father
    downscaled by ``scale`` and upscaled back (MATLAB bicubic). Both are cropped
    to ``crop x crop`` at ``corner``.

    Args:
      image: float32 tensor ``(H, W, 3)``.
      father_size: ``(father_h, father_w)``, int tensors, multiples of ``scale``.
      corner: ``(top, left)`` of the crop in the father, int tensors.
      crop: crop side, int tensor.
      scale: integer SR factor.

    Returns:
      ``(father, son)``, float32 ``(crop, crop, 3)`` each.
    """
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    father_rows, son_rows = _crop_matrices(height, father_size[0], scale, corner[0], crop)
    father_cols, son_cols = _crop_matrices(width, father_size[1], scale, corner[1], crop)
    return (
        degrade.apply_separable(image, father_rows, father_cols),
        degrade.apply_separable(image, son_rows, son_cols),
    )


# Without a discriminator, fathers may be as small as this many times the scale (the
# generator takes any size; a son is then 8 pixels a side).
_SMALLEST_SON = 8


def min_father_side(config, shape):
    """The smallest father short side for an LR image of ``shape`` (H, W, ...):
    ``config.min_father_side``, or, when no discriminator is trained
    (``lambda_gan`` 0), down to the image's own short side (a multiple of the
    scale, at least ``_SMALLEST_SON`` times it), so small images train too. An
    image at least ``config.min_father_side`` on its short side samples the same
    fathers either way."""
    if config.lambda_gan:
        return config.min_father_side
    short = min(shape[:2]) // config.scale * config.scale
    return max(_SMALLEST_SON * config.scale, min(config.min_father_side, short))


def father_son_dataset(image, config=None, degradation=None, start=0, crop_multiple=None):
    """An endless dataset of ``(son, father)`` training batches from one image.

    Args:
      image: the low-resolution test image, array ``(H, W, 3)``, float in [0, 1]
        (uint8 is divided by 255).
      config: a ``TrainConfig`` (default: the paper's settings). The pipeline uses
        its ``scale``, ``crop_size`` (the father's short side when smaller),
        ``batch_size`` (copies of the crop, drawn from the paper's 12 geometric
        copies in random order: 12 gives all of them), ``noise_sigma`` (Gaussian
        noise on each son copy, [0, 1] units), ``seed`` (batch ``i`` depends only
        on ``(seed, i)``) and the smallest father (``min_father_side``; crops are
        at least that, or ``MIN_CROP`` when smaller, rounded up to ``crop_multiple``).
      degradation: how sons are made from fathers, a ``degradation.Degradation``;
        None or plain ``bicubic``: the paper's sons (MATLAB bicubic down and up,
        computed from the whole father and cropped). Any other: each geometric
        copy of the father crop is degraded (``Degradation.degrade``: blur,
        resampling, noise, JPEG, mirrored borders) and upscaled by bicubic on
        the degradation's grid. Crop sides are then multiples of ``scale``.
      start: index of the first batch (to resume a run at that step).
      crop_multiple: round the crop side down to a multiple of this (1: the
        paper's exact sides), or up to the smallest multiple >= ``MIN_CROP``
        (64) when it would fall below; fathers smaller than that multiple are
        not sampled, so the image needs a short side at least that large.
        With 16, at most 5 crop shapes occur (64-128), so XLA, which compiles
        once per shape, compiles at most 5 times.
        None: 16 where Keras turns XLA on by default (GPUs), else 1.

    Returns:
      ``tf.data.Dataset`` of ``(son, father)``, each float32 ``(batch_size, c, c, 3)``;
      ``c`` may vary between batches. The son is the generator's input (already
      at father size) and the father its target; fathers are in [0, 1] up to
      bicubic overshoot, sons also carry the noise.
    """
    config = config or TrainConfig()
    scale, crop_size, batch_size = config.scale, config.crop_size, config.batch_size
    noise_sigma, seed = config.noise_sigma, config.seed
    if crop_multiple is None:
        crop_multiple = precision.XLA_CROP_MULTIPLE if precision.use_xla() else 1
    explicit = degradation is not None and degradation.spec != degradation_lib.BICUBIC
    if explicit:  # sons of crop / scale pixels
        crop_multiple = int(np.lcm(crop_multiple, scale))
    smallest_father = min_father_side(config, np.shape(image))
    # The smallest multiple of crop_multiple that is >= MIN_CROP (or the smallest father
    # when that is below it); smaller fathers are not sampled (at x3 with XLA, 96: a crop
    # of 64 would round down below the minimum).
    smallest = -(-min(MIN_CROP, smallest_father) // crop_multiple) * crop_multiple
    image = tf.constant(imaging.to_float(image))
    height, width = int(image.shape[0]), int(image.shape[1])
    sizes, probs = father_sizes(height, width, scale, max(smallest_father, smallest))
    sizes = tf.constant(sizes)
    logits = tf.constant(np.log(probs)[None, :], tf.float32)

    def sample(step):
        seeds = tf.random.experimental.stateless_split(
            tf.stack([tf.cast(seed, tf.int64), step]), 5
        )
        pick = tf.random.stateless_categorical(logits, 1, seeds[0], dtype=tf.int32)[0, 0]
        father_h, father_w = sizes[pick, 0], sizes[pick, 1]
        crop = tf.minimum(crop_size, tf.minimum(father_h, father_w)) // crop_multiple * crop_multiple
        crop = tf.maximum(crop, smallest)  # <= the father: fathers are >= smallest
        top = tf.random.stateless_uniform(
            [], seeds[1], minval=0, maxval=father_h - crop + 1, dtype=tf.int32
        )
        left = tf.random.stateless_uniform(
            [], seeds[2], minval=0, maxval=father_w - crop + 1, dtype=tf.int32
        )
        order = tf.argsort(tf.random.stateless_uniform([_N_COPIES], seeds[3]))
        order = tf.gather(order, tf.range(batch_size) % _N_COPIES)
        if not explicit:
            father, son = crop_pair(image, (father_h, father_w), (top, left), crop, scale)
            father = tf.gather(dihedral_copies(father), order)
            son = tf.gather(dihedral_copies(son), order)
        else:
            # Sons from the transformed fathers: a flip moves the kept pixels 0, s, 2s, ...
            father = father_crop(image, (father_h, father_w), (top, left), crop)
            father = tf.gather(dihedral_copies(father), order)
            # The sons' own noise: a stream folded from the last seed, so the
            # other streams are those of the paper's sons.
            noise_seed = tf.random.experimental.stateless_fold_in(seeds[4], 1)
            son = degradation.interpolate(degradation.degrade(father, scale, noise_seed), scale)
        son += noise_sigma * tf.random.stateless_normal(tf.shape(son), seeds[4])
        return son, father

    return (
        tf.data.Dataset.range(start, np.iinfo(np.int64).max)
        .map(sample, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
