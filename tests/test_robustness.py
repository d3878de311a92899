"""train_one on real-world inputs and failures: kinds of image, folders, kills, divergence."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import keras
import numpy as np
import pytest
from conftest import REPO
from PIL import Image

import zsrgan_tf
from zsrgan_tf import cli, imaging

SCRIPT = os.path.join(REPO, "scripts", "train_one.py")


def _command(*args):
    return [sys.executable, SCRIPT, "--preset", "fast", *args]


@pytest.fixture(scope="module")
def crop(photo):
    """A real 72 x 64 crop of the sample photo, uint8 RGB."""
    return imaging.to_uint8(photo[60:124, 90:162])


def _outputs(run_dir, lr):
    generator = keras.saving.load_model(os.path.join(run_dir, "generator.keras"))
    return generator(zsrgan_tf.upscale_bicubic(lr, 2)[None])[0].numpy()


@pytest.mark.slow
def test_resume_after_kill_gives_the_uninterrupted_result(crop, tmp_path):
    image = tmp_path / "crop.png"
    Image.fromarray(crop).save(image)
    args = ["--image", str(image), "--iterations", "24", "--checkpoint_every", "8"]
    straight = subprocess.run(_command(*args, "--output_dir", str(tmp_path / "a")),
                              capture_output=True, text=True, timeout=600)
    assert straight.returncode == 0, straight.stderr[-2000:]

    out = tmp_path / "b"
    state = out / ".crop_x2.partial" / "checkpoint.npz"
    proc = subprocess.Popen(_command(*args, "--output_dir", str(out)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not state.exists() and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert state.exists() and not (out / "crop_x2.png").exists()

    again = subprocess.run(_command(*args, "--output_dir", str(out)), capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 2 and "holds an interrupted run" in again.stderr
    resumed = subprocess.run(_command(*args, "--output_dir", str(out), "--resume"),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not (out / ".crop_x2.partial").exists()
    assert sorted(os.listdir(out / "crop_x2")) == ["config.json", "generator.keras",
                                                    "losses.csv"]
    with open(out / "crop_x2" / "losses.csv") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 25))
    lr = imaging.read_image(str(image))
    np.testing.assert_allclose(_outputs(out / "crop_x2", lr),
                               _outputs(tmp_path / "a" / "crop_x2", lr), atol=1e-5)


class _PoisonAt(keras.callbacks.Callback):
    """Makes the generator's output NaN from iteration ``iteration`` on (last bias)."""

    def __init__(self, iteration):
        super().__init__()
        self.iteration = iteration

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.iteration:
            bias = self.model.generator.weights[-1]
            bias.assign(bias * np.nan)


def test_nan_loss_stops_and_keeps_the_last_good_generator(crop, tmp_path):
    image = tmp_path / "crop.png"
    Image.fromarray(crop).save(image)
    config = zsrgan_tf.preset("fast", iterations=12)
    out = tmp_path / "out"
    with pytest.raises(cli.TrainingError) as error:
        cli.run(str(image), config, cli.RunOptions("fast", str(out), checkpoint_every=5),
                extra_callbacks=[_PoisonAt(7)])
    partial = out / ".crop_x2.partial"
    kept = partial / "generator_last_good.keras"
    assert str(error.value) == (
        f"{image}: training diverged (non-finite loss at iteration 7); the generator of "
        f"iteration 5 is kept in {kept}; try another --seed or --precision float32")
    assert sorted(os.listdir(out)) == [".crop_x2.partial"]  # no SR image, no run folder
    generator = keras.saving.load_model(kept)
    with np.load(partial / "checkpoint.npz") as stored:
        assert int(stored["step"]) == 5
        for i, weights in enumerate(generator.weights):
            np.testing.assert_array_equal(weights.numpy(), stored[f"v{i:04d}"])
    assert all(np.isfinite(w.numpy()).all() for w in generator.weights)


@pytest.mark.slow
def test_folder_keeps_each_kind_and_survives_a_broken_file(crop, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    grey = np.asarray(Image.fromarray(crop).convert("L"))
    Image.fromarray(grey).save(folder / "a_grey.png")
    Image.fromarray(np.dstack([crop, grey])).save(folder / "b_rgba.png")
    cv2.imwrite(str(folder / "c_deep.tif"), (crop.astype(np.uint16) * 257)[..., ::-1])
    (folder / "d_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (folder / "notes.txt").write_text("not an image, and not taken for one")
    out = tmp_path / "out"
    proc = subprocess.run(_command("--image", str(folder), "--iterations", "1",
                                   "--output_dir", str(out)),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {folder / 'd_broken.jpg'}: ")
    table = proc.stdout.strip().splitlines()
    assert table[0] == "| image | status | output / error | seconds |" and len(table) == 6
    assert [row.split(" | ")[1] for row in table[2:]] == ["ok", "ok", "ok", "failed"]

    want = {"a_grey": ("L", 8), "b_rgba": ("RGBA", 8), "c_deep": ("RGB", 16)}
    for stem, (mode, bits) in want.items():
        pixels = cv2.imread(str(out / f"{stem}_x2.png"), cv2.IMREAD_UNCHANGED)
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        assert pixels.shape[:2] == (128, 144)
        assert ({"L": 1, "RGBA": 4, "RGB": 3}[mode], bits) == (channels, pixels.dtype.itemsize * 8)
    # The alpha channel is the input's, upscaled (bicubic), not trained.
    alpha = np.asarray(Image.open(out / "b_rgba_x2.png"))[..., 3] / 255.0
    want_alpha = zsrgan_tf.upscale_bicubic(grey[..., None] / 255.0, 2).numpy()[..., 0]
    assert np.abs(alpha - np.clip(want_alpha, 0, 1)).max() <= 0.5 / 255 + 1e-6


class _StopAt(keras.callbacks.Callback):
    """Interrupts training at the start of iteration ``iteration``, as a kill would."""

    def __init__(self, iteration):
        super().__init__()
        self.iteration = iteration

    def on_epoch_begin(self, epoch, logs=None):
        if epoch + 1 == self.iteration:
            raise KeyboardInterrupt


def test_resume_with_overwrite_starts_a_run_of_other_settings_over(crop, tmp_path):
    image = tmp_path / "crop.png"
    Image.fromarray(crop).save(image)
    out = tmp_path / "out"
    options = cli.RunOptions("fast", str(out), checkpoint_every=3)
    with pytest.raises(KeyboardInterrupt):
        cli.run(str(image), zsrgan_tf.preset("fast", iterations=8), options, [_StopAt(5)])
    assert (out / ".crop_x2.partial" / "checkpoint.npz").exists()

    other = zsrgan_tf.preset("fast", iterations=8, seed=1)
    resume = cli.RunOptions("fast", str(out), checkpoint_every=3, resume=True)
    with pytest.raises(cli.UsageError, match="the interrupted run used other settings"):
        cli.run(str(image), other, resume)
    cli.run(str(image), other, cli.RunOptions("fast", str(out), checkpoint_every=3,
                                              resume=True, overwrite=True))
    assert not (out / ".crop_x2.partial").exists()
    with open(out / "crop_x2" / "losses.csv") as f:
        assert [int(r["iteration"]) for r in csv.DictReader(f)] == list(range(1, 9))
    with open(out / "crop_x2" / "config.json") as f:
        assert json.load(f)["config"]["seed"] == 1
