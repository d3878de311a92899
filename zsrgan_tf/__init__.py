"""zsrgan-tf: zero-shot super-resolution with a GAN (ZSRGAN) in TensorFlow/Keras.

Importing the package registers its Keras objects, so ``keras.saving.load_model``
can read a saved ``generator.keras``.
"""

__version__ = "0.1.0"

try:
    import tensorflow  # noqa: F401
except ModuleNotFoundError as e:  # say how to install it
    if e.name != "tensorflow":
        raise
    raise ImportError("zsrgan_tf needs TensorFlow: pip install 'zsrgan-tf[cpu]' (or '[gpu]')"
                      ) from None

from zsrgan_tf import degradation, estimate, export, inference
from zsrgan_tf.config import PRESETS, SCALES, TrainConfig, preset
from zsrgan_tf.data import father_son_dataset
from zsrgan_tf.degrade import imresize, upscale_bicubic
from zsrgan_tf.gan import ZSRGAN, make_optimizer
from zsrgan_tf.imaging import read_image, write_png
from zsrgan_tf.models import Discriminator, Generator
from zsrgan_tf.train import train_on_image

__all__ = [
    "PRESETS",
    "SCALES",
    "Discriminator",
    "Generator",
    "TrainConfig",
    "ZSRGAN",
    "degradation",
    "estimate",
    "export",
    "father_son_dataset",
    "imresize",
    "inference",
    "make_optimizer",
    "preset",
    "read_image",
    "train_on_image",
    "upscale_bicubic",
    "write_png",
]
