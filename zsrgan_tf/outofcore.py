"""From image file to image file in bounded memory: inputs of any size.

A large input is never held whole. libvips (``pyvips``) reads it by regions:
a tiled TIFF directly, other formats decoded once into a temporary disc file
that libvips manages. The output is computed band by band (a row of tiles,
``tiling.bands``), each window with the inference's full context
(``inference.context``), so it equals the whole-image result; each band is
written to a raw file at its offset and recorded as done, so a killed run
resumes at its first unfinished band. At the end pypng encodes the raw file
as PNG, streaming it (libvips, which maps the raw file whole, would hold it in
resident memory while it reads it).

The raw file holds the stored integer pixels (``imaging.stored_pixels``:
grey, grey + alpha, RGB or RGBA, 8 or 16 bits), rows top to bottom.
"""

import dataclasses
import json
import os
import time

import numpy as np

from zsrgan_tf import callbacks, files, imaging, inference, tiling

# Inputs above this many pixels are large: trained on their centre region of this
# many pixels (the fathers' resize matrices grow with the side squared) and
# written file to file in bands, so memory does not grow with them.
LARGE_PIXELS = 2**23
# The raw output and the record of its finished bands, in the run's folder.
RAW = "output.raw"
BANDS = "bands.json"
# Most float32 output a band holds (its rows are fewer than a tile's when the
# image is very wide).
BAND_BYTES = 2**28
# Memory a window's network pass may use (``inference.auto_tile``'s budget): half
# the in-memory path's, so that a band, the process and the window stay within
# about 3 GiB together.
WINDOW_BYTES = 2**30
# The process before any image (TensorFlow, the models, VGG16): about 0.75 GiB
# measured on this project's machines, counted as 1 GiB; training on a region
# adds about 60 bytes per region pixel (0.5 GiB for 8.4 megapixels); inference
# took a quarter more than its window and band buffers (allocator overhead).
PROCESS_BYTES = 2**30
TRAINING_BYTES_PER_PIXEL = 60
INFERENCE_OVERHEAD = 1.25

_BITS = {"uchar": 8, "ushort": 16}


def _vips():
    import pyvips  # imported when a large image is met: small runs do without it

    return pyvips


class Source:
    """An image file read by regions: ``source[rows, cols]`` is float32 RGB
    ``(h, w, 3)`` in [0, 1] (grey repeated in the three channels), upright
    (EXIF orientation applied), as ``imaging.read_picture`` reads it.

    Attributes:
      path: the file.
      shape: ``(H, W, 3)``.
      grey, bits, has_alpha: what the output is written as (``imaging.Picture``).

    Raises:
      imaging.ImageError: not an image libvips reads, or a layout other than
        grey or RGB (with or without alpha) at 8 or 16 bits.
    """

    def __init__(self, path):
        pyvips = _vips()
        try:
            image = pyvips.Image.new_from_file(path).autorot()
        except pyvips.Error as e:
            raise imaging.ImageError(path, f"cannot read image ({_first_line(e)})") from None
        if image.format not in _BITS or image.bands not in (1, 2, 3, 4) or (
                image.interpretation == "cmyk"):
            raise imaging.ImageError(path, f"{image.bands}-band {image.format} "
                                     f"{image.interpretation} image: large images must be grey "
                                     "or RGB, 8 or 16 bits")
        self.path = path
        self._image = image
        self.bits = _BITS[image.format]
        self.grey = image.bands in (1, 2)
        self.has_alpha = image.bands in (2, 4)
        self.shape = (image.height, image.width, 3)

    def _pixels(self, rows, cols):
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        try:
            region = self._image.crop(c0, r0, c1 - c0, r1 - r0).numpy()
        except _vips().Error as e:
            raise imaging.ImageError(self.path, f"cannot read image ({_first_line(e)})") from None
        return region.reshape(r1 - r0, c1 - c0, -1)

    def __getitem__(self, key):
        rows, cols = key
        pixels = self._pixels(rows, cols)
        colour = pixels[..., :1] if self.grey else pixels[..., :3]
        return imaging.to_float(np.repeat(colour, 3, -1) if self.grey else colour)

    def alpha(self, rows, cols):
        """float32 ``(h, w)`` alpha of a region, or None."""
        return imaging.to_float(self._pixels(rows, cols)[..., -1]) if self.has_alpha else None



