"""Reading and writing image files; float32 RGB in [0, 1], HWC, in between.

Any image a user has is read as a ``Picture``: the colour the network sees
(RGB; greyscale repeated in the three channels), the alpha channel kept apart,
and what the output must be written back as (greyscale or colour, 8 or 16 bits
per channel). Pillow reads and writes everything except 16-bit colour
(48/64-bit PNG and TIFF), which Pillow reduces to 8 bits; OpenCV handles those.
"""

import dataclasses
import io
import os
import warnings

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from zsrgan_tf import files

# EXIF orientation tag -> the numpy operation that makes the image upright
# (the same transposes as Pillow's ``ImageOps.exif_transpose``).
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: np.swapaxes(a, 0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}
_ORIENTATION = 0x0112

# What a folder of photos is scanned for: raster formats Pillow reads (not PDF,
# EPS, FITS, HDF5, ... which Pillow also registers). A file named directly may
# be any format Pillow opens.
PHOTO_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".tif", ".tiff", ".webp", ".bmp", ".dib",
    ".gif", ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".jp2", ".j2k", ".jpx",
)

_16BIT_GREY = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class ImageError(ValueError):
    """An input or output image file cannot be used; ``str()`` is one line naming the file."""

    def __init__(self, path, problem):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclasses.dataclass(frozen=True)
class Picture:
    """An image as read from a file.

    Attributes:
      rgb: float32 ``(H, W, 3)`` in [0, 1], upright (EXIF orientation applied);
        a greyscale image has three equal channels.
      alpha: float32 ``(H, W)`` in [0, 1], or None.
      grey: the file is greyscale (written back with one channel).
      bits: bits per channel of the file, 8 or 16.
      mode: the file's Pillow mode (e.g. "RGB", "P", "I;16", "CMYK"), for reports.
      jpeg_tables: a JPEG file's quantisation tables, ``{table id: 64 ints}`` as
        Pillow reads them (luma first); None for other formats.
    """

    rgb: np.ndarray
    alpha: np.ndarray = None
    grey: bool = False
    bits: int = 8
    mode: str = "RGB"
    jpeg_tables: dict = None


def _rawmode(im):
    """The decoder's raw mode (e.g. "RGB;16B"), read before ``load`` clears it."""
    if not im.tile:
        return ""
    args = im.tile[0][3]  # (codec, extents, offset, args): a plain tuple in Pillow 10
    return args[0] if isinstance(args, tuple) else str(args)


def _read_16bit_colour(path, orientation):
    """A 48/64-bit PNG or TIFF as uint16 RGB(A), upright."""
    pixels = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3:
        raise ImageError(path, "cannot read 16-bit colour image")
    pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4
                          else cv2.COLOR_BGR2RGB)
    return _UPRIGHT.get(orientation, lambda a: a)(pixels)


def _picture(im, path, rawmode):
    """Converts an opened, loaded Pillow image to a ``Picture``."""
    mode = im.mode
    if mode in ("RGB", "RGBA") and ";16" in rawmode:
        pixels = _read_16bit_colour(path, im.getexif().get(_ORIENTATION))
        alpha = pixels[..., 3] if pixels.shape[2] == 4 else None
        grey = rawmode.startswith("LA;16")  # Pillow opens 16-bit grey + alpha as RGBA
        return Picture(to_float(pixels[..., :3]), None if alpha is None else to_float(alpha),
                       grey=grey, bits=16, mode="LA;16" if grey else mode + ";16")
    im = ImageOps.exif_transpose(im)
    if mode in _16BIT_GREY:
        grey = np.clip(np.asarray(im, np.float32) / 65535.0, 0.0, 1.0)
        return Picture(np.repeat(grey[..., None], 3, axis=-1), grey=True, bits=16, mode=mode)
    if mode in ("1", "L", "LA"):
        grey = to_float(np.asarray(im.convert("L")))
        alpha = to_float(np.asarray(im.getchannel("A"))) if mode == "LA" else None
        return Picture(np.repeat(grey[..., None], 3, axis=-1), alpha, grey=True, mode=mode)
    if mode == "F":
        raise ImageError(path, "32-bit float images are not supported; save as 16-bit")
    has_alpha = mode in ("RGBA", "PA") or (mode == "P" and "transparency" in im.info)
    rgba = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
    alpha = to_float(rgba[..., 3]) if has_alpha else None
    return Picture(to_float(rgba[..., :3]), alpha, mode=mode)


def jpeg_tables(im):
    """An opened Pillow image's JPEG quantisation tables, ``{table id: 64 ints}``,
    or None for other formats (read from the header)."""
    if im.format == "JPEG" and getattr(im, "quantization", None):
        return {k: list(v) for k, v in im.quantization.items()}
    return None


