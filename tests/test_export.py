"""Export: builtin-op bicubic, SavedModel and LiteRT parity, weights, tiling, no TensorFlow."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from conftest import REPO
from PIL import Image

import zsrgan_tf
from zsrgan_tf import degradation, degrade, export, imaging, inference, metrics, models, upscaler

sys.path.insert(0, os.path.join(REPO, "scripts"))
import upscale_tflite

SIZES = [(37, 53), (128, 96)]
# The network alone on each sampling grid (the corner grid is a blur's).
CORNER = inference.TestTime(degradation.parse("gaussian:2.0"))
GRIDS = {"centre": inference.TestTime(), "corner": CORNER}
# The border indices of dynamic-size files are computed at run time (RANGE ... SELECT_V2).
BUILTINS = {"ADD", "CAST", "CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "MINIMUM", "GATHER",
            "MUL", "RELU", "ROUND", "SHAPE", "STRIDED_SLICE", "RANGE", "SUB", "FLOOR_MOD",
            "LESS", "SELECT_V2"}


@pytest.fixture(scope="module")
def generator(photo):
    """A float32 generator briefly trained on the sample photo (fast preset, 40 iterations).

    float32 whatever the CPU: the parity checks compare float32 exports with it
    (a mixed-precision generator is tested on its own below)."""
    model, _ = zsrgan_tf.train_on_image(
        photo, zsrgan_tf.preset("fast", iterations=40, precision="float32"))
    return model.generator


@pytest.fixture(scope="module")
def tflite(generator, tmp_path_factory):
    """Dynamic-size .tflite files, by quantization."""
    folder = tmp_path_factory.mktemp("tflite")
    paths = {}
    for q in export.QUANTIZATIONS:
        paths[q] = str(folder / f"{q}.tflite")
        export.save_tflite(generator, 2, paths[q], q)
    return paths


def _lr(shape, seed=0):
    return np.random.default_rng(seed).random((1, *shape, 3)).astype(np.float32)


def _run_tflite(path, x):
    interpreter = Interpreter(model_path=path)
    runner = interpreter.get_signature_runner(next(iter(interpreter.get_signature_list())))
    return runner(lr=x)["output_0"]


def test_savedmodel_and_tflite_match_keras(generator, tflite, tmp_path):
    """Keras vs SavedModel (loaded in a process without zsrgan_tf) vs LiteRT, two odd sizes."""
    saved = str(tmp_path / "savedmodel")
    export.save_savedmodel(generator, 2, saved)
    keras_model = upscaler.float_upscaler(generator, 2)
    inputs = {f"{h}x{w}": _lr((h, w), i) for i, (h, w) in enumerate(SIZES)}
    for name, x in inputs.items():
        np.save(tmp_path / f"in_{name}.npy", x)
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        m = tf.saved_model.load({saved!r})
        for name in {list(inputs)!r}:
            x = np.load({str(tmp_path)!r} + f"/in_{{name}}.npy")
            np.save({str(tmp_path)!r} + f"/sm_{{name}}.npy", m.serve(tf.constant(x)).numpy())
            u8 = np.round(x * 255).astype(np.uint8)
            np.save({str(tmp_path)!r} + f"/u8_{{name}}.npy", m.serve_uint8(tf.constant(u8)).numpy())
        assert "zsrgan_tf" not in sys.modules, "zsrgan_tf imported"
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, x in inputs.items():
        want = keras_model(x).numpy()
        h, w = x.shape[1:3]
        assert want.shape == (1, 2 * h, 2 * w, 3)
        saved_out = np.load(tmp_path / f"sm_{name}.npy")
        assert np.abs(saved_out - want).max() <= 1e-5
        u8 = np.load(tmp_path / f"u8_{name}.npy")
        u8_want = keras_model(np.round(x * 255) / 255).numpy()
        assert u8.dtype == np.uint8 and np.abs(u8 - u8_want * 255).max() <= 0.5 + 1e-3
        assert np.abs(_run_tflite(tflite["fp32"], x) - want).max() <= 1e-5
        assert np.abs(_run_tflite(tflite["fp16"], x) - want).max() <= 2e-3


def test_tflite_files_hold_the_weights_and_builtin_ops_only(generator, tflite):
    params = sum(int(np.prod(w.shape)) for w in generator.weights)
    bytes_per_weight = {"fp32": 4, "fp16": 2, "int8": 1}
    for q, path in tflite.items():
        size = os.path.getsize(path)
        # The weights, plus under 64 KB of graph (the weightless failure is ~10 KB).
        assert bytes_per_weight[q] * params <= size <= bytes_per_weight[q] * params + 65536, q
        with open(path, "rb") as f:
            content = f.read()
        assert export.flex_ops(content) == []
        assert set(export.tflite_ops(content)) <= BUILTINS, export.tflite_ops(content)


def test_flex_check_catches_tf_bicubic(tmp_path):
    """The naive graph (tf.image.resize bicubic) needs a Flex op; the check must see it."""

    module = tf.Module()
    module.naive = tf.function(lambda x: tf.image.resize(x, (16, 16), "bicubic"),
                               input_signature=[tf.TensorSpec((1, 8, 8, 3), tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [module.naive.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                           tf.lite.OpsSet.SELECT_TF_OPS]
    assert export.flex_ops(converter.convert()) == ["FlexResizeBicubic"]


def test_int8_psnr_close_to_fp32(photo, tflite):
    hr = photo[:150, :224]
    lr = degrade.imresize(hr, (75, 112)).numpy()
    psnr = {q: metrics.psnr(np.clip(_run_tflite(tflite[q], lr[None])[0], 0, 1), hr)
            for q in ("fp32", "int8")}
    assert psnr["fp32"] - psnr["int8"] <= 0.5, psnr


def test_fixed_tile_model_and_tiling_equal_one_pass(generator, tflite, tmp_path):
    lr = (_lr((70, 93), 3)[0] * 255).round().astype(np.uint8)
    whole = upscaler.float_upscaler(generator, 2)(lr[None] / np.float32(255)).numpy()[0]
    dynamic = upscale_tflite.Upscaler(tflite["fp32"])
    assert dynamic.fixed is None
    np.testing.assert_allclose(dynamic.upscale(lr, tile=1000, pad=0), whole, atol=1e-5)
    np.testing.assert_allclose(dynamic.upscale(lr, tile=16, pad=6), whole, atol=1e-5)
    # Too little context is visible: the tiling test can fail.
    assert np.abs(dynamic.upscale(lr, tile=16, pad=2) - whole).max() > 1e-3
    path = str(tmp_path / "tile48.tflite")
    export.save_tflite(generator, 2, path, tile=48)
    fixed = upscale_tflite.Upscaler(path)
    assert fixed.fixed == (48, 48)
    np.testing.assert_allclose(fixed.upscale(lr, pad=8), whole, atol=1e-5)


def test_upscale_tflite_script_needs_no_tensorflow(tflite, tmp_path, photo):
    image = tmp_path / "crop.png"
    Image.fromarray(imaging.to_uint8(photo[:41, :67])).save(image)
    out = tmp_path / "crop_sr.png"
    blocker = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "keras", "zsrgan_tf"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        sys.argv = ["upscale_tflite.py", "--model", {tflite["fp32"]!r}, "--image", {str(image)!r},
                    "--tile", "24"]
        sys.path.insert(0, {os.path.join(REPO, "scripts")!r})
        import upscale_tflite
        sys.exit(upscale_tflite.main())
    """)
    proc = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(out)
    lr = np.asarray(Image.open(image))
    want = imaging.to_uint8(_run_tflite(tflite["fp32"], (lr / np.float32(255))[None])[0])
    got = np.asarray(Image.open(out))
    assert got.shape == (82, 134, 3) and np.abs(got.astype(int) - want).max() <= 1
    # Never overwrites; bad model is one line, exit 2.
    for args, message in (([], "exists; pass --overwrite"),
                          (["--output", str(tmp_path / "x.png"), "--model", str(image)],
                           "not a usable .tflite model")):
        argv = ["--model", tflite["fp32"], "--image", str(image), *args]
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "upscale_tflite.py"),
                               *argv], capture_output=True, text=True, timeout=120, check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and message in lines[0], proc.stderr


