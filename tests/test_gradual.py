"""Gradual x4: two x2 steps, each trained on the output of the one before."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

import zsrgan_tf
from zsrgan_tf import degradation, gradual, imaging

SCRIPT = os.path.join(REPO, "scripts", "train_one.py")


@pytest.mark.parametrize("settings, spec, steps", [
    ({}, "bicubic", (2, 2)),
    ({"scale": 2}, "bicubic", (2,)),
    ({"scale": 3}, "bicubic", (3,)),
    ({}, "gaussian:2.0", (4,)),  # a blur with direct subsampling has no x2 split
    ({}, "bicubic+jpeg:75", (4,)),  # the first step's output has no JPEG to remove
    ({"gradual": False}, "bicubic", (4,)),
])
def test_steps(settings, spec, steps):
    config = zsrgan_tf.preset("auto", **{"scale": 4, **settings})
    assert gradual.steps(config, degradation.parse(spec)) == steps


def _command(image, out, *args):
    return [sys.executable, SCRIPT, "--image", str(image), "--scale", "4", "--kernel",
            "bicubic", "--iterations", "16", "--checkpoint_every", "8", "--output_dir",
            str(out), *args]


@pytest.mark.slow
def test_gradual_run_resumes_at_its_unfinished_step_and_exports_both(photo, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    image = tmp_path / "crop.png"
    Image.fromarray(imaging.to_uint8(photo[60:124, 90:162])).save(image)
    straight = subprocess.run(_command(image, tmp_path / "a", "--export", "tflite",
                                       "--export_tile", "0"),
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-2000:]
    assert "step 2 of 2, x2" in straight.stderr
    run = tmp_path / "a" / "crop_x4"
    assert sorted(os.listdir(run)) == ["config.json", "generator.keras", "losses.csv",
                                       "step1_generator.keras", "step1_losses.csv",
                                       "upscaler.json", "upscaler_fp32.tflite"]
    assert json.loads((run / "config.json").read_text())["steps"] == [2, 2]
    assert Image.open(tmp_path / "a" / "crop_x4.png").size == (288, 256)
    # The export holds both steps in turn, with their test-time options: it gives the PNG.
    lr = imaging.read_image(str(image))
    runner = Interpreter(model_path=str(run / "upscaler_fp32.tflite")).get_signature_runner()
    got = imaging.to_uint8(runner(lr=lr[None])["output_0"][0]).astype(int)
    png = np.asarray(Image.open(tmp_path / "a" / "crop_x4.png").convert("RGB")).astype(int)
    assert np.abs(got - png).max() <= 1

    # Killed in the second step, resumed: the first step is not trained again.
    out = tmp_path / "b"
    state = out / ".crop_x4.partial" / "checkpoint.npz"
    proc = subprocess.Popen(_command(image, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    while not state.exists() and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = subprocess.run(_command(image, out, "--resume"), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "step 1 of 2" not in resumed.stderr and "step 2 of 2" in resumed.stderr
    with open(out / "crop_x4" / "step1_losses.csv") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 17))
    again = np.asarray(Image.open(out / "crop_x4.png").convert("RGB")).astype(int)
    assert np.abs(again - png).max() <= 1