def read_picture(path):
    """Reads any image file Pillow can open (PNG, JPEG, BMP, TIFF, WebP, ...).

    Modes: greyscale ("1", "L", "LA", 16-bit "I;16") is kept greyscale; palette
    images become RGB (RGBA when they have transparency); CMYK and other colour
    spaces are converted to RGB by Pillow (without colour management); 16 bits
    per channel are read in full precision.

    Pillow's warning for images above its decompression-bomb threshold
    (``Image.MAX_IMAGE_PIXELS``) is not raised: the file is the user's own, and
    the command line says in its own words that the image is large.

    Raises:
      ImageError: missing, a directory, unreadable, not an image, truncated,
        zero-size, 32-bit float, or too large for Pillow's decompression-bomb limit.
    """
    if os.path.isdir(path):
        raise ImageError(path, "is a directory, expected an image file")
    if not os.path.exists(path):
        raise ImageError(path, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                rawmode = _rawmode(im)
                im.load()
                if 0 in im.size:
                    raise ImageError(path, "image has zero size")
                picture = _picture(im, path, rawmode)
                picture = dataclasses.replace(picture, jpeg_tables=jpeg_tables(im))
    except UnidentifiedImageError:
        raise ImageError(path, "not an image file (unrecognised format)") from None
    except Image.DecompressionBombError as e:
        raise ImageError(path, f"image too large ({e})") from None
    except (OSError, SyntaxError, ValueError) as e:
        if isinstance(e, ImageError):
            raise
        raise ImageError(path, f"cannot read image ({e})") from None
    if picture.rgb.size == 0:
        raise ImageError(path, "image has zero size")
    return picture


def read_image(path):
    """Reads an image file as float32 RGB ``(H, W, 3)`` in [0, 1], upright (see
    ``read_picture``; alpha is dropped)."""
    return read_picture(path).rgb


def to_float(image):
    """An image array as float32: integers are divided by their dtype's maximum
    (uint8 by 255, uint16 by 65535); floats are taken to be in [0, 1] already.
    A float32 array is returned as is (no copy): the entry points that call this
    (training, inference, back-projection) may then nest without cost."""
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.integer):
        return (image / np.iinfo(image.dtype).max).astype(np.float32)
    return image.astype(np.float32, copy=False)


def to_uint8(rgb):
    """float [0, 1] -> uint8 by rounding (values outside are clipped)."""
    return np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


def to_uint16(rgb):
    """float [0, 1] -> uint16 by rounding (values outside are clipped)."""
    return np.round(np.clip(rgb, 0.0, 1.0) * 65535.0).astype(np.uint16)


def as_stored(rgb, bits=8):
    """float [0, 1] -> the float32 values a PNG of ``bits`` (8 or 16) holds of it."""
    return to_float(to_uint16(rgb) if bits == 16 else to_uint8(rgb))


def stored_channels(grey, alpha, bits):
    """Channels of an output file (``stored_pixels``): 1 grey, 2 grey + alpha,
    3 RGB, 4 RGBA, and 4 for 16-bit grey + alpha."""
    channels = (1 if grey else 3) + bool(alpha)
    return 4 if bits == 16 and channels == 2 else channels


def stored_pixels(rgb, alpha=None, grey=False, bits=8):
    """The integer pixels an output file stores: ``(H, W, C)`` uint8 or uint16.

    Channels: grey (the mean of ``rgb``'s), grey + alpha, RGB or RGBA; 16-bit
    grey with alpha is stored as RGBA (the PNG writers here have no 16-bit
    grey + alpha).

    Args:
      rgb: float ``(H, W, 3)`` in [0, 1] (clipped).
      alpha: optional float ``(H, W)`` in [0, 1].
      grey: one grey channel.
      bits: 8 or 16.
    """
    planes = [rgb.mean(axis=-1, keepdims=True)] if grey else [rgb]
    if alpha is not None:
        planes.append(alpha[..., None])
    pixels = np.concatenate(planes, axis=-1)
    if stored_channels(grey, alpha is not None, bits) > pixels.shape[-1]:
        pixels = np.concatenate([np.repeat(pixels[..., :1], 3, -1), pixels[..., 1:]], -1)
    return to_uint16(pixels) if bits == 16 else to_uint8(pixels)


def _png_bytes(rgb, alpha, grey, bits):
    """Encodes float planes in [0, 1] as PNG bytes of the asked layout."""
    pixels = stored_pixels(rgb, alpha, grey, bits)
    if bits == 16 and pixels.shape[-1] > 1:
        # 16-bit colour via OpenCV, which stores BGR(A) channel order.
        code = cv2.COLOR_RGBA2BGRA if pixels.shape[-1] == 4 else cv2.COLOR_RGB2BGR
        ok, encoded = cv2.imencode(".png", cv2.cvtColor(pixels, code))
        if not ok:
            raise ValueError("OpenCV could not encode the 16-bit PNG")
        return encoded.tobytes()
    # Pillow picks the mode from the array: L, LA, RGB, RGBA for uint8, I;16 for uint16.
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path, rgb, alpha=None, grey=False, bits=8):
    """Writes an image as PNG, atomically.

    The file is written to a temporary name in the same folder and renamed, so
    ``path`` is either untouched or complete.

    Args:
      path: output file.
      rgb: float ``(H, W, 3)`` in [0, 1] (clipped).
      alpha: optional float ``(H, W)`` in [0, 1].
      grey: write one grey channel (the mean of ``rgb``'s channels).
      bits: 8 or 16 bits per channel.
    """
    files.write_bytes(path, _png_bytes(np.asarray(rgb, np.float32), alpha, grey, bits))
