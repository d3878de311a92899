"""benchmarks/evaluate.py on real Set5 images: outputs, protocols, resuming."""

import csv
import json
import os
import subprocess

import pytest
from conftest import BENCHMARK_ENV, REPO, benchmark

import zsrgan_tf
from benchmarks import evaluation
from zsrgan_tf import inference

pytestmark = pytest.mark.slow  # the whole module: only in the full suite


def _evaluate(data_dir, tmp_path, *args):
    proc = subprocess.run(
        [*benchmark("evaluate"), "--dataset", os.path.join(data_dir, "Set5"),
         "--out", str(tmp_path / "docs" / "m"), "--images_dir", str(tmp_path / "img" / "m"),
         "--checkpoint_dir", str(tmp_path / "ck"), *args],
        capture_output=True, text=True, timeout=900, check=False, env=BENCHMARK_ENV,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_zsrgan_one_image_few_iterations_and_resume(data_dir, tmp_path):
    args = ["--method", "zsrgan", "--preset", "fast", "--iterations", "2", "--limit", "1"]
    _evaluate(data_dir, tmp_path, *args)
    out = tmp_path / "docs" / "m"
    record = json.loads((out / "per_image" / "baby.json").read_text())
    assert set(record["scores"]) == {"mzsr", "paper", "lpips"}
    assert 25 < record["scores"]["mzsr"]["psnr_y"] < 40 and 0 < record["scores"]["lpips"] < 1
    assert set(record["final_losses"]) == {"loss", "l_d", "l_g_gan", "l_g_percep", "l_g_pix"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images_done"] == summary["images_total"] == 1
    assert summary["config"]["iterations"] == 2 and summary["protocols"]["psnr_y_mzsr"] == "mzsr"
    assert (tmp_path / "img" / "m" / "baby.png").exists()
    # LR-PSNR from the input alone, of the 8-bit PNG as written: bicubic sons, so
    # MATLAB's imresize.
    sr = zsrgan_tf.read_image(str(tmp_path / "img" / "m" / "baby.png"))
    lr = zsrgan_tf.read_image(os.path.join(data_dir, "Set5", "LR_g20_x2", "baby.png"))
    bicubic = zsrgan_tf.degradation.parse("bicubic")
    assert record["lr_psnr"] == pytest.approx(inference.lr_psnr(sr, lr, bicubic, 2), abs=0.006)
    assert (tmp_path / "docs" / "figure.png").exists()
    assert os.listdir(tmp_path / "ck") == []  # finished images leave no training state
    stdout = _evaluate(data_dir, tmp_path, *args)  # resumes: nothing left to train
    assert "baby:" not in stdout and "1 of 1 images done" in stdout
    # --summary_only: the tables of the images done so far, nothing trained.
    stdout = _evaluate(data_dir, tmp_path, *args[:-1], "2", "--summary_only")
    assert "1 of 2 images done" in stdout
    assert sorted(os.listdir(out / "per_image")) == ["baby.json"]
    assert os.listdir(tmp_path / "ck") == []


def test_bicubic_set5_table(data_dir, tmp_path):
    _evaluate(data_dir, tmp_path, "--method", "bicubic")
    with open(tmp_path / "docs" / "m" / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["baby", "bird", "butterfly", "head", "woman"]
    mean = sum(float(r["psnr_y_mzsr"]) for r in rows) / 5
    assert mean == pytest.approx(28.73, abs=0.01)
    assert "| **mean** | 28.73 |" in (tmp_path / "docs" / "m" / "results.md").read_text()

    # benchmarks/back_project_results.py on these PNGs: before = the table above (8-bit images).
    markdown = tmp_path / "B.md"
    proc = subprocess.run(
        [*benchmark("back_project_results"), "--run",
         f"{os.path.join(data_dir, 'Set5')}:{tmp_path / 'img' / 'm'}", "--out",
         str(tmp_path / "bp"), "--markdown", str(markdown)],
        capture_output=True, text=True, timeout=600, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "bp" / "Set5_m_bp10.json").read_text())
    assert sorted(record["images"]) == [r["name"] for r in rows]
    for row in rows:
        before, after = record["images"][row["name"]]["before"], record["images"][row["name"]]["after"]
        assert before["mzsr"]["psnr_y"] == pytest.approx(float(row["psnr_y_mzsr"]), abs=0.005)
        assert before["lr_psnr"] < 56 < after["lr_psnr"]  # consistent up to 8-bit rounding
    assert "## Back-projection of finished outputs" in markdown.read_text()
    assert "| Set5 `m`, 10 steps, kernel `bicubic` | 5 |" in markdown.read_text()
    # A --run without its images folder: one line, exit 2, nothing written.
    proc = subprocess.run(
        [*benchmark("back_project_results"), "--run",
         os.path.join(data_dir, "Set5"), "--out", str(tmp_path / "bp2")],
        capture_output=True, text=True, timeout=600, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"error: --run {os.path.join(data_dir, 'Set5')}: no folder (empty)"]
    assert not (tmp_path / "bp2").exists()


def test_l1_is_the_pixel_loss_only():
    config = evaluation.method_config("l1", zsrgan_tf.preset("paper"))
    assert (config.lambda_pix, config.lambda_percep, config.lambda_gan) == (1.0, 0.0, 0.0)
    assert evaluation.method_config("bicubic", zsrgan_tf.preset("paper")) is None
    with pytest.raises(ValueError):
        evaluation.method_config("esrgan", zsrgan_tf.preset("paper"))


def test_degraded_dataset_reproduces_g20_and_evaluates_by_lr_dir(data_dir, tmp_path):
    """benchmarks/degrade_dataset.py with gaussian:2.0 remakes LR_g20_x2 bit for bit;
    evaluate.py reads it through --lr_dir and names the folder after it."""
    import numpy as np
    from PIL import Image

    made = tmp_path / "Set5"
    proc = subprocess.run(
        [*benchmark("degrade_dataset"), "--dataset",
         os.path.join(data_dir, "Set5"), "--kernel", "gaussian:2.0", "--out", str(made),
         "--lr_dir", "LR_made"], capture_output=True, text=True, timeout=600, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 0, proc.stderr
    for name in ("baby", "bird", "butterfly", "head", "woman"):
        ours = np.asarray(Image.open(made / "LR_made" / f"{name}.png"))
        shared = np.asarray(Image.open(os.path.join(data_dir, "Set5", "LR_g20_x2", f"{name}.png")))
        np.testing.assert_array_equal(ours, shared)
    proc = subprocess.run(
        [*benchmark("evaluate"), "--dataset", str(made), "--lr_dir", "LR_made", "--method",
         "bicubic", "--limit", "1", "--checkpoint_dir", str(tmp_path / "ck")],
        capture_output=True, text=True, timeout=600, check=False, env=BENCHMARK_ENV, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "results" / "Set5_LR_made" / "bicubic" / "per_image"
                         / "baby.json").read_text())
    with open(os.path.join(REPO, "docs", "results", "Set5", "bicubic", "per_image",
                           "baby.json")) as f:
        shared = json.load(f)["scores"]
    assert record["scores"]["mzsr"] == pytest.approx(shared["mzsr"], abs=1e-4)
    assert record["scores"]["paper"] == pytest.approx(shared["paper"], abs=1e-4)


def test_degraded_x3_crops_hr_and_mismatched_pairs_are_refused(data_dir, tmp_path):
    """At x3, Set5 head (280x280) and woman (228x344) are cropped to a multiple of 3
    before degrading, so evaluate.py can score them; an LR made from an uncropped HR
    is refused in one line before anything is trained or written."""
    import numpy as np

    made = tmp_path / "Set5"
    proc = subprocess.run(
        [*benchmark("degrade_dataset"), "--dataset",
         os.path.join(data_dir, "Set5"), "--kernel", "gaussian:2.0", "--scale", "3", "--out",
         str(made), "--lr_dir", "LR_x3"], capture_output=True, text=True, timeout=600, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 0, proc.stderr
    for name, size in [("head", (279, 279)), ("woman", (342, 228)), ("baby", (510, 510))]:
        hr = zsrgan_tf.imaging.read_image(str(made / "HR" / f"{name}.png"))
        lr = zsrgan_tf.imaging.read_image(str(made / "LR_x3" / f"{name}.png"))
        assert hr.shape[:2] == size and lr.shape[:2] == (size[0] // 3, size[1] // 3), name
        original = zsrgan_tf.imaging.read_image(os.path.join(data_dir, "Set5", "HR", f"{name}.png"))
        np.testing.assert_array_equal(hr, original[: size[0], : size[1]])
    base = [*benchmark("evaluate"), "--dataset", str(made), "--lr_dir", "LR_x3", "--method",
            "bicubic", "--settings", "scale=3", "--out", str(tmp_path / "out"), "--images_dir",
            str(tmp_path / "img"), "--checkpoint_dir", str(tmp_path / "ck")]
    proc = subprocess.run(base + ["--names", "head"], capture_output=True, text=True,
                          timeout=300, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "out" / "per_image" / "head.json").read_text())
    assert 20 < record["scores"]["paper"]["psnr_rgb"] < 40

    # An LR made from the uncropped woman (344 rows): pixels 0, 3, ..., 342 give 115 rows.
    original = os.path.join(data_dir, "Set5", "HR", "woman.png")
    lr = zsrgan_tf.degrade.blur_subsample(
        zsrgan_tf.imaging.read_image(original).astype(np.float64),
        zsrgan_tf.kernels.parse("gaussian:2.0"), 3).numpy()
    zsrgan_tf.imaging.write_png(str(made / "LR_x3" / "woman.png"), lr)
    proc = subprocess.run(base + ["--names", "woman", "--out", str(tmp_path / "out2")],
                          capture_output=True, text=True, timeout=300, check=False,
        env=BENCHMARK_ENV)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and lines[-1].startswith("error: "), proc.stderr
    assert lines[-1].endswith("woman.png: 76x115 LR at x3 is 228x345, but "
                              f"{made / 'HR' / 'woman.png'} cropped to a multiple of 3 is "
                              "228x342 (crop HR to a multiple of the scale before degrading it)")
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize("args, message", [
    (["--dataset", "/nonexistent"], "/nonexistent/HR: no such folder"),
    (["--kernel", "gaussian:0"], "gaussian:0"),
    (["--settings", "crop=3"], "unknown setting 'crop'"),
])
def test_bad_flags_are_one_line_errors_before_any_output(data_dir, tmp_path, args, message):
    proc = subprocess.run(
        [*benchmark("evaluate"), "--dataset", os.path.join(data_dir, "Set5"), "--out",
         str(tmp_path / "out"), "--images_dir", str(tmp_path / "img"), *args],
        capture_output=True, text=True, timeout=300, check=False,
        env=BENCHMARK_ENV)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and message in lines[-1] and lines[-1].startswith("error: ")
    assert not [line for line in lines if "Traceback" in line], proc.stderr
    assert not os.listdir(tmp_path)


def test_degradation_matrix_cell(data_dir, tmp_path):
    """benchmarks/matrix.py makes a row's inputs and scores a method on them; bicubic on Set5
    'baby' made by bicubic halving is the published classic (37.04 dB, within 0.01)."""
    args = [*benchmark("matrix"), "--data", data_dir, "--work", str(tmp_path / "w"), "--out",
            str(tmp_path / "o"), "--rows", "bicubic_x2,camera75_x2", "--datasets", "Set5",
            "--names", "baby", "--methods", "bicubic"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=600, check=False,
        env=BENCHMARK_ENV)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "o" / "Set5" / "bicubic_x2" / "bicubic" / "baby.json")
                        .read_text())
    assert record["scores"]["mzsr"]["psnr_y"] == pytest.approx(37.04, abs=0.01)
    assert (tmp_path / "w" / "inputs" / "Set5" / "x2" / "LR_camera75_x2" / "baby.jpg").exists()
    table = (tmp_path / "o" / "matrix.md").read_text()
    assert "| `bicubic_x2` | Set5 | 1 | 37.04 / " in table and "ZSSR 37.37" in table
