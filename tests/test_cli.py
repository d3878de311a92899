"""scripts/train_one.py end to end in a subprocess: outputs, exit codes, messages."""

import csv
import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO
from PIL import Image

import zsrgan_tf
from zsrgan_tf import degradation, inference

SCRIPT = os.path.join(REPO, "scripts", "train_one.py")


def _run(*args, cwd):
    proc = subprocess.run(
        [sys.executable, SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def tiny_png(tmp_path_factory, photo):
    """A real 83 x 71 (odd-sized) crop of the sample photo."""
    path = tmp_path_factory.mktemp("in") / "tiny.png"
    Image.fromarray(np.round(photo[70:141, 100:183] * 255).astype(np.uint8)).save(path)
    return str(path)


def test_train_one_writes_all_outputs(tiny_png, tmp_path):
    out = tmp_path / "models"
    args = ["--image", tiny_png, "--preset", "fast", "--iterations", "3", "--output_dir", str(out)]
    code, stdout, stderr = _run(*args, cwd=tmp_path)
    assert code == 0, stderr
    png = out / "tiny_x2.png"
    assert stdout.strip() == str(png)
    assert Image.open(png).size == (166, 142)
    run = out / "tiny_x2"
    assert sorted(os.listdir(run)) == ["config.json", "generator.keras", "losses.csv"]
    record = json.loads((run / "config.json").read_text())
    assert record["preset"] == "fast"
    assert record["config"] == zsrgan_tf.preset("fast", iterations=3).to_dict()
    assert record["wall_seconds"] > 0 and record["execution"]["train_step_traces"] <= 2
    assert {"tensorflow", "keras", "numpy", "zsrgan_tf"} <= set(record["versions"])
    with open(run / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3]
    assert all(float(r["g_lr"]) == 1e-3 for r in rows)
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("l_d", "l_g_pix"))

    # The saved generator reproduces the PNG: the network's output, then the
    # preset's 10 back-projection steps (bicubic degradation).
    generator = keras.saving.load_model(run / "generator.keras")
    lr = zsrgan_tf.read_image(tiny_png)
    net = np.clip(generator(zsrgan_tf.upscale_bicubic(lr, 2)[None])[0].numpy(), 0, 1)
    bicubic = degradation.parse("bicubic")
    sr = inference.back_project(net, lr, bicubic, 2)
    png_pixels = np.asarray(Image.open(png)).astype(int)
    assert np.abs(np.round(np.clip(sr, 0, 1) * 255) - png_pixels).max() <= 1
    assert "iter 3/3" in stderr and "ETA" in stderr
    # LR-PSNR (no ground truth) is printed and recorded, of the PNG as written (after
    # back-projection the 8-bit rounding dominates it): bicubic sons, so MATLAB's imresize.
    lr_psnr = inference.lr_psnr(png_pixels / 255.0, lr, bicubic, 2)
    assert abs(record["output"]["lr_psnr_db"] - lr_psnr) < 0.006
    printed = re.search(rf"{re.escape(tiny_png)}: LR-PSNR ([0-9.]+) dB", stderr)
    assert abs(float(printed.group(1)) - record["output"]["lr_psnr_db"]) <= 0.06
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # no temporary leftovers

    # Existing outputs are kept unless --overwrite.
    code, _, stderr = _run(*args, cwd=tmp_path)
    assert code == 2 and stderr.strip().splitlines() == [
        f"error: {png}: already exists (use --overwrite to replace it)"
    ]
    code, _, stderr = _run(*args, "--overwrite", cwd=tmp_path)
    assert code == 0, stderr


@pytest.mark.slow
def test_train_one_exports(tiny_png, tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "models"
    code, _, stderr = _run("--image", tiny_png, "--preset", "fast", "--iterations", "2",
                           "--output_dir", str(out), "--export", "savedmodel,tflite,uint8",
                           "--export_tile", "64", cwd=tmp_path)
    assert code == 0, stderr
    files = ["savedmodel", "upscaler_fp32.tflite", "upscaler_fp32_uint8.tflite",
             "upscaler_fp32_tile64.tflite", "upscaler_fp32_tile64_uint8.tflite", "upscaler.json"]
    run = out / "tiny_x2"
    assert json.loads((run / "config.json").read_text())["exports"] == files
    assert set(files) <= set(os.listdir(run))
    card = json.loads((run / "upscaler.json").read_text())
    assert card == {"scale": 2, "grid": "centre", "degradation": "bicubic", "ensemble": 1,
                    "back_projection": 10, "tile_pad": card["tile_pad"]}
    # The uint8 LiteRT file holds the network and the preset's back-projection: it
    # gives the PNG (to one grey level), and so does the SavedModel.
    interpreter = Interpreter(model_path=str(run / "upscaler_fp32_uint8.tflite"))
    runner = interpreter.get_signature_runner("serve_uint8")
    lr = np.asarray(Image.open(tiny_png).convert("RGB"))
    sr = runner(lr=lr[None])["output_0"][0]
    png = np.asarray(Image.open(out / "tiny_x2.png").convert("RGB")).astype(int)
    assert sr.dtype == np.uint8 and np.abs(sr.astype(int) - png).max() <= 1
    saved = tf.saved_model.load(str(run / "savedmodel"))
    sr = saved.serve_uint8(tf.constant(lr[None])).numpy()[0]
    assert np.abs(sr.astype(int) - png).max() <= 1


def test_train_one_kernel_aware(tiny_png, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    out = tmp_path / "models"
    code, stdout, stderr = _run("--image", tiny_png, "--preset", "zssr", "--kernel", "blind",
                                "--iterations", "3", "--output_dir", str(out), "--export",
                                "tflite", "--export_tile", "0", cwd=tmp_path)
    assert code == 0, stderr
    run = out / "tiny_x2"
    record = json.loads((run / "config.json").read_text())
    # A blind kernel is estimated from the image, printed and recorded.
    kernel = record["config"]["kernel"]
    assert kernel.startswith("gaussian:") and float(kernel.partition(":")[2]) > 0
    assert f"{tiny_png}: degradation {kernel} (covariance " in stderr
    assert record["degradation"]["spec"] == kernel and record["config"]["ensemble"]
    # The export holds the network on the corner grid with the ensemble and the
    # back-projection, in float32 (generator.keras keeps the run's precision: bf16 on
    # CPUs with bf16 units): it gives the PNG to one grey level.
    generator = keras.saving.load_model(run / "generator.keras")
    assert generator.dtype_policy.name == record["execution"]["dtype_policy"]
    lr = zsrgan_tf.read_image(tiny_png)[None]
    runner = Interpreter(model_path=str(run / "upscaler_fp32.tflite")).get_signature_runner()
    got = zsrgan_tf.imaging.to_uint8(runner(lr=lr)["output_0"][0]).astype(int)
    png = np.asarray(Image.open(out / "tiny_x2.png").convert("RGB")).astype(int)
    assert np.abs(got - png).max() <= 1
    card = json.loads((run / "upscaler.json").read_text())
    assert (card["grid"], card["degradation"], card["ensemble"]) == ("corner", kernel, 8)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "folder holds no image files"),
        (lambda d: d / "*.jpg", "no files match"),
        (lambda d: _write(d / "notes.png", b"this is not an image"), "not an image file"),
        (lambda d: _write(d / "noise.png", np.random.default_rng(1).bytes(4096)),
         "not an image file"),
        (lambda d: _write(d / "cut.png", _png_bytes()[:300]), "cannot read image"),
        (lambda d: _small_png(d / "small.png"),
         "image is 100x12 (width x height); x2 needs a short side >= 16 px"),
    ],
    ids=["missing", "empty-folder", "glob-no-match", "not-an-image", "random-bytes",
         "truncated", "too-small"],
)
def test_bad_input_is_one_line_exit_2(tmp_path, make, message):
    path = make(tmp_path)
    code, stdout, stderr = _run("--image", str(path), "--output_dir", str(tmp_path / "o"),
                                cwd=tmp_path)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}: ") and message in lines[0]
    assert stdout == ""


