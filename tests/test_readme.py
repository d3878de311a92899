"""The Python examples of README.md and docs/usage.md run as written (with a tiny
image and few steps)."""

import os
import re

import numpy as np
import pytest
from conftest import REPO
from PIL import Image


def _python_blocks(path):
    with open(os.path.join(REPO, path)) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


@pytest.mark.parametrize("path", ["README.md", "docs/usage.md"])
def test_fit_example_runs(tmp_path, monkeypatch, photo, path):
    code = _python_blocks(path)[0]
    assert "model.fit(zsrgan_tf.father_son_dataset(" in code and "model.upscale(lr)" in code
    code = code.replace("steps_per_epoch=500, epochs=4", "steps_per_epoch=2, epochs=1")
    Image.fromarray(np.round(photo[:72, :80] * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, path, "exec"), namespace)
    assert namespace["sr"].shape == (144, 160, 3)
    assert Image.open(tmp_path / "photo_x2.png").size == (160, 144)
    assert (tmp_path / "generator.keras").stat().st_size > 800_000
    if path == "README.md":
        return
    # docs/usage.md's second example: a preset, then the preset's test-time options.
    presets = _python_blocks(path)[1]
    assert "zsrgan_tf.inference.super_resolve(model, lr, config)" in presets
    exec(compile(presets.replace('kernel="gaussian:2.0")', 'kernel="gaussian:2.0", iterations=2)'),
                 path, "exec"), namespace)
    assert namespace["sr"].shape == (144, 160, 3) and namespace["config"].iterations == 2
    assert callable(namespace["zsrgan_tf"].export.write_exports)  # the export line
