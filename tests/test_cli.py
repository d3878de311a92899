"""scripts/train_one.py end to end in a subprocess: outputs, exit codes, messages."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

SCRIPT = os.path.join(REPO, "scripts", "train_one.py")


def _run(*args, cwd):
    proc = subprocess.run(
        [sys.executable, SCRIPT, *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def tiny_png(tmp_path_factory, baby_lr):
    path = tmp_path_factory.mktemp("in") / "tiny.png"
    Image.fromarray(np.round(baby_lr[70:142, 100:180] * 255).astype(np.uint8)).save(path)
    return str(path)


def test_train_one_writes_all_outputs(tiny_png, tmp_path):
    out = tmp_path / "models"
    args = ["--image", tiny_png, "--preset", "cpu", "--iterations", "3", "--output_dir", str(out)]
    code, stdout, stderr = _run(*args, cwd=tmp_path)
    assert code == 0, stderr
    png = out / "tiny_x2.png"
    assert stdout.strip() == str(png)
    assert Image.open(png).size == (160, 144)
    run = out / "tiny_x2"
    assert sorted(os.listdir(run)) == ["config.json", "generator.keras", "losses.csv"]
    record = json.loads((run / "config.json").read_text())
    assert record["preset"] == "cpu" and record["config"]["iterations"] == 3
    assert record["config"]["seed"] == 0 and record["wall_seconds"] > 0
    assert {"tensorflow", "keras", "numpy", "zsrgan_tf"} <= set(record["versions"])
    rows = (run / "losses.csv").read_text().splitlines()
    assert rows[0].split(",")[:3] == ["iteration", "seconds", "g_lr"] and len(rows) == 4
    assert "iter 3/3" in stderr and "ETA" in stderr
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # no temporary leftovers

    # Existing outputs are kept unless --overwrite.
    code, _, stderr = _run(*args, cwd=tmp_path)
    assert code == 2 and stderr.strip().splitlines() == [
        f"error: {png}: already exists (use --overwrite to replace it)"
    ]
    code, _, stderr = _run(*args, "--overwrite", cwd=tmp_path)
    assert code == 0, stderr


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda d: d / "missing.png", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "notes.png", b"this is not an image"), "not an image file"),
        (lambda d: _write(d / "cut.png", _png_bytes()[:300]), "cannot read image"),
        (lambda d: _small_png(d / "small.png"), "needs a short side >= 64 px"),
    ],
    ids=["missing", "directory", "not-an-image", "truncated", "too-small"],
)
def test_bad_input_is_one_line_exit_2(tmp_path, make, message):
    path = make(tmp_path)
    code, stdout, stderr = _run("--image", str(path), "--output_dir", str(tmp_path / "o"),
                                cwd=tmp_path)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {path}: ") and message in lines[0]
    assert stdout == ""


def test_bad_scale_is_one_line_exit_2(tiny_png, tmp_path):
    code, _, stderr = _run("--image", tiny_png, "--scale", "5", cwd=tmp_path)
    assert code == 2 and stderr.strip() == "error: --scale 5: must be one of (2, 3, 4)"


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
    Image.new("RGB", (100, 40)).save(path)
    return path
