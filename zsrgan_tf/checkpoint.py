"""Resumable training: the whole training state of a ZSRGAN in one ``.npz`` file.

The state is every variable of the generator, the discriminator (including
BatchNorm statistics) and both optimisers (moments, step counters, loss
scales). The father/son batches depend only on ``(seed, step)``, so a run
restored at step k and continued is the same computation as an uninterrupted
run. The file also stores the run's settings and refuses to resume a
different run.
"""

import json

import keras
import numpy as np

from zsrgan_tf import files
from zsrgan_tf.config import without_former_settings


class CheckpointMismatch(ValueError):
    """The checkpoint belongs to a run with other settings."""


def _variables(model):
    for optimizer, network in ((model.g_optimizer, model.generator),
                               (model.d_optimizer, model.discriminator)):
        if not optimizer.built:
            optimizer.build(network.trainable_variables)
    return (model.generator.weights + model.discriminator.weights
            + model.g_optimizer.variables + model.d_optimizer.variables)


def save(model, path, settings, step):
    """Writes the training state atomically (temporary file, then rename).

    Args:
      model: a compiled ``ZSRGAN``.
      path: the ``.npz`` file.
      settings: JSON-serialisable description of the run (e.g. ``TrainConfig.to_dict()``).
      step: iterations done. Not the optimiser's count: under mixed_float16 its
        loss scaling skips (and does not count) steps with non-finite gradients.
    """
    arrays = {f"v{i:04d}": keras.ops.convert_to_numpy(v) for i, v in enumerate(_variables(model))}
    arrays["settings"] = np.array(json.dumps(settings, sort_keys=True))
    arrays["step"] = np.array(int(step))
    files.write_with(path, lambda f: np.savez(f, **arrays))


def _same_settings(stored, current, defaults):
    """Equal, or equal once ``current``'s config drops settings the stored one lacks
    that are at their ``defaults`` (settings added to the code after the save) and
    the stored one drops settings since fixed at the value it holds
    (``config.FORMER_SETTINGS``)."""
    if stored == current:
        return True
    if not defaults or "config" not in stored or "config" not in current:
        return False
    stored = {**stored, "config": without_former_settings(stored["config"])}
    config = {k: v for k, v in current["config"].items()
              if k in stored["config"] or k not in defaults or v != defaults[k]}
    return stored == {**current, "config": config}


def restore(model, path, settings, defaults=None):
    """Loads the training state saved by ``save``; returns the number of steps done.

    Args:
      model: a compiled ``ZSRGAN`` with the same networks.
      path: the ``.npz`` file.
      settings: the current run's settings; they must equal the stored ones.
      defaults: optional ``{setting: default}`` of ``settings["config"]``: a
        setting missing from the stored config matches when it is at its default.

    Raises:
      CheckpointMismatch: the file was written for other settings or networks.
    """
    with np.load(path) as stored:
        saved = json.loads(str(stored["settings"]))
        if not _same_settings(saved, json.loads(json.dumps(settings)), defaults):
            raise CheckpointMismatch(f"{path}: checkpoint of a run with other settings")
        variables = _variables(model)
        names = sorted(k for k in stored.files if k not in ("settings", "step"))
        if len(names) != len(variables):
            raise CheckpointMismatch(f"{path}: checkpoint holds other networks")
        for variable, name in zip(variables, names):
            variable.assign(stored[name])
        return int(stored["step"])


def restore_generator(model, path):
    """Loads only the generator's weights from a ``save`` file (e.g. the last
    good state of a diverged run); returns the iteration it was saved at."""
    with np.load(path) as stored:
        for i, variable in enumerate(model.generator.weights):
            variable.assign(stored[f"v{i:04d}"])
        return int(stored["step"])


class Checkpointer(keras.callbacks.Callback):
    """Saves the training state every ``every`` iterations (= epochs) and after the last.

    A state whose losses or generator weights are not finite is never saved,
    so the file keeps the last good state of a run that diverged.
    """

    def __init__(self, path, settings, every=100):
        super().__init__()
        self.path = path
        self.settings = settings
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.params["epochs"]:
            return
        finite = all(np.isfinite(float(v)) for v in (logs or {}).values()) and all(
            np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in self.model.generator.weights)
        if finite:
            save(self.model, self.path, self.settings, done)
