"""LPIPS (VGG16, v0.1 linear layers) as a Keras model, with the offline weights.

Zhang et al. 2018, as the reference implementation computes it (docs/method.md
section 5): RGB in [-1, 1] shifted by (-0.030, -0.088, -0.188) and divided by
(0.458, 0.448, 0.450); VGG16 features after relu1_2, relu2_2, relu3_3, relu4_3
and relu5_3; each feature vector divided by its L2 norm (+1e-10); squared
difference; a learned 1x1 convolution to one channel without bias; spatial
mean; sum over the five layers. Lower is more similar.
"""

import keras
import numpy as np

from zsrgan_tf import vgg
from zsrgan_tf.models import PACKAGE

TAPS = ("block1_conv2", "block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3")
_SHIFT = np.array([-0.030, -0.088, -0.188], np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], np.float32)
_EPS = 1e-10


@keras.saving.register_keras_serializable(package=PACKAGE)
class UnitNormalize(keras.layers.Layer):
    """Divides each feature vector (last axis) by its L2 norm + 1e-10."""

    def call(self, x):
        norm = keras.ops.sqrt(keras.ops.sum(x * x, axis=-1, keepdims=True))
        return x / (norm + _EPS)


class LPIPS(keras.Model):
    """LPIPS-VGG v0.1 distance between two batches of images.

    Inputs: ``[x0, x1]``, float32 RGB in [0, 1], NHWC, same shape, any H x W
    (at least 16 x 16 so that relu5_3 has a pixel).
    Output: float32 ``(N,)``, the distance per image pair.

    Example:
      >>> lpips = LPIPS()
      >>> d = lpips([ref, distorted])  # 0.5686 for ex_ref vs ex_p0
    """

    def __init__(self, **kwargs):
        trunk = vgg.vgg16_trunk(TAPS, name="lpips_vgg16")
        linear = vgg.load_checkpoint()
        x0 = keras.Input((None, None, 3), name="x0")
        x1 = keras.Input((None, None, 3), name="x1")
        # [0, 1] -> [-1, 1] -> LPIPS' scaling layer.
        f0 = trunk((x0 * 2.0 - 1.0 - _SHIFT) / _SCALE)
        f1 = trunk((x1 * 2.0 - 1.0 - _SHIFT) / _SCALE)
        # float32 whatever the policy: a sum of squared features exceeds float16's
        # 65504 on high-contrast content (block3 reaches ~1.3e5 on a checkerboard).
        normalize = UnitNormalize(name="unit_normalize", dtype="float32")
        terms = []
        for k, (a, b) in enumerate(zip(f0, f1)):
            weights = linear[f"NetLinLayer_{k}"]["Conv_0"]["kernel"]
            lin = keras.layers.Conv2D(1, 1, use_bias=False, name=f"lin{k}", trainable=False)
            diff = keras.ops.square(normalize(a) - normalize(b))
            score = lin(diff)
            lin.set_weights([weights])
            # Averaged in float32 whatever the policy (the output is float32).
            terms.append(keras.ops.mean(keras.ops.cast(score, "float32"), axis=(1, 2, 3)))
        outputs = keras.ops.sum(keras.ops.stack(terms, axis=1), axis=1)
        super().__init__([x0, x1], outputs, **kwargs)
        self.trainable = False
