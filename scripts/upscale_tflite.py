#!/usr/bin/env python3
"""Upscales an image with an exported zsrgan-tf .tflite model, without TensorFlow.

Needs only numpy, Pillow and ai-edge-litert (the LiteRT runtime), so it runs
where TensorFlow and zsrgan_tf are not installed: copy this file and
``zsrgan_tf/tiling.py`` (numpy only) next to the model.

    python scripts/upscale_tflite.py --model upscaler_fp32.tflite --image x.png

Models: any file written by ``zsrgan_tf.export`` (signature ``serve``: float32
in [0, 1], or ``serve_uint8``). Each holds the whole test-time computation of
the run (the network, and the self-ensemble and back-projection it was run
with), so the output is ``train_one``'s. Dynamic-size models take the image in
tiles of ``--tile`` LR pixels; fixed-size models (``*_tileN.tflite``) in tiles
of their input size. Each tile is cut with ``--tile_pad`` pixels of context,
and only its centre is kept, so the result equals one whole-image pass as long
as the pad covers how far an output pixel depends on the input. The export
writes that reach as ``tile_pad`` in ``upscaler.json`` beside the model, the
default here; without the file the default is 16, which covers the network
alone. Tiles end at the image border where the image ends, so borders are
handled as in a whole-image pass. An image smaller than a fixed model's input
is mirrored up to that size; its right and bottom edges then differ from a
whole-image pass within the reach.

Input: any Pillow image, turned upright by its EXIF orientation (as
``train_one`` reads it) and converted to 8-bit RGB (16-bit greyscale scaled,
not clipped). Output: an 8-bit RGB PNG, written to a temporary file and
renamed; an existing file is kept unless --overwrite.
Errors print one line and exit with status 2.
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
from ai_edge_litert.interpreter import Interpreter
from PIL import Image, ImageOps


def _load_tiling():
    """``zsrgan_tf/tiling.py`` (numpy only), from beside this file or from the repository."""
    here = os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "tiling.py"),
                 os.path.join(here, os.pardir, "zsrgan_tf", "tiling.py")):
        if os.path.exists(path):
            spec = importlib.util.spec_from_file_location("zsrgan_tiling", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    sys.exit("upscale_tflite: tiling.py not found: copy zsrgan_tf/tiling.py next to this script")


tiling = _load_tiling()

# Written by the export beside the model files (``zsrgan_tf.export.CARD``).
CARD = "upscaler.json"
# Context without the card: the network alone of every preset.
DEFAULT_PAD = 16


class Upscaler:
    """One .tflite upscaler: ``upscale(uint8 RGB) -> float32 RGB in [0, 1]``."""

    def __init__(self, path, threads=None):
        self.interpreter = Interpreter(model_path=path, num_threads=threads or os.cpu_count())
        signatures = self.interpreter.get_signature_list()
        if len(signatures) != 1:
            raise ValueError(f"expected one signature, found {sorted(signatures)}")
        self.key = next(iter(signatures))
        self.runner = self.interpreter.get_signature_runner(self.key)
        details = self.runner.get_input_details()
        if len(details) != 1:
            raise ValueError("expected one input (an image)")
        (self.input_name, spec), = details.items()
        self.dtype = spec["dtype"]
        shape = spec["shape_signature"]
        # Fixed-size model: (1, side, side, 3); dynamic: -1 entries.
        self.fixed = None if min(shape[1:3]) < 0 else (int(shape[1]), int(shape[2]))

    def _run(self, lr):
        """uint8 (h, w, 3) -> float32 (s*h, s*w, 3) in [0, 1], in one call."""
        x = lr[None] if self.dtype == np.uint8 else lr[None].astype(np.float32) / 255.0
        (y,) = self.runner(**{self.input_name: x}).values()
        return y[0] / np.float32(255.0) if y.dtype == np.uint8 else y[0]

    def upscale(self, lr, tile=512, pad=DEFAULT_PAD):
        """uint8 RGB ``(H, W, 3)`` -> float32 RGB ``(s*H, s*W, 3)``, tile by tile."""
        h, w = lr.shape[:2]
        if not self.fixed:
            return tiling.tiled(self._run, lr, tile, pad)
        grow = (max(0, self.fixed[0] - h), max(0, self.fixed[1] - w))
        lr = np.pad(lr, ((0, grow[0]), (0, grow[1]), (0, 0)), mode="symmetric")
        cores = tuple(max(1, side - 2 * pad) for side in self.fixed)
        sr = tiling.tiled(self._run, lr, cores, pad, self.fixed)
        scale = sr.shape[0] // lr.shape[0]
        return sr[: h * scale, : w * scale]


def read_card(model_path):
    """The export's ``upscaler.json`` beside ``model_path`` as a dict ({} if absent)."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), CARD)
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        card = json.load(f)
    if not isinstance(card, dict):
        raise ValueError("not a JSON object")
    return card