def centre(shape, pixels):
    """The centre region of an image of ``shape`` (H, W, ...) with at most
    ``pixels`` pixels and the image's aspect ratio (the whole image when it has
    no more): ``(rows, cols)`` slices."""
    height, width = shape[:2]
    shrink = min(1.0, (pixels / (height * width)) ** 0.5)
    h, w = max(1, int(height * shrink)), max(1, int(width * shrink))
    top, left = (height - h) // 2, (width - w) // 2
    return slice(top, top + h), slice(left, left + w)


def _first_line(error):
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


@dataclasses.dataclass(frozen=True)
class Layout:
    """The output's pixels: ``height`` x ``width`` x ``channels`` at ``bits``."""

    height: int
    width: int
    channels: int
    bits: int

    @property
    def row_bytes(self):
        return self.width * self.channels * self.bits // 8


class Sink:
    """The output, written band by band to ``folder/output.raw`` and recorded
    in ``folder/bands.json`` (which bands are done, for which layout and
    settings), then encoded (``encode``).

    Args:
      folder: the run's folder.
      layout: ``Layout``.
      settings: dict that must match for a resumed run to keep finished bands
        (the tiling, the generators' files).
    """

    def __init__(self, folder, layout, settings):
        self.layout = layout
        self.raw = os.path.join(folder, RAW)
        self.record = os.path.join(folder, BANDS)
        self._settings = {"layout": dataclasses.asdict(layout), **settings}
        self.done = 0
        if os.path.exists(self.record) and os.path.exists(self.raw):
            with open(self.record) as f:
                record = json.load(f)
            if record.get("settings") == self._settings:
                self.done = record["done"]
        if not self.done:
            with open(self.raw, "wb") as f:
                f.truncate(layout.height * layout.row_bytes)

    def write(self, index, row, pixels):
        """Writes band ``index`` (integer pixels ``(rows, width, channels)``) at
        output row ``row``, then records it done."""
        with open(self.raw, "r+b") as f:
            f.seek(row * self.layout.row_bytes)
            f.write(np.ascontiguousarray(pixels, f"<u{self.layout.bits // 8}").tobytes())
            f.flush()
            os.fsync(f.fileno())
        self.done = index + 1
        files.write_bytes(self.record, json.dumps(
            {"settings": self._settings, "done": self.done}).encode())

    def encode(self, path):
        """Encodes the raw pixels as a PNG at ``path``, atomically, streaming them
        (pypng: rows in, zlib out, a band of rows held at a time); removes the
        raw file and its record."""
        import png  # pypng

        layout = self.layout
        grey = layout.channels in (1, 2)
        rows_per_read = max(1, BAND_BYTES // 4 // layout.row_bytes)
        dtype = np.dtype(f"<u{layout.bits // 8}")

        def rows():
            with open(self.raw, "rb") as f:
                for top in range(0, layout.height, rows_per_read):
                    count = min(rows_per_read, layout.height - top)
                    band = np.frombuffer(f.read(count * layout.row_bytes), dtype)
                    yield from band.reshape(count, -1)

        writer = png.Writer(layout.width, layout.height, greyscale=grey,
                            alpha=layout.channels in (2, 4), bitdepth=layout.bits)
        files.write_with(path, lambda f: writer.write(f, rows()))
        os.remove(self.raw)
        os.remove(self.record)


def core(shape, scale, generator, pad, tile=None):
    """The ``(rows, cols)`` core of the tiles for an LR image of ``shape``:
    ``tile`` (or ``inference.auto_tile``'s side, by memory) square, with fewer
    rows when a band of them would exceed ``BAND_BYTES``.

    Args:
      shape: LR ``(H, W, ...)``.
      scale: the whole factor.
      generator: the last step's ``models.Generator`` (its maps set the memory).
      pad: context per window side, LR pixels.
      tile: the core side; None: by memory.
    """
    side = tile or inference.auto_tile(shape, scale, generator.filters, generator.block,
                                       WINDOW_BYTES, pad) or max(shape[:2])
    band_rows = BAND_BYTES // (shape[1] * scale * scale * 3 * 4)
    return max(1, min(side, band_rows)), side


def available_memory():
    """Bytes this process may still take: the kernel's ``MemAvailable``, or less
    under a cgroup (container) limit; None where neither can be read."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            left = int(limit) - int(f.read()) if limit != "max" else None
        if left is not None:
            available = left if available is None else min(available, left)
    except (OSError, ValueError):
        pass
    return available


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a large run will do and need, said before it starts.

    Attributes:
      windows: how many windows the output takes.
      seconds: inference time, from one window timed on this machine.
      peak_bytes: the process's estimated peak memory (``PROCESS_BYTES``, and the
        larger of training on ``train_pixels`` and one window with a band).
    """

    windows: int
    seconds: float
    peak_bytes: int

    def describe(self):
        return (f"{self.windows} windows, inference about "
                f"{callbacks.duration(self.seconds)} (one timed), "
                f"peak memory about {self.peak_bytes / 2**30:.1f} GiB")


def plan(upscale_window, shape, scale, generator, core, pad, train_pixels):
    """Estimates a band run's time and memory before it starts.

    The time is one window of ``upscale_window`` timed here (its cost does not
    depend on the weights, so an untrained generator serves) times the
    windows' area over its own. The memory is ``PROCESS_BYTES`` plus the larger
    of training (``TRAINING_BYTES_PER_PIXEL`` per pixel of ``train_pixels``)
    and inference: one window (``inference.BYTES_PER_CHANNEL_PIXEL`` per hidden
    channel per SR pixel) and two copies of a band, times ``INFERENCE_OVERHEAD``.

    Args:
      upscale_window: function of one window (``inference.window_upscaler``).
      shape: LR ``(H, W, ...)``.
      scale: the whole factor.
      generator: the last step's ``models.Generator``.
      core, pad: the tiling (``core``, ``inference.context``).
      train_pixels: pixels of the training region.
    """
    rows = tiling.windows(shape[0], core[0], pad)
    cols = tiling.windows(shape[1], core[1], pad)
    area = sum((r1 - r0) * (c1 - c0) for _, _, r0, r1 in rows for _, _, c0, c1 in cols)
    side = min(256, shape[0], shape[1])
    window = np.zeros((side, side, 3), np.float32)
    upscale_window(window)  # the kernels' set-up for this shape, done once per shape
    start = time.perf_counter()
    upscale_window(window)
    seconds = (time.perf_counter() - start) * area / (side * side)
    largest = max((r1 - r0) * (c1 - c0) for _, _, r0, r1 in rows for _, _, c0, c1 in cols)
    network = (inference.BYTES_PER_CHANNEL_PIXEL * generator.filters * largest * scale * scale
               // (generator.block * generator.block))
    band = core[0] * shape[1] * scale * scale * 3 * 4
    peak = PROCESS_BYTES + max(TRAINING_BYTES_PER_PIXEL * train_pixels,
                               int(INFERENCE_OVERHEAD * (network + 2 * band)))
    return Plan(len(rows) * len(cols), seconds, peak)


def upscale(upscale_window, source, sink, scale, core, pad, degradation=None, progress=None):
    """Runs ``upscale_window`` over ``source`` band by band into ``sink``, in
    the source's layout (grey or colour, alpha).

    Args:
      upscale_window: function float32 ``(h, w, 3)`` -> ``(scale*h, scale*w, 3)``.
      source: ``Source``.
      sink: ``Sink``; bands it has done are skipped.
      scale: the whole factor.
      core: ``(rows, cols)`` of a tile's core, LR pixels.
      pad: context per window side, LR pixels (``inference.context``).
      degradation: the run's ``Degradation``: its grid upscales the alpha channel
        (``inference.upscale_alpha``, reach 2 pixels); None: bicubic.
      progress: ``progress(label, done, total)`` (``callbacks.StepProgress``).

    Raises:
      FloatingPointError: the output has NaN or infinite values (a diverged run).
    """
    alpha_rows = tiling.windows(source.shape[0], core[0], 2)
    for index, (r0, r1), band in tiling.bands(upscale_window, source, core, pad,
                                              progress=progress, first=sink.done):
        if not np.isfinite(band).all():
            raise FloatingPointError("non-finite output")
        alpha = None
        if source.has_alpha:
            _, _, w0, w1 = alpha_rows[index]
            plane = inference.upscale_alpha(source.alpha(slice(w0, w1), slice(None)), scale,
                                            degradation)
            alpha = plane[(r0 - w0) * scale:(r1 - w0) * scale]
        pixels = imaging.stored_pixels(band, alpha, source.grey, sink.layout.bits)
        sink.write(index, r0 * scale, pixels)
