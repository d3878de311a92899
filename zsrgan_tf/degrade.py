"""Resampling: MATLAB-exact bicubic, and the blur-and-subsample degradation.

MATLAB's ``imresize(..., 'bicubic')`` is linear and separable, so resizing an
image of ``in_size`` pixels along one axis to ``out_size`` pixels is a
``(out_size, in_size)`` matrix ``R`` applied along that axis:
``out = R_h @ image @ R_w^T`` per channel. Building ``R`` with TensorFlow ops
keeps sizes dynamic (usable inside ``tf.data`` and on any device), and chained
resizes compose by matrix product, so a crop of ``up(down(resize(image)))`` is
computed exactly from the rows of one small matrix.

Conventions (MATLAB ``imresize``, Keys cubic with a = -0.5):
- pixel centres are at half-integers: output pixel ``x`` (1-based) samples the
  input at ``u = x / s + 0.5 * (1 - 1 / s)`` where ``s = out_size / in_size``;
- when downscaling (``s < 1``) the kernel is stretched by ``1 / s`` (antialias);
- taps beyond the border are mirrored with the edge pixel repeated
  (``symmetric`` padding); each row of weights sums to 1.
"""

import math

import tensorflow as tf


def cubic(x):
    """Keys cubic convolution kernel (a = -0.5), MATLAB's ``bicubic``.

    Args:
      x: float tensor of distances in input pixels.

    Returns:
      Kernel weights, same shape and dtype as ``x``; support is |x| < 2.
    """
    ax = tf.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    near = 1.5 * ax3 - 2.5 * ax2 + 1.0
    far = -0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0
    return tf.where(ax <= 1.0, near, tf.where(ax < 2.0, far, tf.zeros_like(ax)))


