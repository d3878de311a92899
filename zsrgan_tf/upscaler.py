"""The inference graph: LR image -> SR image, built from TFLite builtin ops only.

It is the run's whole inference (``TestTimeUpscale``): bicubic pre-upsampling,
the generator, clipping, and the test-time options of ``inference.TestTime``
(self-ensemble, back-projection), so an export gives what ``train_one`` gives.

The bicubic pre-upsampling is ``degrade.upscale_bicubic``, the same function
training uses: a polyphase filter (GATHER for the borders, a fixed 5x5 CONV_2D with
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

from zsrgan_tf import inference


class TestTimeUpscale(keras.layers.Layer):
    """A run's whole inference as one graph: for each generator (one per step of
    a gradual run, ``gradual``, else one), bicubic x``step`` and the generator,
    clipped to [0, 1], under the self-ensemble, then back-projected onto the
    step's input: ``inference.upscale_steps``, the library's inference, so an
    export gives what ``train_one`` gives. A layer rather than a chain of graph nodes
    because the generators share one name.

    Input: float32 NHWC, H, W >= 2. Output: ``(N, step**n * H, step**n * W, C)``.
    """

    def __init__(self, generators, step, test_time, **kwargs):
        super().__init__(**kwargs)
        self.generators = list(generators)
        self.step = step
        self.test_time = test_time

    def call(self, images):
        return inference.upscale_steps(self.generators, self.step, self.test_time, images)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        factor = self.step ** len(self.generators)
        return (n, None if h is None else h * factor, None if w is None else w * factor, c)


def as_steps(generator):
    """``generator`` as the list of a run's generators, one per step (``gradual``)."""
    return list(generator) if isinstance(generator, (list, tuple)) else [generator]


def float_upscaler(generator, scale, test_time=inference.TestTime()):
    """Keras model: float32 LR ``(N, H, W, 3)`` in [0, 1] -> SR ``(N, sH, sW, 3)``
    clipped to [0, 1], with the ``inference.TestTime`` options. Shares ``generator``'s
    weights; dynamic N, H, W. ``generator`` may be the list of a gradual run's
    generators, applied in turn (``scale`` is then their product)."""
    generators = as_steps(generator)
    step = round(scale ** (1 / len(generators)))
    lr = keras.Input((None, None, 3), name="lr")
    sr = TestTimeUpscale(generators, step, test_time, name="upscale")(lr)
    return keras.Model(lr, sr, name="upscaler")


def uint8_upscaler(generator, scale, test_time=inference.TestTime()):
    """Keras model: uint8 LR ``(N, H, W, 3)`` -> uint8 SR ``(N, sH, sW, 3)``.

    Values are divided by 255 on the way in and rounded half to even on the way
    out (``imaging.to_uint8``), so it matches the float model to one grey level.
    """
    lr = keras.Input((None, None, 3), dtype="uint8", name="lr")
    scaled = keras.ops.cast(lr, "float32") / 255.0
    sr = float_upscaler(generator, scale, test_time)(scaled)
    out = keras.ops.cast(keras.ops.round(sr * 255.0), "uint8")
    return keras.Model(lr, out, name="upscaler_uint8")