def test_upscale_tflite_reads_images_as_train_one_does(tmp_path, photo):
    """Upright by EXIF orientation; 16-bit greyscale scaled to 8 bits, not clipped."""
    rgb = imaging.to_uint8(photo[:20, :30])
    image = Image.fromarray(rgb)
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise for display
    image.save(tmp_path / "turned.png", exif=exif)
    got = upscale_tflite.read_rgb(tmp_path / "turned.png")
    np.testing.assert_array_equal(got, imaging.to_uint8(imaging.read_image(tmp_path / "turned.png")))
    assert got.shape == (30, 20, 3)
    grey = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000 + 1000)
    Image.fromarray(grey).save(tmp_path / "grey16.png")
    want = np.round(grey / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(upscale_tflite.read_rgb(tmp_path / "grey16.png"),
                                  np.repeat(want[..., None], 3, axis=-1))


def test_mixed_precision_generator_exports_in_float32(generator, tmp_path):
    mixed = models.Generator(generator.filters, generator.depth, dtype="mixed_bfloat16")
    mixed.set_weights(generator.get_weights())
    content = export.tflite_bytes(mixed, 2)
    path = tmp_path / "m.tflite"
    path.write_bytes(content)
    x = _lr((20, 24))
    want = upscaler.float_upscaler(generator, 2)(x).numpy()
    assert np.abs(_run_tflite(str(path), x) - want).max() <= 1e-5


def test_subpixel_generator_exports_with_builtin_ops(tmp_path):
    """A sub-pixel generator (convolutions on the LR grid) converts to builtin ops and
    matches Keras at odd LR sizes, dynamic and fixed-tile."""
    generator = models.Generator(block=2)
    for tile in (None, 24):
        content = export.tflite_bytes(generator, 2, tile=tile, test_time=CORNER)
        assert export.flex_ops(content) == []
        assert set(export.tflite_ops(content)) <= BUILTINS | {"SPACE_TO_DEPTH"}
        path = tmp_path / f"subpixel_{tile}.tflite"
        path.write_bytes(content)
        for shape in ((24, 24),) if tile else SIZES:
            x = _lr(shape)
            want = upscaler.float_upscaler(generator, 2, CORNER)(x).numpy()
            assert np.abs(_run_tflite(str(path), x) - want).max() <= 1e-5


@pytest.mark.parametrize("scale", [3, 4])
def test_tflite_matches_keras_at_scales_3_and_4(scale, tmp_path):
    """DEPTH_TO_SPACE with blocks 3 and 4 and the 3x3 / 4x4-phase bicubic kernels convert
    to builtin ops and match Keras on both grids; int8 (which quantises the bicubic's
    input too at these scales) stays within a few grey levels."""
    tf.keras.utils.set_random_seed(scale)
    generator = models.Generator(filters=8, depth=3)
    x = _lr((19, 22), seed=scale)
    for grid, test_time in GRIDS.items():
        want = upscaler.float_upscaler(generator, scale, test_time)(x).numpy()
        assert want.shape == (1, 19 * scale, 22 * scale, 3)
        for quantization, tolerance in (("fp32", 1e-5), ("int8", 4 / 255)):
            content = export.tflite_bytes(generator, scale, quantization, test_time=test_time)
            assert export.flex_ops(content) == []
            path = tmp_path / f"x{scale}_{grid}_{quantization}.tflite"
            path.write_bytes(content)
            error = np.abs(_run_tflite(str(path), x) - want).max()
            assert error <= tolerance, (grid, quantization, error)


@pytest.mark.parametrize("kernel", ["gaussian:2.0", "gaussian:1.3+bicubic", "gaussian:3,1,30"])
def test_the_export_graph_is_the_library_inference(kernel, rng):
    """The Keras graph the exports are converted from computes what ``super_resolve``
    computes (the same functions), with the ensemble and back-projection."""
    config = zsrgan_tf.preset("zssr-subpixel", kernel=kernel, g_filters=8, back_projection=3)
    model = zsrgan_tf.ZSRGAN(config, degradation.parse(kernel))
    for weight in model.generator.weights:
        weight.assign(rng.normal(0, 0.03, weight.shape).astype(np.float32))
    lr = rng.random((26, 31, 3)).astype(np.float32)
    graph = upscaler.float_upscaler(model.generator, 2, inference.TestTime.of(config,
                                                                              model.degradation))
    np.testing.assert_array_equal(graph(lr[None]).numpy()[0],
                                  inference.super_resolve(model, lr, config, tile=0))


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["bicubic", "gaussian:3,1,30"])
def test_export_gives_what_train_one_gives(kernel, photo, tmp_path):
    """The exports hold the run's self-ensemble and back-projection: fp32 and fp16
    files give the library's final image (``super_resolve``, what train_one writes)
    to one grey level, in one pass and in tiles of the card's pad; int8's error is
    bounded here and measured in docs/export.md."""
    config = zsrgan_tf.preset("zssr-subpixel", kernel=kernel, iterations=30,
                              precision="float32")
    lr = photo[:60, :76]
    model, _ = zsrgan_tf.train_on_image(lr, config)
    want = imaging.to_uint8(inference.super_resolve(model, lr, config, tile=0)).astype(int)
    test_time = inference.TestTime.of(config, model.degradation)
    assert test_time.ensemble and test_time.projections == 10
    written = export.write_exports(model.generator, 2, str(tmp_path), ["tflite", "fp16", "int8"],
                                   tile=0, test_time=test_time)
    card = json.loads((tmp_path / export.CARD).read_text())
    assert card["tile_pad"] == inference.context(model.generator, 2, test_time)
    assert card["ensemble"] == len(model.degradation.symmetries())
    rgb = imaging.to_uint8(lr)
    for path, tolerance in zip(written, (1, 1, 6)):
        runner = upscale_tflite.Upscaler(path)
        whole = imaging.to_uint8(runner.upscale(rgb, tile=1000)).astype(int)
        assert np.abs(whole - want).max() <= tolerance, (path, np.abs(whole - want).max())
        tiled = imaging.to_uint8(runner.upscale(rgb, tile=24, pad=card["tile_pad"]))
        assert np.abs(tiled.astype(int) - whole).max() <= 1, path
