#!/usr/bin/env python3
"""Tries ``train_one`` on every kind of input and failure and writes docs/ROBUSTNESS.md.

Each case is made in a temporary folder from a real image (a crop of
``--image``), run through ``scripts/train_one.py`` as a user would (1 training
iteration: the behaviour, not the quality, is under test), and reported with
what was observed: exit code, the error line, and the output file's mode, bit
depth and size. The good inputs run as one folder, which also exercises the
folder mode.

Example:
  python -m benchmarks.robustness_report --image $ZSRGAN_DATA/Set5/LR_g20_x2/baby.png
"""

import os
import struct
import subprocess
import sys
import tempfile
import zlib

import cv2
import numpy as np
from absl import app, flags
from PIL import Image

from zsrgan_tf import files, imaging

FLAGS = flags.FLAGS
flags.DEFINE_string("image", "samples/chelsea.png", "Real image the cases are cut from.")
flags.DEFINE_string("out", "results/ROBUSTNESS.md", "Markdown report.")

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_one.py")


# The tests' crash, kill and scale cases, as the report lists them.
CRASHES = (
    '| run killed (SIGKILL) after its first checkpoint | the next run without `--resume` '
    'stops with `error: .../.crop_x2.partial: holds an interrupted run of this image; '
    '--resume continues it, --overwrite starts over` (exit 2); with `--resume` it finishes '
    'with the same generator as an uninterrupted run (1e-5) and a loss log with each '
    'iteration once | '
    '`test_robustness.py::test_resume_after_kill_gives_the_uninterrupted_result` |',
    '| run killed while writing its exports, then `--resume` | the half-written '
    '`savedmodel/` in the partial folder is replaced once the new one is complete (a rename'
    ' cannot replace a non-empty folder) | '
    '`test_export.py::test_folder_exports_replace_earlier_ones` |',
    '| NaN injected into the generator at iteration 7 (checkpoints every 5) | stops at '
    'iteration 7, exit 1, `training diverged (non-finite loss at iteration 7); the '
    'generator of iteration 5 is kept in .../generator_last_good.keras`; no SR image '
    'written | `test_robustness.py::test_nan_loss_stops_and_keeps_the_last_good_generator` '
    '|',
    '| large image, tiled inference | equals the one-pass output within 1e-5 (centre grid, '
    'with back-projection; corner grid with the self-ensemble and back-projection); with '
    'too little context the seams show (> 1e-3) | '
    '`test_inference.py::test_tiled_inference_equals_one_pass` |',
    '| input above 2^23 pixels | trains on its centre region, prints its plan (windows, '
    'time, memory), writes the output in bands; equals the in-memory result within one '
    'level for RGB, grey + alpha, 16-bit RGBA and 16-bit grey | `test_outofcore.py` |',
    '| input above 2^23 pixels, killed during inference | `--resume` restarts at the first '
    'unfinished band | '
    '`test_outofcore.py::test_large_images_train_on_their_centre_and_write_in_bands`, '
    '`test_a_killed_run_resumes_at_its_first_unfinished_band` |',
    '| input above 2^23 pixels, more memory needed than available | one line `error: '
    '<file>: needs about N GiB of memory, M GiB available; ...`, exit 2, before training, '
    'nothing left behind | '
    '`test_outofcore.py::test_a_large_run_the_machine_cannot_hold_stops_before_training` |',
    '| large CMYK or Lab input | one line `error: <file>: 4-band uchar cmyk image: large '
    'images must be grey or RGB, 8 or 16 bits`, exit 2 | '
    '`test_outofcore.py::test_unsupported_large_inputs_are_one_line_errors` |',
    '| 1 to 108 megapixel inputs | see [results.md, "Large '
    'images"](results.md#large-images) (peak memory, time) | `benchmarks/bench_large.py` |',
    "| `--ray local`, a worker killed (SIGKILL) after the image's first checkpoint | Ray "
    'retries the task; it resumes from the checkpoint and writes the same PNG as an '
    'uninterrupted run; exit 0 | '
    '`test_cluster.py::test_a_worker_killed_mid_image_is_retried_and_gives_the_same_png` |',
    '| `--ray local`, the same job submitted twice | the second reports every finished '
    'image `done before` and trains nothing (its loss logs untouched) | `test_cluster.py::t'
    'est_ray_run_equals_the_sequential_run_and_a_second_submission_trains_nothing` |',
    '| `--ray local`, a file that is no image among three photos | it fails alone with the '
    "sequential run's one-line error; exit 1 | same test |",
    '| `--ray 127.0.0.1:1` (nothing listens), `--ray nowhere` | `error: --ray 127.0.0.1:1: '
    'cannot reach 127.0.0.1:1 (Connection refused)`, `error: --ray nowhere: not local, '
    'auto, HOST:PORT or ray://HOST:PORT`; exit 2, nothing written | '
    '`test_cluster.py::test_an_unreachable_cluster_is_one_line_exit_2` |',
    '| `--resume --overwrite` on an interrupted run of other settings | the interrupted run'
    ' is discarded and this one starts over (without `--overwrite`: `error: ...: the '
    'interrupted run used other settings; ...`, exit 2) | '
    '`test_robustness.py::test_resume_with_overwrite_starts_a_run_of_other_settings_over` |',
)