def read_rgb(path):
    """The image as uint8 RGB ``(H, W, 3)``, upright by its EXIF orientation."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode.startswith("I"):  # 16-bit greyscale; convert("RGB") would clip it
            im = Image.fromarray(np.round(np.clip(np.asarray(im, np.float64) / 257.0, 0, 255))
                                 .astype(np.uint8))
        return np.asarray(im.convert("RGB"))


def _write_png(path, rgb):
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp creates 0600
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(rgb).save(f, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help=".tflite file from zsrgan_tf.export")
    parser.add_argument("--image", required=True, help="image to upscale")
    parser.add_argument("--output", help="PNG to write (default <image stem>_sr.png beside it)")
    parser.add_argument("--tile", type=int, default=512,
                        help="LR tile side for dynamic-size models (default 512)")
    parser.add_argument("--tile_pad", type=int, default=None,
                        help="context per side, LR pixels (default: tile_pad of upscaler.json "
                             "beside the model, else 16)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default all)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    args = parser.parse_args(argv)
    output = args.output or os.path.splitext(args.image)[0] + "_sr.png"

    def fail(path, problem):
        print(f"upscale_tflite: {path}: {problem}", file=sys.stderr)
        return 2

    if args.tile_pad is None:
        try:
            args.tile_pad = read_card(args.model).get("tile_pad", DEFAULT_PAD)
        except (OSError, ValueError) as e:
            return fail(os.path.join(os.path.dirname(args.model), CARD), f"unreadable ({e})")
    if args.tile < 1 or args.tile_pad < 0:
        return fail("--tile/--tile_pad", "tile must be >= 1 and tile_pad >= 0")
    if os.path.exists(output) and not args.overwrite:
        return fail(output, "exists; pass --overwrite to replace it")
    try:
        model = Upscaler(args.model, args.threads)
    except (OSError, ValueError, RuntimeError) as e:
        return fail(args.model, f"not a usable .tflite model ({str(e).splitlines()[0]})")
    if model.fixed and min(model.fixed) <= 2 * args.tile_pad:
        return fail(args.model, f"fixed input {model.fixed} leaves no centre with "
                                f"--tile_pad {args.tile_pad}")
    try:
        rgb = read_rgb(args.image)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        return fail(args.image, f"cannot read the image ({e.__class__.__name__}: {e})")
    if min(rgb.shape[:2]) < 2:
        return fail(args.image, f"image is {rgb.shape[1]}x{rgb.shape[0]}; needs at least 2x2")
    try:
        sr = model.upscale(rgb, args.tile, args.tile_pad)
    except (RuntimeError, ValueError) as e:
        return fail(args.model, f"inference failed ({str(e).splitlines()[0]})")
    try:
        _write_png(output, np.round(np.clip(sr, 0.0, 1.0) * 255.0).astype(np.uint8))
    except OSError as e:
        return fail(output, f"cannot write ({e.strerror or e})")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