def resize_matrix(in_size, out_size, dtype=tf.float32):
    """The ``(out_size, in_size)`` matrix of MATLAB ``imresize`` bicubic along one axis.

    Args:
      in_size: int or scalar int tensor, input length (>= 1).
      out_size: int or scalar int tensor, output length (>= 1). The scale is
        ``out_size / in_size``, as MATLAB uses when given an output size.
      dtype: dtype of the returned matrix. Weights are computed in float64.

    Returns:
      Tensor ``(out_size, in_size)``; each row sums to 1.
    """
    in_size = tf.cast(in_size, tf.int32)
    out_size = tf.cast(out_size, tf.int32)
    scale = tf.cast(out_size, tf.float64) / tf.cast(in_size, tf.float64)
    # Antialiasing: when shrinking, stretch the kernel by 1/scale.
    stretch = tf.maximum(1.0 / scale, 1.0)
    kernel_width = 4.0 * stretch
    x = tf.range(1, out_size + 1, dtype=tf.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = tf.floor(u - kernel_width / 2.0)
    taps = tf.cast(tf.math.ceil(kernel_width), tf.int32) + 2
    index = left[:, None] + tf.range(taps, dtype=tf.float64)[None, :]  # 1-based
    weights = cubic((u[:, None] - index) / stretch) / stretch
    weights = weights / tf.reduce_sum(weights, axis=1, keepdims=True)
    zero_based = symmetric_index(tf.cast(index, tf.int32) - 1, in_size)
    # Scatter the taps into a dense (out, in) matrix; repeated indices add up.
    rows = tf.broadcast_to(tf.range(out_size)[:, None], tf.shape(zero_based))
    matrix = tf.scatter_nd(
        tf.stack([rows, zero_based], axis=-1), weights, tf.stack([out_size, in_size])
    )
    return tf.cast(matrix, dtype)


def symmetric_index(index, size):
    """Folds 0-based indices into ``[0, size)`` by MATLAB's ``symmetric`` rule:
    0..n-1, n-1..0, 0..n-1, ... (edge pixel repeated), for any offset.

    Args:
      index: int32 tensor of indices, any shape, any values.
      size: int or scalar int32 tensor, the axis length (>= 1).

    Returns:
      int32 tensor like ``index`` with values in ``[0, size)``.
    """
    period = 2 * size
    folded = tf.math.floormod(index, period)
    return tf.where(folded < size, folded, period - 1 - folded)


def symmetric_extend(images, before, after, axes=(1, 2)):
    """Extends ``images`` along ``axes`` by MATLAB's ``symmetric`` rule (edge
    pixel repeated), any amount, with ``tf.gather``: what ``tf.pad(mode=
    "SYMMETRIC")`` does for pads up to the axis length, without that limit,
    and several times faster in TFLite (its MIRROR_PAD kernel is slow).

    Args:
      images: tensor ``(N, H, W, C)``.
      before, after: pixels added before index 0 and after the last.
      axes: the axes extended.

    Returns:
      Tensor like ``images``, each axis in ``axes`` longer by ``before + after``.
    """
    for axis in axes:
        size = tf.shape(images)[axis]
        images = tf.gather(images, symmetric_index(tf.range(-before, size + after), size),
                           axis=axis)
    return images


def apply_separable(image, rows, cols):
    """Applies ``rows @ image @ cols^T`` to every channel.

    Args:
      image: float tensor ``(H, W, C)`` or ``(N, H, W, C)``.
      rows: ``(H_out, H)`` matrix acting on the height axis.
      cols: ``(W_out, W)`` matrix acting on the width axis.

    Returns:
      Tensor ``(H_out, W_out, C)`` or ``(N, H_out, W_out, C)``, dtype of ``image``.
    """
    rows = tf.cast(rows, image.dtype)
    cols = tf.cast(cols, image.dtype)
    if image.shape.rank == 3:
        out = tf.einsum("oh,hwc->owc", rows, image)
        return tf.einsum("pw,owc->opc", cols, out)
    out = tf.einsum("oh,nhwc->nowc", rows, image)
    return tf.einsum("pw,nowc->nopc", cols, out)


def imresize(image, size):
    """MATLAB-exact bicubic resize to ``size`` (antialiased when shrinking).

    Args:
      image: float tensor ``(H, W, C)`` or ``(N, H, W, C)``, any range (linear op).
      size: ``(out_h, out_w)`` ints or an int tensor of shape (2,).

    Returns:
      Resized float tensor with the same rank and dtype, values not clipped.
    """
    image = tf.convert_to_tensor(image)
    shape = tf.shape(image)
    h, w = shape[-3], shape[-2]
    return apply_separable(image, resize_matrix(h, size[0]), resize_matrix(w, size[1]))


# Where the pixels of an integer upscale sit relative to the LR pixels:
# - "centre": pixel centres at half-integers (MATLAB imresize, tf.image.resize,
#   the paper's bicubic sons): output pixel s*k + p samples the input at
#   k + (p + 0.5) / s - 0.5.
# - "corner": LR pixel k is HR pixel s*k, the grid of images made by blurring and
#   keeping pixels 0, s, 2s, ... (``blur_subsample``; the g20 test sets):
#   output pixel s*k + p samples the input at k + p / s.
GRIDS = ("centre", "corner")
# Input taps each side of an output phase's source pixel: its offset lies in
# (-0.5, 1) and the cubic reaches 2 pixels, so pixels k-2 .. k+2 suffice.
_TAPS = 2


def phase_weights(scale, grid="centre"):
    """Keys cubic weights of each output phase of an integer upscale.

    Args:
      scale: integer factor >= 1.
      grid: one of ``GRIDS``.

    Returns:
      float64 tensor ``(scale, 5)``: row ``p`` weights input pixels ``k-2 .. k+2``
      for output pixel ``scale*k + p``; rows sum to 1.
    """
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
    p = tf.range(scale, dtype=tf.float64)
    offsets = (p + 0.5) / scale - 0.5 if grid == "centre" else p / scale
    taps = tf.range(-_TAPS, _TAPS + 1, dtype=tf.float64)
    weights = cubic(offsets[:, None] - taps[None, :])
    return weights / tf.reduce_sum(weights, axis=1, keepdims=True)


def upscale_bicubic(image, scale, grid="centre"):
    """Bicubic (Keys, a = -0.5) upscaling by an integer ``scale``.

    With ``grid="centre"`` this is MATLAB's ``imresize(image, scale, 'bicubic')``
    exactly, borders included. Computed as a polyphase filter from TFLite
    builtin ops, so the same graph trains, infers and exports:
    symmetric extension by 2 (MATLAB's border rule: mirror with the edge pixel
    repeated), one fixed 5x5 convolution with ``scale**2`` phases per channel,
    ``depth_to_space``. O(pixels), any size.

    Args:
      image: float tensor ``(H, W, C)`` or ``(N, H, W, C)``, values in [0, 1].
      scale: integer upscaling factor (2, 3, 4, ...).
      grid: one of ``GRIDS``: "centre" (MATLAB, the paper) or "corner" (LR
        pixel k at HR pixel scale*k, for kernel-aware sons).

    Returns:
      float32 tensor of spatial size ``(scale * H, scale * W)``, not clipped.
    """
    image = tf.convert_to_tensor(image, tf.float32)
    batched = image if image.shape.rank == 4 else image[None]
    channels = batched.shape[-1]
    w = tf.cast(phase_weights(scale, grid), tf.float32)
    # Output channel (py * s + px) * C + c: phase (py, px) of channel c, the
    # order depth_to_space reads.
    kernel = tf.einsum("ya,xb,cd->abcyxd", w, w, tf.eye(channels))
    kernel = tf.reshape(kernel, [2 * _TAPS + 1, 2 * _TAPS + 1, channels, -1])
    extended = symmetric_extend(batched, _TAPS, _TAPS)
    phases = tf.nn.conv2d(extended, kernel, strides=1, padding="VALID")
    out = tf.nn.depth_to_space(phases, scale)
    return out if image.shape.rank == 4 else out[0]


def downscale_weights(scale):
    """MATLAB's antialiased bicubic taps for shrinking by an integer ``scale``.

    Output pixel ``o`` (0-based) is centred on input ``o*s + (s-1)/2`` and the
    cubic is stretched by ``s``; the taps are the same for every ``o``.

    Args:
      scale: integer factor >= 1.

    Returns:
      ``(first, weights)``: the offset of the first tap from input ``o*s``
      (negative) and float64 tensor ``(taps,)`` of weights summing to 1.
    """
    centre = (scale - 1) / 2
    first = math.floor(centre - 2 * scale) + 1
    offsets = tf.range(first, math.ceil(centre + 2 * scale), dtype=tf.float64)
    weights = cubic((centre - offsets) / scale)
    return first, weights / tf.reduce_sum(weights)


def downscale_bicubic(image, scale):
    """MATLAB's ``imresize(image, 1/scale, 'bicubic')`` for an integer ``scale``.

    Equal to ``imresize(image, (H // scale, W // scale))`` (same taps, same
    symmetric borders) but O(pixels): the taps are the same for every output
    pixel, so each axis is one strided depthwise convolution of the
    symmetrically extended image, instead of a dense ``(H / s, H)`` matrix
    product (O(H^2 W); timings: docs/results.md, "Back-projection speed").

    Args:
      image: float tensor ``(H, W, C)`` or ``(N, H, W, C)`` (float32 or float64;
        other types are taken as float32); H, W multiples of ``scale``.
      scale: integer factor >= 1.

    Returns:
      Tensor of spatial size ``(H // scale, W // scale)``, float64 for float64
      input, else float32; not clipped.
    """
    image = tf.convert_to_tensor(image)
    if image.dtype != tf.float64:
        image = tf.cast(image, tf.float32)
    batched = image if image.shape.rank == 4 else image[None]
    channels = batched.shape[-1]
    first, weights = downscale_weights(scale)
    taps = int(weights.shape[0])
    weights = tf.cast(weights, image.dtype)
    for axis in (1, 2):
        # The taps of outputs 0 .. size/s - 1 reach inputs first .. size - s + first + taps - 1.
        extended = symmetric_extend(batched, -first, first + taps - scale, (axis,))
        shape = [taps, 1] if axis == 1 else [1, taps]
        kernel = tf.tile(tf.reshape(weights, shape + [1, 1]), [1, 1, channels, 1])
        if batched.dtype == tf.float32:
            strides = [1, scale, 1, 1] if axis == 1 else [1, 1, scale, 1]
            batched = tf.nn.depthwise_conv2d(extended, kernel, strides, "VALID")
        else:  # TensorFlow's float64 depthwise convolution takes equal strides only
            batched = tf.nn.depthwise_conv2d(extended, kernel, [1, 1, 1, 1], "VALID")
            batched = batched[:, ::scale] if axis == 1 else batched[:, :, ::scale]
    return batched if image.shape.rank == 4 else batched[0]


def blur_subsample(image, kernel, scale):
    """Blur and subsample: ``correlate(image, kernel, mode='reflect')[::s, ::s]``.

    The degradation of the g20 test sets (MZSR's ``g^d``; docs/method.md section 3) and of
    kernel-aware sons: each channel correlated with ``kernel`` (centre
    ``n // 2``), borders mirrored with the edge pixel repeated (scipy's
    ``reflect``), then pixels ``0, s, 2s, ...`` kept along both axes.

    Args:
      image: float tensor ``(H, W, C)`` or ``(N, H, W, C)`` (float32 or
        float64), any size.
      kernel: ``(n, n)`` array, n odd.
      scale: integer subsampling factor.

    Returns:
      Tensor ``(ceil(H / s), ceil(W / s), C)`` (or batched), dtype of ``image``.
    """
    image = tf.convert_to_tensor(image)
    batched = image if image.shape.rank == 4 else image[None]
    kernel = tf.cast(kernel, batched.dtype)
    r = kernel.shape[0] // 2
    padded = symmetric_extend(batched, r, r)
    # Strided VALID correlation computes only the kept pixels.
    depthwise = tf.tile(kernel[:, :, None, None], [1, 1, batched.shape[-1], 1])
    out = tf.nn.depthwise_conv2d(padded, depthwise, [1, scale, scale, 1], "VALID")
    return out if image.shape.rank == 4 else out[0]
