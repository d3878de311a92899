"""Blur kernels for kernel-aware sons: parsing ``--kernel`` and building Gaussians.

A kernel describes how the LR image was made from an unknown HR image:
``lr = correlate(hr, k, mode='reflect')[::s, ::s]`` (REFERENCE.md section 2;
``degrade.blur_subsample``). Kernels are float64 ``(n, n)`` arrays with odd
``n``, centred on ``(n // 2, n // 2)``, summing to 1.

Specs (``parse``):
- ``bicubic``: the paper's sons (MATLAB bicubic); returns None.
- ``gaussian:COV``: isotropic Gaussian with covariance ``COV * I`` (pixels^2),
  e.g. ``gaussian:2.0`` is the g20 kernel of the test sets.
- a path: ``.npy`` (a 2-D array) or ``.mat`` (variable ``kernel`` or ``Kernel``).
- ``blind``: an isotropic Gaussian estimated from the LR image itself
  (``blind.resolve`` turns it into ``gaussian:COV`` before use).
"""

import math
import os

import numpy as np

BICUBIC = "bicubic"
BLIND = "blind"


class KernelError(ValueError):
    """A kernel spec or file that cannot be used; the message names it."""


def gaussian(cov, size=None):
    """Isotropic Gaussian kernel ``exp(-(x^2 + y^2) / (2 cov))``, normalised.

    Args:
      cov: variance per axis in pixels^2 (> 0).
      size: odd side; default ``max(21, 2 * ceil(4 * sqrt(cov)) + 1)`` (21 as
        MZSR's kernels; at least 4 standard deviations each side).

    Returns:
      float64 ``(size, size)``. ``gaussian(2.0)`` equals the shared g20 kernel to 1e-28.
    """
    if not cov > 0:
        raise KernelError(f"gaussian:{cov}: the covariance must be > 0")
    if size is None:
        size = max(21, 2 * math.ceil(4 * math.sqrt(cov)) + 1)
    r = np.arange(size) - size // 2
    k = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * cov))
    return k / k.sum()


def _check(kernel, name):
    kernel = np.asarray(kernel, np.float64)
    kernel = np.squeeze(kernel)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1] or kernel.shape[0] % 2 == 0:
        raise KernelError(f"{name}: a kernel must be a square 2-D array of odd side, "
                          f"got shape {kernel.shape}")
    if not np.isfinite(kernel).all() or kernel.sum() <= 0:
        raise KernelError(f"{name}: the kernel must be finite with a positive sum")
    return kernel / kernel.sum()


def _load_file(path):
    if not os.path.isfile(path):
        raise KernelError(f"{path}: no such kernel file")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            return np.load(path, allow_pickle=False)
        if ext == ".mat":
            from scipy.io import loadmat

            variables = loadmat(path)
            for key in ("kernel", "Kernel"):
                if key in variables:
                    return variables[key]
            raise KernelError(f"{path}: no variable 'kernel' or 'Kernel' in the .mat file")
    except (OSError, ValueError) as e:
        if isinstance(e, KernelError):
            raise
        raise KernelError(f"{path}: cannot read the kernel ({e})") from None
    raise KernelError(f"{path}: kernel files must be .npy or .mat")


def check(spec):
    """Raises ``KernelError`` for a spec ``parse`` would refuse; ``blind`` is valid
    (it needs the image, see ``blind.resolve``). For checking flags before training."""
    if spec != BLIND:
        parse(spec)


def parse(spec):
    """The kernel a ``--kernel`` spec names (see the module docstring).

    Returns:
      None for ``bicubic``, else a float64 ``(n, n)`` kernel summing to 1.

    Raises:
      KernelError: a one-line message naming the spec or file and the problem.
    """
    if spec == BICUBIC:
        return None
    if spec == BLIND:
        raise KernelError("blind: the kernel is estimated from the image; "
                          "resolve the config with zsrgan_tf.blind.resolve first")
    if spec.startswith("gaussian:"):
        value = spec.partition(":")[2]
        try:
            cov = float(value)
        except ValueError:
            raise KernelError(f"{spec}: expected gaussian:COV with a number COV") from None
        return gaussian(cov)
    return _check(_load_file(spec), spec)