def _good_inputs(rgb, folder):
    """Writes one file per input kind, each with its own stem (outputs are named by
    stem); returns ``{file name: description}``."""
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    deep = rgb.astype(np.uint16) * 257
    cases = {}

    def save(name, description, write):
        write(os.path.join(folder, name))
        cases[name] = description

    save("rgb.png", "RGB PNG, 8-bit", lambda p: Image.fromarray(rgb).save(p))
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: a viewer rotates it 90 degrees clockwise
    save("exif_rotated.jpg", "JPEG with EXIF orientation 6 (stored sideways)",
         lambda p: Image.fromarray(np.rot90(rgb, 1).copy()).save(p, exif=exif, quality=95))
    save("grey.png", "greyscale PNG (L)", lambda p: Image.fromarray(grey).save(p))
    save("bilevel.png", "bilevel PNG (1)", lambda p: Image.fromarray(grey).convert("1").save(p))
    save("rgba.png", "RGBA PNG (alpha = a gradient)",
         lambda p: Image.fromarray(np.dstack([rgb, _gradient(rgb)])).save(p))
    save("grey_alpha.png", "greyscale + alpha PNG (LA)",
         lambda p: Image.fromarray(np.dstack([grey, _gradient(rgb)])).save(p))
    save("palette.png", "palette PNG (P, 64 colours)",
         lambda p: Image.fromarray(rgb).quantize(64).save(p))
    save("palette_transparent.png", "palette PNG with a transparent colour",
         lambda p: Image.fromarray(rgb).quantize(64).save(p, transparency=0))
    save("grey16.png", "16-bit greyscale PNG (I;16)",
         lambda p: Image.fromarray(grey.astype(np.uint16) * 257).save(p))
    save("grey16_tiff.tif", "16-bit greyscale TIFF",
         lambda p: Image.fromarray(grey.astype(np.uint16) * 257).save(p))
    save("rgb48.png", "48-bit RGB PNG", lambda p: cv2.imwrite(p, deep[..., ::-1]))
    save("rgb48_tiff.tif", "48-bit RGB TIFF", lambda p: cv2.imwrite(p, deep[..., ::-1]))
    save("rgba64.png", "64-bit RGBA PNG", lambda p: cv2.imwrite(
        p, np.dstack([deep[..., ::-1], _gradient(rgb).astype(np.uint16) * 257])))
    save("cmyk.jpg", "CMYK JPEG", lambda p: Image.fromarray(rgb).convert("CMYK").save(p))
    save("bmp.bmp", "BMP", lambda p: Image.fromarray(rgb).save(p))
    save("webp.webp", "WebP (lossy)", lambda p: Image.fromarray(rgb).save(p))
    save("broken.jpg", "truncated JPEG (first 300 bytes), inside the folder",
         lambda p: _truncated(rgb, p, "JPEG"))
    return cases