def test_image_too_small_for_anisotropic_estimate_is_one_line_exit_2(tmp_path):
    path = _write(tmp_path / "x.png", _png_bytes())  # 80 x 80: trainable, too small to estimate
    code, _, stderr = _run("--image", str(path), "--kernel", "blind:aniso", "--output_dir",
                                str(tmp_path / "o"), cwd=tmp_path)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0] == (f"error: {path}: blind kernel estimation needs at least 96 x 96 pixels, "
                        "got (80, 80)")
    assert not os.path.exists(tmp_path / "o")


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scale", "5"], "error: --scale 5: must be one of (2, 3, 4)"),
        (["--scale", "two"], "error: flag --scale=two: invalid literal for int() with base 10"),
        (["--preset", "turbo"],
         "error: flag --preset=turbo: value should be one of "
         f"<{'|'.join(sorted(zsrgan_tf.PRESETS))}>"),
        (["--seed", "-1"], "error: --preset auto --seed -1: seed must be in [0, 2**32), got -1"),
        (["--settings", "seed=-1"],  # --settings is honoured for seed, scale and precision
         "error: --preset auto --settings 'seed=-1': seed must be in [0, 2**32), got -1"),
        (["--seed", "3", "--settings", "seed=7"],
         "error: --seed and --settings seed=...: give it once"),
        (["--iterations", "0"], "error: --preset auto --iterations 0: iterations, batch_size "
         "and lr_halve_every must be >= 1"),
        (["--no_such_flag"], "error: Unknown command line flag 'no_such_flag'"),
        (["--export", "tflite,onnx"],
         "error: --export tflite,onnx: unknown export kinds onnx; choose from savedmodel, tflite"),
        (["--export", "savedmodel,uint8"], "error: --export savedmodel,uint8: uint8 makes "
         "uint8-I/O copies of the TFLite files: add tflite, fp16 or int8"),
        (["--kernel", "gaussian:wide"],
         "error: gaussian:wide: expected gaussian:COV or gaussian:MAJOR,MINOR,ANGLE with numbers"),
        (["--kernel", "nope.mat"], "error: nope.mat: no such kernel file"),
        (["--settings", "kernel=nope.mat"], "error: nope.mat: no such kernel file"),
        (["--settings", "lambda_gab=1"], "error: --settings 'lambda_gab=1': unknown setting"),
        (["--settings", "adaptive_lr=yes"],
         "error: --settings 'adaptive_lr=yes': adaptive_lr=yes: expected True or False"),
    ],
    ids=["scale-5", "scale-text", "preset", "seed", "settings-seed", "seed-twice", "iterations",
         "unknown-flag", "export", "export-uint8", "kernel-spec", "kernel-file", "settings-kernel-file",
         "settings-key", "settings-value"],
)
def test_bad_flags_are_one_line_exit_2(tiny_png, tmp_path, args, message):
    code, _, stderr = _run("--image", tiny_png, *args, cwd=tmp_path)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(message), stderr


