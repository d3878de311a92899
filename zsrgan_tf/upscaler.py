"""The inference graph: LR image -> SR image, built from TFLite builtin ops only.

Training upsamples with ``degrade.upscale_bicubic`` (``tf.image.resize``), which
the TFLite converter turns into the Flex op ``FlexResizeBicubic``; phones'
LiteRT runtimes do not run Flex ops. For an integer factor ``s`` MATLAB's
bicubic upscaling is a polyphase filter: output pixel ``s*k + p`` (0-based)
samples the input at ``k + (p + 0.5) / s - 0.5``, a fixed offset per phase
``p``, so it is one fixed-weight convolution followed by ``depth_to_space``:

    MIRROR_PAD (symmetric, 2 px) -> CONV_2D 5x5, C -> s*s*C, VALID -> DEPTH_TO_SPACE(s)

Border behaviour: MATLAB mirrors out-of-image taps with the edge pixel repeated,
which is TensorFlow's ``SYMMETRIC`` padding, so the graph equals MATLAB's
``imresize`` everywhere, borders included (tested against ``upscale_bicubic``
to 1e-5). It needs H, W >= 2. The generator's convolutions then zero-pad at
the HR border exactly as in training.

The convolution kernel has ``25 * 3 * 3 * s * s`` weights; TFLite's dynamic-range
int8 quantization leaves tensors under 1024 elements in float, so at x2 (900)
the bicubic stays exact in the int8 model; at x3 and x4 it is quantized too.
"""

import keras
import numpy as np
import tensorflow as tf

from zsrgan_tf import degrade

# Taps each side of an output phase's source pixel: offsets in (-0.5, 0.5) and
# the cubic's support |x| < 2 need input pixels k-2 .. k+2.
_RADIUS = 2


def phase_weights(scale):
    """MATLAB bicubic weights for each output phase of an integer upscale.

    Args:
      scale: integer factor >= 1.

    Returns:
      float64 ``(scale, 5)``: row ``p`` weights input pixels ``k-2 .. k+2`` for
      output pixel ``scale*k + p``; each row sums to 1.
    """
    offsets = (np.arange(scale) + 0.5) / scale - 0.5
    taps = np.arange(-_RADIUS, _RADIUS + 1)
    weights = degrade.cubic(tf.constant(offsets[:, None] - taps[None, :])).numpy()
    return weights / weights.sum(axis=1, keepdims=True)


def polyphase_kernel(scale, channels=3):
    """The ``(5, 5, C, s*s*C)`` convolution kernel of bicubic x``scale``.

    Output channel ``(py * s + px) * C + c`` is phase ``(py, px)`` of input
    channel ``c``, the channel order ``tf.nn.depth_to_space`` expects.
    """
    w = phase_weights(scale)
    size = 2 * _RADIUS + 1
    kernel = np.zeros((size, size, channels, scale * scale * channels), np.float32)
    for py in range(scale):
        for px in range(scale):
            for c in range(channels):
                kernel[:, :, c, (py * scale + px) * channels + c] = np.outer(w[py], w[px])
    return kernel


@keras.saving.register_keras_serializable(package="zsrgan_tf")
class BicubicUpscale(keras.layers.Layer):
    """MATLAB bicubic x``scale`` as mirror-pad + fixed convolution + depth_to_space.

    Input: float32 NHWC, any H, W >= 2. Output: float32 ``(N, s*H, s*W, C)``,
    not clipped. No trainable weights; the kernel is a graph constant.
    """

    def __init__(self, scale, channels=3, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.channels = channels
        self._kernel = polyphase_kernel(scale, channels)

    def call(self, images):
        pad = [[0, 0], [_RADIUS, _RADIUS], [_RADIUS, _RADIUS], [0, 0]]
        padded = tf.pad(tf.cast(images, tf.float32), pad, mode="SYMMETRIC")
        phases = tf.nn.conv2d(padded, self._kernel, strides=1, padding="VALID")
        return tf.nn.depth_to_space(phases, self.scale)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.scale,
                None if w is None else w * self.scale, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "channels": self.channels}


def float_upscaler(generator, scale):
    """Keras model: float32 LR ``(N, H, W, 3)`` in [0, 1] -> SR ``(N, sH, sW, 3)``
    clipped to [0, 1]. Shares ``generator``'s weights; dynamic N, H, W."""
    lr = keras.Input((None, None, 3), name="lr")
    upscaled = BicubicUpscale(scale, name="bicubic")(lr)
    sr = keras.ops.clip(generator(upscaled), 0.0, 1.0)
    return keras.Model(lr, sr, name="upscaler")


def uint8_upscaler(generator, scale):
    """Keras model: uint8 LR ``(N, H, W, 3)`` -> uint8 SR ``(N, sH, sW, 3)``.

    Values are divided by 255 on the way in and rounded half to even on the way
    out (``imaging.to_uint8``), so it matches the float model to one grey level.
    """
    lr = keras.Input((None, None, 3), dtype="uint8", name="lr")
    scaled = keras.ops.cast(lr, "float32") / 255.0
    sr = float_upscaler(generator, scale)(scaled)
    out = keras.ops.cast(keras.ops.round(sr * 255.0), "uint8")
    return keras.Model(lr, out, name="upscaler_uint8")
