"""The image-specific generator (ZSSR's net) and the DCGAN patch discriminator."""

import keras

from zsrgan_tf import precision

PACKAGE = "zsrgan_tf"


@keras.saving.register_keras_serializable(package=PACKAGE)
class Generator(keras.Model):
    """ZSSR's 8-layer fully convolutional net with a global residual (paper 3.2).

    ``depth`` 3x3 convolutions, stride 1, 'same' padding, biases on; the first
    ``depth - 1`` have ``filters`` channels and a ReLU, the last has 3 channels
    and no activation. Its output is added to the input, so the net learns the
    residual between the bicubic-upscaled image and the HR image. Glorot
    (Xavier) normal initialisation, as the paper's code.

    With ``block`` b > 1 the same stack runs at 1/b of the resolution (ESPCN's
    sub-pixel convolution, Shi et al. 2016): the input is rearranged by
    space-to-depth into ``3 b^2`` channels, the last convolution gives
    ``3 b^2`` channels, and depth-to-space turns them back into the residual.
    With b = scale every convolution works on the LR pixel grid: 1/b^2 of the
    FLOPs and b times the receptive field in output pixels. The input is still
    the upscaled image, so data, inference and export are unchanged.

    Input: the low-resolution image already upscaled to the target size,
    float32 RGB in [0, 1] (noise may push it slightly outside), NHWC, any H x W
    (multiples of ``block``).
    Output: the super-resolved image, float32 NHWC of the same size, not clipped.

    Args:
      filters: channels of the hidden layers (64 in the paper).
      depth: number of convolutions (8 in the paper).
      block: space-to-depth block size (1: the paper's net at the output
        resolution; the SR scale: at the LR resolution).
      dtype: Keras dtype policy of the layers (e.g. "mixed_bfloat16"); None:
        the global policy. Saved with the model, so it reloads in its precision.

    Example:
      >>> g = Generator()
      >>> g(keras.ops.zeros((1, 37, 53, 3))).shape
      TensorShape([1, 37, 53, 3])
      >>> Generator(block=2)(keras.ops.zeros((1, 36, 52, 3))).shape
      TensorShape([1, 36, 52, 3])
    """

    def __init__(self, filters=64, depth=8, block=1, dtype=None, **kwargs):
        with precision.policy_scope(dtype or keras.config.dtype_policy()):
            inputs = keras.Input((None, None, 3), name="upscaled_lr")
            x = keras.ops.space_to_depth(inputs, block) if block > 1 else inputs
            for i in range(depth):
                last = i == depth - 1
                x = keras.layers.Conv2D(
                    3 * block * block if last else filters,
                    3,
                    padding="same",
                    activation=None if last else "relu",
                    kernel_initializer="glorot_normal",
                    name=f"conv{i + 1}",
                )(x)
            if block > 1:
                x = keras.ops.depth_to_space(x, block)
            # Residual in float32 so the image path keeps full precision.
            outputs = keras.layers.Add(name="residual", dtype="float32")([inputs, x])
            super().__init__(inputs, outputs, **kwargs)
        self.filters = filters
        self.depth = depth
        self.block = block

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "filters": self.filters,
                "depth": self.depth, "block": self.block, "dtype": self.dtype_policy.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class Discriminator(keras.Model):
    """The paper's 4-block DCGAN patch discriminator (paper 3.3).

    Each block: zero-pad 1, Conv 4x4 stride 2 without bias, BatchNorm,
    LeakyReLU(0.2); channels ``filters * (1, 2, 4, 8)``. Then Conv 4x4 stride 1
    without padding or bias to one channel. A 128x128 input gives a 5x5 map; 64x64 is
    the smallest input (1x1 map).

    The paper ends with a sigmoid; this model returns the logits and the losses
    use binary cross-entropy ``from_logits=True``, which is the same function
    computed without the saturation of ``log(sigmoid(.))``.
    ``keras.ops.sigmoid(D(x))`` is the paper's output.

    Input: float32 RGB in [0, 1], NHWC, H and W >= ``MIN_SIDE`` (64). Smaller
    inputs must not reach it: TensorFlow's CPU convolution then returns
    uninitialised memory instead of failing.
    Output: float32 logits ``(N, h, w, 1)``.

    Args:
      filters: channels of the first block (64).
      dtype: Keras dtype policy of the layers; None: the global policy (saved,
        as for ``Generator``).
    """

    MIN_SIDE = 64

    def __init__(self, filters=64, dtype=None, **kwargs):
        with precision.policy_scope(dtype or keras.config.dtype_policy()):
            inputs = keras.Input((None, None, 3), name="image")
            x = inputs
            for i, mult in enumerate((1, 2, 4, 8)):
                x = keras.layers.ZeroPadding2D(1, name=f"pad{i + 1}")(x)
                x = keras.layers.Conv2D(
                    filters * mult, 4, strides=2, use_bias=False,
                    kernel_initializer="glorot_normal", name=f"conv{i + 1}",
                )(x)
                # PyTorch BatchNorm2d defaults: momentum 0.1 (Keras 0.9), eps 1e-5.
                x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5,
                                                    name=f"bn{i + 1}")(x)
                x = keras.layers.LeakyReLU(0.2, name=f"lrelu{i + 1}")(x)
            outputs = keras.layers.Conv2D(
                1, 4, use_bias=False, kernel_initializer="glorot_normal", name="logits",
                dtype="float32",
            )(x)
            super().__init__(inputs, outputs, **kwargs)
        self.filters = filters

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "filters": self.filters,
                "dtype": self.dtype_policy.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
