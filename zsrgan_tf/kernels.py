"""Blur kernels: parsing the blur stage of a degradation spec and building Gaussians.

A kernel blurs the unknown HR image before it is resampled
(``degradation``): with direct subsampling,
``lr = correlate(hr, k, mode='reflect')[::s, ::s]`` (``degrade.blur_subsample``;
how the g20 test sets were made). Kernels are float64 ``(n, n)`` arrays with
odd ``n``, centred on ``(n // 2, n // 2)``, summing to 1.

Specs (``parse``):
- ``gaussian:COV``: isotropic Gaussian with covariance ``COV * I`` (pixels^2),
  e.g. ``gaussian:2.0`` is the g20 kernel of the test sets.
- ``gaussian:MAJOR,MINOR,ANGLE``: anisotropic Gaussian with variances MAJOR and
  MINOR (pixels^2) along and across an axis at ANGLE degrees from the x axis,
  clockwise on screen (``anisotropic``), e.g. ``gaussian:4,1,45``.
- a path: ``.npy`` (a 2-D array) or ``.mat`` (variable ``kernel`` or ``Kernel``).
"""

import math
import os

import numpy as np

BLIND = "blind"
BLIND_ANISO = "blind:aniso"
# Gaussians estimated from the image (``blind``).
BLIND_SPECS = (BLIND, BLIND_ANISO)


class KernelError(ValueError):
    """A kernel spec or file that cannot be used; the message names it."""


def gaussian(cov, size=None):
    """Gaussian kernel ``exp(-p^T C^-1 p / 2)``, normalised; ``p = (x, y)`` with x
    the column and y the row offset from the centre.

    Args:
      cov: the covariance ``C`` in pixels^2: a number c > 0 (isotropic, ``C = c I``)
        or a symmetric positive-definite ``[[xx, xy], [xy, yy]]`` (``anisotropic``).
      size: odd side; default ``max(21, 2 * ceil(4 * sqrt(largest variance)) + 1)``
        (21 as MZSR's kernels; at least 4 standard deviations each side).

    Returns:
      float64 ``(size, size)``. ``gaussian(2.0)`` equals the g20 test sets' kernel file to 1e-28.
    """
    matrix = np.asarray(cov, np.float64)
    if matrix.ndim == 0:
        if not matrix > 0:
            raise KernelError(f"gaussian:{cov}: the covariance must be > 0")
        matrix = matrix * np.eye(2)
    variances = np.linalg.eigvalsh(matrix) if matrix.shape == (2, 2) else None
    if variances is None or not np.allclose(matrix, matrix.T) or not variances.min() > 0:
        raise KernelError(f"gaussian: the covariance must be symmetric positive definite, "
                          f"got {matrix.tolist()}")
    if size is None:
        size = max(21, 2 * math.ceil(4 * math.sqrt(variances.max())) + 1)
    r = np.arange(size) - size // 2
    offsets = np.stack(np.meshgrid(r, r), -1).astype(np.float64)  # [..., 0] x, [..., 1] y
    k = np.exp(-0.5 * np.einsum("...i,ij,...j->...", offsets, np.linalg.inv(matrix), offsets))
    return k / k.sum()


def anisotropic(major, minor, angle):
    """The covariance matrix with variances ``major`` >= ``minor`` > 0 (pixels^2)
    along and across an axis at ``angle`` degrees from the x axis (columns),
    turning towards +y (rows, downwards: clockwise on screen)."""
    if not major >= minor > 0:
        raise KernelError(f"gaussian:{major},{minor},{angle}: need MAJOR >= MINOR > 0")
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    rotation = np.array([[c, -s], [s, c]])
    return rotation @ np.diag([major, minor]) @ rotation.T


def axes(matrix):
    """``(major, minor, angle)`` of a covariance matrix (``anisotropic``'s inverse;
    angle in degrees in [0, 180))."""
    values, vectors = np.linalg.eigh(np.asarray(matrix, np.float64))
    x, y = vectors[:, 1]
    return float(values[1]), float(values[0]), float(np.degrees(np.arctan2(y, x)) % 180.0)


def angle_gap(a, b):
    """Difference in degrees, in [0, 90], between two axis angles (mod 180)."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


def _check(kernel, name):
    try:
        kernel = np.squeeze(np.asarray(kernel, np.float64))
    except (TypeError, ValueError):  # strings, cells, structs
        raise KernelError(f"{name}: the kernel is not a numeric array") from None
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
    except KernelError:
        raise
    except NotImplementedError:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise KernelError(f"{path}: MATLAB v7.3 files are not supported; "
                          "save with -v7 or as .npy") from None
    except Exception as e:  # noqa: BLE001 -- numpy/scipy raise many types for bad files
        # (EOFError for an empty .npy, NotImplementedError for MATLAB v7.3, MatReadError...)
        raise KernelError(f"{path}: cannot read the kernel ({type(e).__name__}: {e})") from None
    raise KernelError(f"{path}: kernel files must be .npy or .mat")


def parse(spec):
    """The kernel a blur spec names (see the module docstring).

    Returns:
      float64 ``(n, n)`` kernel summing to 1.

    Raises:
      KernelError: a one-line message naming the spec or file and the problem.
    """
    if spec.startswith("gaussian:"):
        try:
            values = [float(v) for v in spec.partition(":")[2].split(",")]
        except ValueError:
            values = []
        if len(values) == 1:
            return gaussian(values[0])
        if len(values) == 3:
            return gaussian(anisotropic(*values))
        raise KernelError(f"{spec}: expected gaussian:COV or gaussian:MAJOR,MINOR,ANGLE "
                          "with numbers")
    return _check(_load_file(spec), spec)
