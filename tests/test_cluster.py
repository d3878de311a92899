"""train_one --ray: many images as tasks of a local Ray cluster, resumable and idempotent."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import REPO
from PIL import Image

from zsrgan_tf import imaging

pytest.importorskip("ray")

SCRIPT = os.path.join(REPO, "scripts", "train_one.py")
# One TensorFlow thread, as each task of --ray_cpus 1 has: results depend on the
# thread count, so the sequential reference runs with the same.
ONE_THREAD = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
TABLE_HEAD = "| image | status | output / error | seconds |"


def _command(*args):
    return [sys.executable, SCRIPT, "--preset", "fast", "--iterations", "20", *args]


def _rows(stdout):
    """``{image: (status, detail)}`` of the summary table."""
    lines = stdout.strip().splitlines()
    assert lines[0] == TABLE_HEAD
    cells = [line.strip("| ").split(" | ") for line in lines[2:]]
    return {image: (status, detail) for image, status, detail, _ in cells}


def _pixels(path):
    return np.asarray(Image.open(path))


@pytest.fixture(scope="module")
def folder(photo, tmp_path_factory):
    """Three real 72 x 64 crops of the sample photo and a file that is no image."""
    folder = tmp_path_factory.mktemp("cluster") / "photos"
    folder.mkdir()
    for i, (row, col) in enumerate([(0, 0), (40, 60), (80, 120)]):
        Image.fromarray(imaging.to_uint8(photo[row:row + 64, col:col + 72])).save(
            folder / f"crop{i}.png")
    (folder / "broken.png").write_text("not an image")
    return folder


@pytest.fixture(scope="module")
def sequential(folder):
    """The sequential folder run's output folder and summary rows, one thread."""
    out = folder.parent / "sequential"
    proc = subprocess.run(_command("--image", str(folder), "--output_dir", str(out)),
                          env=ONE_THREAD, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 1, proc.stderr[-2000:]
    return out, _rows(proc.stdout)


def test_without_ray_flag_ray_is_not_imported():
    code = "import sys, zsrgan_tf.cli; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


@pytest.mark.parametrize("address, problem", [
    ("127.0.0.1:1", "cannot reach 127.0.0.1:1 (Connection refused)"),
    ("nowhere", "not local, auto, HOST:PORT or ray://HOST:PORT"),
])
def test_an_unreachable_cluster_is_one_line_exit_2(folder, tmp_path, address, problem):
    proc = subprocess.run(_command("--image", str(folder), "--output_dir", str(tmp_path),
                                   "--ray", address),
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == f"error: --ray {address}: {problem}"
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_ray_run_equals_the_sequential_run_and_a_second_submission_trains_nothing(
        folder, sequential, tmp_path):
    reference, reference_rows = sequential
    out = tmp_path / "out"
    args = _command("--image", str(folder), "--output_dir", str(out), "--ray", "local")
    proc = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    assert proc.returncode == 1, proc.stderr[-2000:]
    rows = _rows(proc.stdout)
    broken = str(folder / "broken.png")
    # The broken file fails alone, with the sequential run's one-line error.
    error = f"{broken}: not an image file (unrecognised format)"
    assert rows[broken] == reference_rows[broken] == ("failed", error)
    assert f"error: {rows[broken][1]}" in proc.stderr.splitlines()
    assert proc.stderr.strip().splitlines()[-1].startswith("images 4/4 done, 0 running, 1 failed")
    for i in range(3):
        assert rows[str(folder / f"crop{i}.png")] == ("ok", str(out / f"crop{i}_x2.png"))
        np.testing.assert_array_equal(_pixels(out / f"crop{i}_x2.png"),
                                      _pixels(reference / f"crop{i}_x2.png"))

    logs = {i: os.stat(out / f"crop{i}_x2" / "losses.csv").st_mtime_ns for i in range(3)}
    again = subprocess.run(args, capture_output=True, text=True, check=False, timeout=900)
    assert again.returncode == 1, again.stderr[-2000:]
    rows = _rows(again.stdout)
    for i in range(3):
        assert rows[str(folder / f"crop{i}.png")] == ("done before", str(out / f"crop{i}_x2.png"))
        assert os.stat(out / f"crop{i}_x2" / "losses.csv").st_mtime_ns == logs[i]
    assert rows[broken][0] == "failed"


def _task_processes(driver):
    """PIDs of the Ray workers under ``driver`` (its local cluster) running an
    image now (their title names the task)."""
    parents, titles = {}, {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents[int(pid)] = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                titles[int(pid)] = f.read()
        except (OSError, IndexError, ValueError):
            pass

    def under_driver(pid):
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == driver:
                return True
        return False

    return [pid for pid, title in titles.items()
            if title.startswith(b"ray::_train_image") and under_driver(pid)]


@pytest.mark.slow
def test_a_worker_killed_mid_image_is_retried_and_gives_the_same_png(folder, sequential,
                                                                     tmp_path):
    reference, _ = sequential
    image = folder / "crop1.png"
    out = tmp_path / "out"
    state = out / ".crop1_x2.partial" / "checkpoint.npz"
    proc = subprocess.Popen(_command("--image", str(image), "--output_dir", str(out), "--ray",
                                     "local", "--checkpoint_every", "5"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not state.exists() and proc.poll() is None:
        time.sleep(0.02)
    killed = _task_processes(proc.pid)
    assert len(killed) == 1
    os.kill(killed[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr[-2000:]
    assert _rows(stdout)[str(image)] == ("ok", str(out / "crop1_x2.png"))
    assert not (out / ".crop1_x2.partial").exists()
    np.testing.assert_array_equal(_pixels(out / "crop1_x2.png"),
                                  _pixels(reference / "crop1_x2.png"))
