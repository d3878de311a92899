"""The README's Python examples run as written (with a tiny image and few steps)."""

import os
import re

import numpy as np
from conftest import REPO
from PIL import Image


def test_readme_fit_example_runs(tmp_path, monkeypatch, baby_lr):
    readme = open(os.path.join(REPO, "README.md")).read()
    code, presets = re.findall(r"```python\n(.*?)```", readme, re.S)[:2]
    assert "model.fit(zsrgan_tf.father_son_dataset(" in code and "model.upscale(lr)" in code
    code = code.replace("steps_per_epoch=500, epochs=4", "steps_per_epoch=2, epochs=1")
    Image.fromarray(np.round(baby_lr[:72, :80] * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["sr"].shape == (144, 160, 3)
    assert Image.open(tmp_path / "photo_x2.png").size == (160, 144)
    assert (tmp_path / "generator.keras").stat().st_size > 800_000

    # The second example: a preset, then the preset's test-time options.
    assert "zsrgan_tf.inference.upscale(model, lr, config)" in presets
    exec(compile(presets.replace('kernel="gaussian:2.0")', 'kernel="gaussian:2.0", iterations=2)'),
                 "README.md", "exec"), namespace)
    assert namespace["sr"].shape == (144, 160, 3) and namespace["config"].iterations == 2
    assert callable(namespace["zsrgan_tf"].export.write_exports)  # the README's export line
