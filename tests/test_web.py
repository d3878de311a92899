"""The browser page (web/) in a real headless Chromium: it gives what the Python
LiteRT runner (scripts/upscale_tflite.py) gives.

Needs Debian's ``chromium``, the page's npm dependency (``npm ci`` in web/, which
``make test`` runs) and Playwright (the ``test`` extra), which drives the system
Chromium (it downloads no browser of its own). Missing pieces skip the test, and
fail it under CI, where it must run.
"""

import json
import os
import shutil
import sys
import threading

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

import zsrgan_tf
from zsrgan_tf import export, imaging, inference

sys.path.insert(0, os.path.join(REPO, "scripts"))
import serve_web  # noqa: E402
import upscale_tflite  # noqa: E402

CHROMIUM = shutil.which("chromium")
# Headless as root, and no background connections (the machine has no network).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    """A Chromium page on the served web/ folder, its runtime loaded."""
    missing = [name for name, ok in (
        ("chromium (apt-get install chromium)", CHROMIUM),
        ("web/node_modules (npm ci in web/)",
         os.path.isdir(os.path.join(serve_web.WEB, "node_modules", "@litertjs", "core"))),
    ) if not ok]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = serve_web.serve(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        page.wait_for_function("['ready', 'error'].includes(document.body.dataset.state)",
                               timeout=120_000)
        assert page.inner_text("#status").startswith("Ready"), page.inner_text("#status")
        assert page.evaluate("self.crossOriginIsolated")  # WebAssembly threads allowed
        yield page
        browser.close()
    server.shutdown()


def _start(page, model, image, card=None):
    page.evaluate("document.body.dataset.state = 'ready'")
    page.set_input_files("#model", str(model))
    page.set_input_files("#card", [str(card)] if card else [])
    page.set_input_files("#image", str(image))
    page.click("#run")
    page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)",
                           timeout=300_000)
    return page.inner_text("#status")


def _upscale_in_page(page, model, image, out, card=None):
    status = _start(page, model, image, card)
    assert page.evaluate("document.body.dataset.state") == "done", status
    with page.expect_download() as download:
        page.click("#save")
    download.value.save_as(out)
    return status


def test_page_gives_what_the_python_runner_gives(page, photo, tmp_path):
    """A real (briefly trained) default-recipe upscaler with its ensemble and
    back-projection, fixed 128x128 input: an image smaller than the input (one
    mirrored window, the card's context) and one larger (tiles, default context)."""
    config = zsrgan_tf.preset("zssr-subpixel", g_filters=16, iterations=20, precision="float32")
    model, _ = zsrgan_tf.train_on_image(photo[:64, :64], config)
    test_time = inference.TestTime.of(config, model.degradation)
    export.write_exports(model.generator, 2, str(tmp_path), ["tflite"], tile=128,
                         test_time=test_time)
    path = tmp_path / "upscaler_fp32_tile128.tflite"
    card = json.loads((tmp_path / export.CARD).read_text())
    runner = upscale_tflite.Upscaler(str(path))
    for name, crop, use_card in (("small", photo[:90, :110], True), ("large", photo, False)):
        image = tmp_path / f"{name}.png"
        Image.fromarray(imaging.to_uint8(crop)).save(image)
        pad = card["tile_pad"] if use_card else upscale_tflite.DEFAULT_PAD
        want = imaging.to_uint8(runner.upscale(imaging.to_uint8(crop), pad=pad)).astype(int)
        status = _upscale_in_page(page, path, image, tmp_path / f"{name}_x2.png",
                                  tmp_path / export.CARD if use_card else None)
        assert f"context {pad} px" in status
        got = np.asarray(Image.open(tmp_path / f"{name}_x2.png").convert("RGB")).astype(int)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1, name


def test_page_refuses_a_dynamic_size_model(page, tmp_path):
    from zsrgan_tf import models

    export.save_tflite(models.Generator(filters=4, depth=2), 2, str(tmp_path / "d.tflite"))
    image = tmp_path / "i.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    assert "dynamic-size model" in _start(page, tmp_path / "d.tflite", image)
