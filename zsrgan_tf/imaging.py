"""Reading and writing image files; float32 RGB in [0, 1], HWC, in between."""

import os
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError


class ImageError(ValueError):
    """An input or output image file cannot be used; ``str()`` is one line naming the file."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def read_image(path):
    """Reads an image file as RGB.

    Args:
      path: file path.

    Returns:
      float32 array ``(H, W, 3)`` in [0, 1].

    Raises:
      ImageError: missing, a directory, unreadable, not an image, or truncated.
    """
    if os.path.isdir(path):
        raise ImageError(path, "is a directory, expected an image file")
    if not os.path.exists(path):
        raise ImageError(path, "no such file")
    try:
        with Image.open(path) as im:
            im.load()
            rgb = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file (unrecognised format)") from None
    except OSError as e:
        raise ImageError(path, f"cannot read image ({e})") from None
    if rgb.size == 0:
        raise ImageError(path, "image has zero size")
    return rgb.astype(np.float32) / 255.0


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def to_uint8(rgb):
    """float [0, 1] -> uint8 by rounding (values outside are clipped)."""
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def write_png(path, rgb):
    """Writes float RGB in [0, 1] ``(H, W, 3)`` as an 8-bit PNG, atomically.

    The image is written to a temporary file in the same folder and renamed, so
    ``path`` is either untouched or complete.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(to_uint8(rgb)).save(f, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
