"""Resumable training: a run stopped and resumed equals an uninterrupted run."""

import keras
import numpy as np
import pytest

import zsrgan_tf
from zsrgan_tf import checkpoint


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, iterations):
        super().__init__()
        self.iterations = iterations

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.iterations:
            self.model.stop_training = True


def test_resume_equals_uninterrupted(photo, tmp_path):
    lr = photo[:72, :80]
    config = zsrgan_tf.preset("fast", iterations=4, batch_size=2, lr_halve_every=2)
    straight, _ = zsrgan_tf.train_on_image(lr, config)

    path = str(tmp_path / "state.npz")
    zsrgan_tf.train_on_image(lr, config, [_StopAfter(2)], checkpoint=path, checkpoint_every=1)
    resumed, history = zsrgan_tf.train_on_image(lr, config, checkpoint=path)
    assert len(history.history["l_g_pix"]) == 2  # iterations 3 and 4 only
    assert int(resumed.g_optimizer.iterations) == 4
    np.testing.assert_allclose(resumed.upscale(lr), straight.upscale(lr), atol=1e-5)
    for a, b in zip(resumed.discriminator.weights, straight.discriminator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)

    with pytest.raises(checkpoint.CheckpointMismatch, match="other settings"):
        zsrgan_tf.train_on_image(lr, config.replace(seed=1), checkpoint=path)


def test_settings_added_later_at_their_defaults_still_match():
    defaults = zsrgan_tf.TrainConfig().to_dict()
    current = {"config": zsrgan_tf.preset("fast").to_dict(), "xla": False}
    older = {"config": {k: v for k, v in current["config"].items() if k != "kernel"},
             "xla": False}
    assert checkpoint._same_settings(older, current, defaults)
    assert not checkpoint._same_settings(older, current, None)
    changed = {**current, "config": {**current["config"], "kernel": "gaussian:2.0"}}
    assert not checkpoint._same_settings(older, changed, defaults)
    assert not checkpoint._same_settings({**older, "xla": True}, current, defaults)
    # A setting since fixed matches at the value the code now uses, and only there.
    former = {**older, "config": {**older["config"], "d_loss_weight": 0.5}}
    assert checkpoint._same_settings(former, current, defaults)
    former["config"]["d_loss_weight"] = 0.3
    assert not checkpoint._same_settings(former, current, defaults)


def test_resume_counts_iterations_not_optimizer_updates(tmp_path):
    """Loss scaling (mixed_float16) skips, and does not count, non-finite updates:
    the state records the iterations done, which is where the data stream resumes."""
    model = zsrgan_tf.ZSRGAN()
    model.compile()
    path = str(tmp_path / "state.npz")
    checkpoint.save(model, path, {"run": 1}, step=7)  # e.g. 7 iterations, 0 updates
    assert checkpoint.restore(model, path, {"run": 1}) == 7
    assert int(model.g_optimizer.iterations) == 0
    assert checkpoint.restore_generator(model, path) == 7
