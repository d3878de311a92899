"""Training callbacks."""

import io

import numpy as np
import pytest

from zsrgan_tf import callbacks, degradation, inference, tiling


def test_divergence_guard_stops_at_first_non_finite():
    class Model:
        stop_training = False

    guard = callbacks.DivergenceGuard()
    guard.set_model(Model())
    guard.on_epoch_end(0, {"l_d": 0.7, "l_g_pix": 0.1})
    assert guard.diverged_at is None and not guard.model.stop_training
    guard.on_epoch_end(1, {"l_d": float("nan"), "l_g_pix": 0.1})
    assert guard.diverged_at == 2 and guard.model.stop_training


def test_loss_log_resumes_under_the_files_header(tmp_path):
    """A resumed run keeps rows up to its checkpoint and appends under the file's
    columns (a run started by a version that logged fewer losses stays readable)."""
    import csv

    import keras

    class Model:
        g_optimizer = keras.optimizers.Adam(1e-3)

    path = tmp_path / "losses.csv"
    path.write_text("iteration,seconds,g_lr,l_d,l_g_pix\n1,0.5,0.001,0.7,0.1\n"
                    "2,1.0,0.001,0.6,0.09\n3,1.5,0.001,0.5,0.08\n")
    log = callbacks.LossLog(str(path))
    log.set_model(Model())
    log.on_train_begin()
    log.on_epoch_begin(2)  # resumed at iteration 3 (checkpoint after 2)
    log.on_epoch_end(2, {"l_d": 0.4, "l_g_pix": 0.07, "loss": 0.2})
    log.on_train_end()
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [r["iteration"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == ["iteration", "seconds", "g_lr", "l_d", "l_g_pix"]
    assert (rows[2]["l_d"], rows[2]["l_g_pix"]) == ("0.4", "0.07")


class _FakeRun:
    """A model whose generator reproduces its target up to a chosen squared error."""

    def __init__(self, target, error):
        import keras

        self.target, self.error = target, error  # error(iteration) -> mse
        self.iteration = 0
        self.stop_training = False
        self.g_optimizer = keras.optimizers.Adam(1e-3)
        self.d_optimizer = keras.optimizers.Adam(1e-3)

    def generator(self, x, training=False):
        return (self.target + np.sqrt(self.error(self.iteration)))[None]


def _run_rule(error, iterations=3000):
    target = np.zeros((8, 8, 3), np.float32)
    run = _FakeRun(target, error)
    rule = callbacks.AdaptiveLearningRate(np.zeros((1, 8, 8, 3), np.float32), target)
    rule.set_model(run)
    rule.on_train_begin()
    for epoch in range(iterations):
        run.iteration = epoch + 1
        rule.on_epoch_end(epoch)
        if run.stop_training:
            return rule, run, epoch + 1
    return rule, run, iterations


def test_adaptive_rule_drops_on_a_plateau_and_stops():
    # A flat, noisy error: each check after 256 quiet iterations divides the
    # rate by 10 (ZSSR: checks every 60, 256 apart); below 9e-6 training stops.
    noise = np.random.default_rng(0).normal(0, 1e-6, 4000)
    rule, run, stopped = _run_rule(lambda i: 1e-3 + noise[i])
    assert rule.changes == [300, 600, 900] and stopped == 900
    assert float(run.g_optimizer.learning_rate) == pytest.approx(1e-6)
    assert float(run.d_optimizer.learning_rate) == pytest.approx(1e-6)


def test_adaptive_rule_keeps_the_rate_while_the_error_falls():
    rule, run, stopped = _run_rule(lambda i: 1e-2 / (1 + i / 100), iterations=1200)
    assert rule.changes == [] and stopped == 1200 and not run.stop_training
    assert len(rule.errors) == 24 and rule.errors[0][0] == 50


@pytest.mark.slow
def test_adaptive_rule_runs_inside_training(photo):
    """train_on_image adds the rule; its test pair is the image and its own son."""
    import zsrgan_tf
    from zsrgan_tf import train

    lr = photo[:96, :96]
    config = zsrgan_tf.preset("blind", iterations=100, crop_size=64, adaptive_lr=True,
                              ensemble=False, back_projection=0)
    model, history = zsrgan_tf.train_on_image(lr, config)
    assert len(history.history["l_g_pix"]) == 100  # too early for a change (>= 256)
    assert float(model.g_optimizer.learning_rate) == pytest.approx(1e-3)
    son_input, target = train._son_test_pair(lr, config, model.degradation)
    assert son_input.shape[1:3] == target.shape[:2] == (96, 96)

    def error(x):
        return float(np.mean((np.asarray(x)[0] - target) ** 2))

    # The trained generator reproduces the image from its son better than bicubic does.
    assert error(model.generator(son_input)) < error(son_input)


def test_step_progress_shows_long_steps_only(monkeypatch):
    clock = iter([0.0, 1.0, 2.0,           # "tiles": ends within quiet: nothing shown
                  10.0, 14.0, 15.0, 30.0,  # "ensemble": 4 s, 5 s (within every), 20 s
                  ])
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: next(clock))
    stream = io.StringIO()
    progress = callbacks.StepProgress(stream, quiet=3.0, every=10.0)
    progress("tiles", 0, 2), progress("tiles", 1, 2), progress("tiles", 2, 2)
    progress("ensemble", 0, 3), progress("ensemble", 1, 3), progress("ensemble", 2, 3)
    progress("ensemble", 3, 3)
    assert stream.getvalue().splitlines() == [
        "ensemble 1/3 | elapsed 0:00:04 | ETA 0:00:08",
        "ensemble 3/3 | elapsed 0:00:20 | ETA 0:00:00"]


def test_tiles_ensemble_and_back_projection_report_every_step():
    calls = []
    lr = np.zeros((10, 7, 3), np.float32)
    tiling.tiled(lambda x: np.repeat(np.repeat(x, 2, 0), 2, 1), lr, 4, 1,
                 progress=lambda *a: calls.append(a))
    assert calls == [("tiles", i, 6) for i in range(7)]
    calls.clear()
    inference.self_ensemble(lambda x: np.repeat(np.repeat(x, 2, 0), 2, 1), lr, 2,
                            progress=lambda *a: calls.append(a))
    assert calls == [("ensemble", i, 8) for i in range(9)]
    calls.clear()
    inference.back_project(np.zeros((20, 14, 3), np.float32), lr, degradation.parse("bicubic"),
                           2, iterations=3, progress=lambda *a: calls.append(a))
    assert calls == [("back-projection", i, 3) for i in range(4)]
