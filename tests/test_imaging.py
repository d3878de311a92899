"""Image files of every kind a user has: read upright in full precision, written back alike."""

import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from zsrgan_tf import imaging

SIZE = (6, 9)  # (H, W): non-square, so a rotation is visible


@pytest.fixture
def rgb8(rng):
    return rng.integers(0, 256, (*SIZE, 3), np.uint8)


@pytest.fixture
def rgb16(rng):
    return rng.integers(0, 65536, (*SIZE, 3), np.uint16)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, rgb8, orientation):
    image = Image.fromarray(rgb8)
    exif = image.getexif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    image.save(path, exif=exif, quality=95)
    want = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    picture = imaging.read_picture(str(path))
    assert picture.rgb.shape == want.shape and not picture.grey and picture.bits == 8
    np.testing.assert_array_equal(imaging.to_uint8(picture.rgb), want)
    # The table used for 16-bit colour (read without Pillow) makes the same transposes.
    raw = np.asarray(Image.open(path))
    np.testing.assert_array_equal(imaging._UPRIGHT.get(orientation, lambda a: a)(raw), want)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_is_read_and_written_in_full(tmp_path, rgb16, suffix):
    path = str(tmp_path / f"deep{suffix}")
    cv2.imwrite(path, rgb16[..., ::-1])  # OpenCV stores BGR
    assert np.asarray(Image.open(path)).dtype == np.uint8  # what Pillow alone would give
    picture = imaging.read_picture(path)
    assert (picture.bits, picture.grey, picture.mode) == (16, False, "RGB;16")
    np.testing.assert_array_equal(imaging.to_uint16(picture.rgb), rgb16)
    out = str(tmp_path / "out.png")
    imaging.write_png(out, picture.rgb, bits=16)
    np.testing.assert_array_equal(cv2.imread(out, cv2.IMREAD_UNCHANGED)[..., ::-1], rgb16)


def test_16_bit_rgba(tmp_path, rng):
    rgba = rng.integers(0, 65536, (*SIZE, 4), np.uint16)
    path = str(tmp_path / "deep.png")
    cv2.imwrite(path, rgba[..., [2, 1, 0, 3]])
    picture = imaging.read_picture(path)
    np.testing.assert_array_equal(imaging.to_uint16(picture.rgb), rgba[..., :3])
    np.testing.assert_array_equal(imaging.to_uint16(picture.alpha), rgba[..., 3])
    imaging.write_png(path, picture.rgb, picture.alpha, bits=16)
    np.testing.assert_array_equal(cv2.imread(path, cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]],
                                  rgba)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_grey(tmp_path, rng, suffix):
    grey = rng.integers(0, 65536, SIZE, np.uint16)
    path = str(tmp_path / f"scan{suffix}")
    Image.fromarray(grey).save(path)
    picture = imaging.read_picture(path)
    assert picture.grey and picture.bits == 16 and picture.alpha is None
    for channel in range(3):
        np.testing.assert_array_equal(imaging.to_uint16(picture.rgb[..., channel]), grey)
    out = str(tmp_path / "out.png")
    imaging.write_png(out, picture.rgb, grey=True, bits=16)
    assert Image.open(out).mode == "I;16"
    np.testing.assert_array_equal(np.asarray(Image.open(out)), grey)


def _png_grey_alpha_16(path, grey, alpha):
    """A 16-bit grey + alpha PNG (colour type 4), which neither Pillow nor OpenCV writes."""
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    h, w = grey.shape
    rows = np.stack([grey, alpha], -1).astype(">u2").reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter 0 per row
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_16_bit_grey_with_alpha_stays_grey(tmp_path, rng):
    grey = rng.integers(0, 65536, SIZE, np.uint16)
    alpha = rng.integers(0, 65536, SIZE, np.uint16)
    path = str(tmp_path / "la16.png")
    _png_grey_alpha_16(path, grey, alpha)
    picture = imaging.read_picture(path)
    assert (picture.grey, picture.bits, picture.mode) == (True, 16, "LA;16")
    for channel in range(3):
        np.testing.assert_array_equal(imaging.to_uint16(picture.rgb[..., channel]), grey)
    np.testing.assert_array_equal(imaging.to_uint16(picture.alpha), alpha)


