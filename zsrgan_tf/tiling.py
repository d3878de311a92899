"""Tiled super-resolution: apply an upscaler to overlapping windows of a large image.

Each tile's "core" is cut with ``pad`` pixels of context on every side and
only the core of the result is kept. The output equals one whole-image pass
when ``pad`` covers the upscaler's reach (how far an output pixel's value
depends on input pixels, in LR pixels): windows end where the image ends, so
borders are handled exactly as in the whole-image pass.

This module needs only numpy and imports nothing from the package, so that
``scripts/upscale_tflite.py`` can load it where TensorFlow is not installed.
"""

import numpy as np

# Smallest window side, so that a window always has a neighbour to interpolate with.
MIN_WINDOW = 2


def windows(length, core, pad, window=None):
    """Tiles along one axis: ``(core_start, core_end, win_start, win_end)``.

    Cores of ``core`` pixels cover ``[0, length)``. A window is its core widened
    by ``pad`` on each side and cut at the image ends (and widened backwards to
    ``MIN_WINDOW`` pixels: more context leaves the core unchanged), or, when
    ``window`` is given (fixed-size models; ``window >= core + 2 * pad`` and
    ``<= length``), exactly ``window`` pixels placed to keep that context inside
    the image.
    """
    if window is not None and length <= window:  # one window holds it all: no seams
        return [(0, length, 0, window)]
    tiles = []
    for start in range(0, length, core):
        end = min(start + core, length)
        if window is None:
            win_end = min(length, end + pad)
            win_start = max(0, min(start - pad, win_end - MIN_WINDOW))
            tiles.append((start, end, win_start, win_end))
        else:
            win_start = min(max(0, start - pad), length - window)
            tiles.append((start, end, win_start, win_start + window))
    return tiles


def bands(upscale, lr, core, pad, window=None, progress=None, first=0):
    """Runs ``upscale`` window by window and yields the result one band (a row
    of tiles) at a time, so that no more than a band is ever held.

    Args:
      upscale: function ``(h, w, C) -> (s*h, s*w, C')`` float, for one window.
      lr: array ``(H, W, C)``, or any object with ``shape`` and 2-D slicing that
        returns one (``outofcore.Source``); with ``window``, ``H`` and ``W`` must
        be at least the window sides.
      core: core side, int or ``(rows, cols)``.
      pad: context per side, LR pixels.
      window: optional fixed window sides ``(rows, cols)`` (fixed-size models).
      progress: optional ``progress(label, done, total)``, called with label
        ``"tiles"`` before the first window and after each.
      first: index of the first band computed (the earlier ones are skipped:
        a resumed run).

    Yields:
      ``(index, rows, band)``: the band's index, its first and last LR rows
      ``(r0, r1)`` and float32 ``(s*(r1-r0), s*W, C')``, its output rows.
    """
    rows_core, cols_core = (core, core) if np.isscalar(core) else core
    rows_window, cols_window = window if window is not None else (None, None)
    rows = windows(lr.shape[0], rows_core, pad, rows_window)
    cols = windows(lr.shape[1], cols_core, pad, cols_window)
    report = progress or (lambda label, done, total: None)
    total = (len(rows) - first) * len(cols)
    report("tiles", 0, total)
    for i, (r0, r1, wr0, wr1) in enumerate(rows[first:], first):
        band = None
        for j, (c0, c1, wc0, wc1) in enumerate(cols):
            sr = np.asarray(upscale(np.ascontiguousarray(lr[wr0:wr1, wc0:wc1])))
            scale = sr.shape[0] // (wr1 - wr0)
            if band is None:
                band = np.empty(((r1 - r0) * scale, lr.shape[1] * scale, sr.shape[2]),
                                np.float32)
            band[:, c0 * scale:c1 * scale] = sr[
                (r0 - wr0) * scale:(r1 - wr0) * scale, (c0 - wc0) * scale:(c1 - wc0) * scale]
            report("tiles", (i - first) * len(cols) + j + 1, total)
        yield i, (r0, r1), band


def tiled(upscale, lr, core, pad, window=None, progress=None):
    """Runs ``upscale`` window by window and assembles the cores (``bands``).

    Args:
      upscale, lr, core, pad, window, progress: as for ``bands``.

    Returns:
      float32 ``(s*H, s*W, C')``; ``s`` is read from the first window's output.
    """
    out = None
    for _, (r0, r1), band in bands(upscale, lr, core, pad, window, progress):
        scale = band.shape[0] // (r1 - r0)
        if out is None:
            out = np.empty((lr.shape[0] * scale,) + band.shape[1:], np.float32)
        out[r0 * scale:r1 * scale] = band
    return out