def _gradient(rgb):
    return np.linspace(0, 255, rgb.shape[1], dtype=np.uint8)[None].repeat(rgb.shape[0], 0)


def _truncated(rgb, path, kind):
    with tempfile.TemporaryFile() as f:
        Image.fromarray(rgb).save(f, format=kind)
        f.seek(0)
        blob = f.read()
    with open(path, "wb") as f:
        f.write(blob[:300])


def _describe_output(path):
    """'mode, bits, WxH' of a written PNG (Pillow's mode; bit depth from OpenCV,
    as Pillow shows 16-bit colour as 8-bit), or '-'."""
    if not os.path.exists(path):
        return "-"
    with Image.open(path) as im:
        mode, size = im.mode, im.size
    bits = cv2.imread(path, cv2.IMREAD_UNCHANGED).dtype.itemsize * 8
    return f"{mode}, {bits}-bit, {size[0]}x{size[1]}"


def _run(*args, cwd):
    proc = subprocess.run([sys.executable, SCRIPT, "--preset", "fast", "--iterations", "1", *args],
                          cwd=cwd, capture_output=True, text=True, check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    return proc, errors


def _bad_cases(rgb, folder):
    """``[(description, argv, prepare)]`` of inputs and flags that must fail cleanly."""
    def write(name, blob):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(blob)
        return os.path.join(folder, name)

    os.makedirs(os.path.join(folder, "empty"))
    small = os.path.join(folder, "small.png")
    Image.fromarray(rgb[:40, :100]).save(small)
    fine = os.path.join(folder, "fine.png")
    Image.fromarray(rgb).save(fine)
    _truncated(rgb, os.path.join(folder, "truncated.png"), "PNG")
    Image.fromarray(np.full((80, 80), 0.5, np.float32)).save(os.path.join(folder, "float.tif"))
    write("a_file", b"")
    os.makedirs(os.path.join(folder, "existing"))
    Image.fromarray(rgb).save(os.path.join(folder, "existing", "fine_x2.png"))
    os.makedirs(os.path.join(folder, "docs"))
    write(os.path.join("docs", "README.pdf"), b"%PDF-1.4\n")
    os.makedirs(os.path.join(folder, "twins"))
    for name in ("a.png", "a.jpg"):
        Image.fromarray(rgb).save(os.path.join(folder, "twins", name))
    header = b"IHDR" + struct.pack(">IIBBBBB", 0, 5, 8, 2, 0, 0, 0)  # width 0
    zero = (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + header
            + struct.pack(">I", zlib.crc32(header)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    return [
        ("missing file", ["--image", os.path.join(folder, "missing.png")]),
        ("empty folder", ["--image", os.path.join(folder, "empty")]),
        ("glob matching nothing", ["--image", os.path.join(folder, "*.gif")]),
        ("random bytes named .png", ["--image", write("noise.png", os.urandom(4096))]),
        ("text file named .png", ["--image", write("notes.png", b"not an image")]),
        ("truncated PNG", ["--image", os.path.join(folder, "truncated.png")]),
        ("zero-size PNG (width 0)", ["--image", write("zero.png", zero)]),
        ("image too small for x2 (100x40)", ["--image", small]),
        ("32-bit float TIFF", ["--image", os.path.join(folder, "float.tif")]),
        ("folder holding a PDF only (Pillow registers .pdf)",
         ["--image", os.path.join(folder, "docs")]),
        ("folder with a.png and a.jpg (both would write a_x2)",
         ["--image", os.path.join(folder, "twins")]),
        ("unsupported scale (--scale 5)", ["--image", fine, "--scale", "5"]),
        ("a setting given twice (--seed 3 --settings seed=7)",
         ["--image", fine, "--seed", "3", "--settings", "seed=7"]),
        ("missing kernel file in --settings (kernel=nope.mat)",
         ["--image", fine, "--settings", "kernel=nope.mat"]),
        ("output folder cannot be created (under a file)",
         ["--image", fine, "--output_dir", os.path.join(folder, "a_file", "out")]),
        ("output exists, no --overwrite",
         ["--image", fine, "--output_dir", os.path.join(folder, "existing")]),
    ]


def main(argv):
    del argv
    rgb = imaging.to_uint8(imaging.read_image(FLAGS.image))
    rgb = rgb[: min(rgb.shape[0], 96), : min(rgb.shape[1], 128)]
    lines = [
        "# Robustness: inputs and failures tried",
        "",
        "Generated by `benchmarks/robustness_report.py` (each case made from a crop of "
        f"`{FLAGS.image}`, {rgb.shape[1]}x{rgb.shape[0]}, and run through `scripts/train_one.py "
        "--preset fast --iterations 1`). The tests (`tests/test_imaging.py`, "
        "`tests/test_robustness.py`, `tests/test_cli.py`) assert the same behaviour.",
        "",
    ]
    with tempfile.TemporaryDirectory() as folder:
        inputs = os.path.join(folder, "inputs")
        os.makedirs(inputs)
        cases = _good_inputs(rgb, inputs)
        proc, errors = _run("--image", inputs, "--output_dir", os.path.join(folder, "out"),
                            cwd=folder)
        lines += ["## Input kinds (one folder run)", "",
                  f"`--image {os.path.basename(inputs)}/`: exit code {proc.returncode} "
                  "(1: one image failed, the others were written).", "",
                  "| input | read as | output PNG | error |", "|---|---|---|---|"]
        for name, description in cases.items():
            path = os.path.join(inputs, name)
            try:
                picture = imaging.read_picture(path)
                read = (f"{picture.mode}, {'grey' if picture.grey else 'colour'}, "
                        f"{picture.bits}-bit{', alpha' if picture.alpha is not None else ''}, "
                        f"{picture.rgb.shape[1]}x{picture.rgb.shape[0]}")
            except imaging.ImageError:
                read = "-"
            stem = os.path.splitext(name)[0]
            output = _describe_output(os.path.join(folder, "out", f"{stem}_x2.png"))
            error = next((e for e in errors if f"{name}:" in e), "")
            error = error.replace(folder + os.sep, "")
            lines.append(f"| {description} | {read} | {output} | {error and f'`{error}`'} |")

        bad = os.path.join(folder, "bad")
        os.makedirs(bad)
        lines += ["", "## Bad inputs and flags", "",
                  "| case | exit code | stderr (paths shortened) | files left behind |",
                  "|---|---|---|---|"]
        for description, args in _bad_cases(rgb, bad):
            before = _tree(bad)
            out = args[args.index("--output_dir") + 1] if "--output_dir" in args else \
                os.path.join(bad, "out")
            args = args if "--output_dir" in args else [*args, "--output_dir", out]
            proc, errors = _run(*args, cwd=bad)
            stderr = [line for line in proc.stderr.splitlines() if line.strip()]
            shown = " / ".join(stderr).replace(bad + os.sep, "")
            left = sorted(_tree(bad) - before)
            lines.append(f"| {description} | {proc.returncode} | `{shown}` | "
                         f"{', '.join(p.replace(bad + os.sep, '') for p in left) or 'none'} |")
    lines += ["", "## Crashes, kills and divergence (from the tests)", "",
              "| case | observed | test |", "|---|---|---|", *CRASHES, ""]
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    files.write_bytes(FLAGS.out, "\n".join(lines).encode())
    print(FLAGS.out)


def _tree(folder):
    return {os.path.join(root, name) for root, dirs, files in os.walk(folder)
            for name in dirs + files}


if __name__ == "__main__":
    app.run(main)