@pytest.mark.parametrize("mode", ["L", "1", "LA"])
def test_greyscale_stays_greyscale(tmp_path, rgb8, mode):
    image = Image.fromarray(rgb8).convert(mode)
    path = str(tmp_path / "grey.png")
    image.save(path)
    picture = imaging.read_picture(path)
    assert picture.grey and picture.bits == 8 and (picture.alpha is not None) == (mode == "LA")
    want = np.asarray(image.convert("L"))
    np.testing.assert_array_equal(imaging.to_uint8(picture.rgb), np.dstack([want] * 3))
    imaging.write_png(path, picture.rgb, picture.alpha, grey=True)
    assert Image.open(path).mode == ("LA" if mode == "LA" else "L")
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("L")), want)


def test_rgba_keeps_its_alpha(tmp_path, rgb8, rng):
    alpha = rng.integers(0, 256, SIZE, np.uint8)
    path = str(tmp_path / "logo.png")
    Image.fromarray(np.dstack([rgb8, alpha])).save(path)
    picture = imaging.read_picture(path)
    np.testing.assert_array_equal(imaging.to_uint8(picture.rgb), rgb8)
    np.testing.assert_array_equal(imaging.to_uint8(picture.alpha), alpha)
    imaging.write_png(path, picture.rgb, picture.alpha)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), np.dstack([rgb8, alpha]))


@pytest.mark.parametrize("transparency", [False, True])
def test_palette_becomes_rgb(tmp_path, rgb8, transparency):
    image = Image.fromarray(rgb8).quantize(8)
    path = str(tmp_path / "palette.png")
    image.save(path, **({"transparency": 0} if transparency else {}))
    picture = imaging.read_picture(path)
    assert picture.mode == "P" and not picture.grey
    np.testing.assert_array_equal(imaging.to_uint8(picture.rgb), np.asarray(image.convert("RGB")))
    assert (picture.alpha is not None) == transparency
    if transparency:
        index = np.asarray(image)
        np.testing.assert_array_equal(picture.alpha == 0, index == 0)


def test_cmyk_becomes_rgb(tmp_path, rgb8):
    path = str(tmp_path / "print.jpg")
    Image.fromarray(rgb8).convert("CMYK").save(path, quality=95)
    picture = imaging.read_picture(path)
    assert picture.mode == "CMYK" and picture.rgb.shape == (*SIZE, 3)
    np.testing.assert_array_equal(imaging.to_uint8(picture.rgb),
                                  np.asarray(Image.open(path).convert("RGB")))


@pytest.mark.parametrize("suffix,options", [(".bmp", {}), (".webp", {"lossless": True}),
                                            (".tif", {}), (".png", {})])
def test_lossless_formats_read_exactly(tmp_path, rgb8, suffix, options):
    path = str(tmp_path / f"image{suffix}")
    Image.fromarray(rgb8).save(path, **options)
    np.testing.assert_array_equal(imaging.to_uint8(imaging.read_image(path)), rgb8)


def _zero_width_png():
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "noise.png", np.random.default_rng(1).bytes(4096)),
         "not an image file"),
        (lambda d: _write(d / "zero.png", _zero_width_png()), "not an image file"),
        (lambda d: _float_tiff(d / "float.tif"), "32-bit float images are not supported"),
    ],
    ids=["missing", "directory", "random-bytes", "zero-size", "float32"],
)
def test_bad_files_raise_one_line_naming_the_file(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(imaging.ImageError) as error:
        imaging.read_picture(str(path))
    text = str(error.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def _write(path, blob):
    path.write_bytes(blob)
    return path


def _float_tiff(path):
    Image.fromarray(np.full((8, 8), 0.5, np.float32)).save(path)
    return path


def test_large_images_raise_no_pillow_warning(tmp_path, monkeypatch):
    """Above Pillow's decompression-bomb threshold the read is silent (the command
    line prints its own line instead)."""
    import warnings

    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # 600 pixels: "large"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert imaging.read_image(tmp_path / "big.png").shape == (20, 30, 3)
