"""The inference graph: LR image -> SR image, built from TFLite builtin ops only.

The bicubic pre-upsampling is ``degrade.upscale_bicubic``, the same function
training uses: a polyphase filter (MIRROR_PAD, a fixed 5x5 CONV_2D with
``scale**2`` phases per channel, DEPTH_TO_SPACE) rather than
``tf.image.resize``, which the TFLite converter turns into the Flex op
``FlexResizeBicubic`` that phones' LiteRT runtimes do not run.

Border behaviour: bicubic mirrors out-of-image taps with the edge pixel
repeated (MATLAB's rule), so on the "centre" grid it equals MATLAB's
``imresize`` everywhere, borders included; the generator's convolutions then
zero-pad at the HR border exactly as in training. Needs H, W >= 2.

The convolution kernel has ``25 * 3 * 3 * s * s`` weights; TFLite's dynamic-range
int8 quantization leaves tensors under 1024 elements in float, so at x2 (900)
the bicubic stays exact in the int8 model; at x3 and x4 it is quantized too.
"""

import keras

from zsrgan_tf import degrade


@keras.saving.register_keras_serializable(package="zsrgan_tf")
class BicubicUpscale(keras.layers.Layer):
    """``degrade.upscale_bicubic`` as a layer (no weights; the kernel is a constant).

    Input: float32 NHWC, any H, W >= 2. Output: float32 ``(N, s*H, s*W, C)``,
    not clipped.

    Args:
      scale: integer factor.
      grid: ``degrade.GRIDS`` member: "centre" (MATLAB; the paper's bicubic
        sons) or "corner" (kernel-aware sons).
    """

    def __init__(self, scale, grid="centre", **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.grid = grid

    def call(self, images):
        return degrade.upscale_bicubic(images, self.scale, self.grid)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.scale,
                None if w is None else w * self.scale, c)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "grid": self.grid}


class GradualUpscale(keras.layers.Layer):
    """The steps of a gradual run (``gradual``) in turn: each a bicubic upscale by
    ``step`` and a generator, clipped to [0, 1]. A layer rather than a chain of
    graph nodes because the generators share one name.

    Input: float32 NHWC, H, W >= 2. Output: ``(N, step**n * H, step**n * W, C)``.
    """

    def __init__(self, generators, step, grid="centre", **kwargs):
        super().__init__(**kwargs)
        self.generators = list(generators)
        self.step = step
        self.grid = grid

    def call(self, images):
        for generator in self.generators:
            upscaled = degrade.upscale_bicubic(images, self.step, self.grid)
            images = keras.ops.clip(generator(upscaled), 0.0, 1.0)
        return images

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        factor = self.step ** len(self.generators)
        return (n, None if h is None else h * factor, None if w is None else w * factor, c)


def as_steps(generator):
    """``generator`` as the list of a run's generators, one per step (``gradual``)."""
    return list(generator) if isinstance(generator, (list, tuple)) else [generator]


def float_upscaler(generator, scale, grid="centre"):
    """Keras model: float32 LR ``(N, H, W, 3)`` in [0, 1] -> SR ``(N, sH, sW, 3)``
    clipped to [0, 1]. Shares ``generator``'s weights; dynamic N, H, W; ``grid``
    is the one the generator was trained on. ``generator`` may be the list of a
    gradual run's generators, applied in turn (``scale`` is then their product)."""
    generators = as_steps(generator)
    lr = keras.Input((None, None, 3), name="lr")
    if len(generators) > 1:
        step = round(scale ** (1 / len(generators)))
        sr = GradualUpscale(generators, step, grid, name="steps")(lr)
    else:
        upscaled = BicubicUpscale(scale, grid, name="bicubic")(lr)
        sr = keras.ops.clip(generators[0](upscaled), 0.0, 1.0)
    return keras.Model(lr, sr, name="upscaler")


def uint8_upscaler(generator, scale, grid="centre"):
    """Keras model: uint8 LR ``(N, H, W, 3)`` -> uint8 SR ``(N, sH, sW, 3)``.

    Values are divided by 255 on the way in and rounded half to even on the way
    out (``imaging.to_uint8``), so it matches the float model to one grey level.
    """
    lr = keras.Input((None, None, 3), dtype="uint8", name="lr")
    scaled = keras.ops.cast(lr, "float32") / 255.0
    sr = float_upscaler(generator, scale, grid)(scaled)
    out = keras.ops.cast(keras.ops.round(sr * 255.0), "uint8")
    return keras.Model(lr, out, name="upscaler_uint8")