@pytest.mark.slow
def test_folder_runs_skip_non_photos_and_refuse_colliding_names(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    _write(folder / "README.pdf", b"%PDF-1.4")  # Pillow registers .pdf (write only)
    code, _, stderr = _run("--image", str(folder), cwd=tmp_path)
    assert code == 2 and stderr.strip() == f"error: {folder}: folder holds no image files"
    for name in ("a.png", "a.jpg"):
        Image.new("RGB", (80, 80)).save(folder / name)
    code, _, stderr = _run("--image", str(folder), "--output_dir", str(tmp_path / "o"),
                           cwd=tmp_path)
    assert code == 2 and stderr.strip() == (f"error: {folder / 'a.png'}: {folder / 'a.jpg'} "
                                            "also writes a_x2; run them separately")
    assert not os.path.exists(tmp_path / "o")


def _write(path, blob):
    path.write_bytes(blob)
    return path


def _png_bytes():
    import io

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (80, 80, 3), np.uint8)).save(
        buf, format="PNG"
    )
    return buf.getvalue()


def _small_png(path):
    """Too small even for the default preset, whose pixel loss trains on fathers
    down to 16 pixels at x2 (64 with a discriminator)."""
    Image.new("RGB", (100, 12)).save(path)
    return path


def test_unwritable_output_folder_is_one_line_exit_2(tiny_png, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    code, stdout, stderr = _run("--image", tiny_png, "--output_dir", str(blocker / "out"),
                                cwd=tmp_path)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and stdout == "", stderr
    assert lines[0] == f"error: {blocker / 'out'}: cannot create output folder (Not a directory)"


def test_help_lists_the_tools_flags_by_purpose(tmp_path):
    code, out, err = _run("--help", cwd=tmp_path)
    assert code == 0 and err == ""
    assert out.startswith("usage: train_one.py --image PATH") and "example: train_one.py" in out
    from zsrgan_tf import cli

    listed = re.findall(r"^  --(\w+)$", out, re.M)
    assert sorted(listed) == sorted(name for _, names in cli.HELP_GROUPS for name in names)
    # Every flag the tool defines is in one group, and none of absl's.
    assert set(listed) == {f.name for f in cli.FLAGS.get_flags_for_module(cli)}


def test_only_the_command_silences_tensorflows_start_up_lines(tmp_path):
    """Importing the library leaves file descriptor 2 alone (any redirect would
    fail here); the command imports TensorFlow quietly, so an error is one line."""
    proc = subprocess.run([sys.executable, "-c", "import os; os.dup2 = None; import zsrgan_tf"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    code, _, err = _run("--image", str(tmp_path / "missing.png"), cwd=tmp_path)
    assert code == 2 and err.splitlines() == [f"error: {tmp_path / 'missing.png'}: no such file"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", sorted(zsrgan_tf.config.PRESETS))
def test_every_preset_exports_what_it_writes(preset, photo, tmp_path):
    """For every preset (its ensemble, back-projection, grid and steps), the fp32 and
    fp16 files give train_one's PNG to one grey level; for the default, the fixed-size
    file does too, in tiles of the card's context."""
    sys.path.insert(0, os.path.join(REPO, "scripts"))
    import upscale_tflite

    image = tmp_path / "crop.png"
    Image.fromarray(zsrgan_tf.imaging.to_uint8(photo[:128, :150])).save(image)
    fixed = preset == "auto"
    code, _, stderr = _run("--image", str(image), "--preset", preset, "--iterations", "2",
                           "--output_dir", str(tmp_path), "--export", "tflite,fp16",
                           "--export_tile", "128" if fixed else "0", cwd=tmp_path)
    assert code == 0, stderr
    record = json.loads((tmp_path / "crop_x2" / "config.json").read_text())
    png = np.asarray(Image.open(tmp_path / "crop_x2.png").convert("RGB")).astype(int)
    rgb = np.asarray(Image.open(image).convert("RGB"))
    for name in record["exports"][:-1]:  # the .tflite files (the card is last)
        runner = upscale_tflite.Upscaler(str(tmp_path / "crop_x2" / name))
        pad = upscale_tflite.read_card(str(tmp_path / "crop_x2" / name))["tile_pad"]
        sr = zsrgan_tf.imaging.to_uint8(runner.upscale(rgb, pad=pad)).astype(int)
        assert np.abs(sr - png).max() <= 1, (preset, name, np.abs(sr - png).max())
