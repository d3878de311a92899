"""Training callbacks."""

from zsrgan_tf import callbacks


def test_divergence_guard_stops_at_first_non_finite():
    class Model:
        stop_training = False

    guard = callbacks.DivergenceGuard()
    guard.set_model(Model())
    guard.on_epoch_end(0, {"l_d": 0.7, "l_g_pix": 0.1})
    assert guard.diverged_at is None and not guard.model.stop_training
    guard.on_epoch_end(1, {"l_d": float("nan"), "l_g_pix": 0.1})
    assert guard.diverged_at == 2 and guard.model.stop_training
