"""Reading and writing image files; float32 RGB in [0, 1], HWC, in between."""

import os
import tempfile

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageError(ValueError):
    """An input or output image file cannot be used; ``str()`` is one line naming the file."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def read_image(path):
    """Reads an image file as RGB, upright.

    The EXIF orientation is applied. 16-bit greyscale is scaled from
    [0, 65535]; other modes are converted by Pillow (alpha is dropped).

    Args:
      path: file path.

    Returns:
      float32 array ``(H, W, 3)`` in [0, 1].

    Raises:
      ImageError: missing, a directory, unreadable, not an image, truncated,
        or too large for Pillow's decompression-bomb limit.
    """
    if os.path.isdir(path):
        raise ImageError(path, "is a directory, expected an image file")
    if not os.path.exists(path):
        raise ImageError(path, "no such file")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            if im.mode.startswith("I;16") or im.mode == "I":
                gray = np.asarray(im, np.float32) / 65535.0
                return np.repeat(gray[..., None], 3, axis=-1)
            rgb = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file (unrecognised format)") from None
    except Image.DecompressionBombError as e:
        raise ImageError(path, f"image too large ({e})") from None
    except OSError as e:
        raise ImageError(path, f"cannot read image ({e})") from None
    if rgb.size == 0:
        raise ImageError(path, "image has zero size")
    return to_float(rgb)


def to_float(image):
    """An image array as float32: integers are divided by their dtype's maximum
    (uint8 by 255, uint16 by 65535); floats are taken to be in [0, 1] already."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        return (image / np.iinfo(image.dtype).max).astype(np.float32)
    return image.astype(np.float32)


def umask():
    """The process umask (read without changing it)."""
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
