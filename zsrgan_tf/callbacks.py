"""Callbacks for per-image training, where one Keras epoch is one iteration.

``train.train_on_image`` runs ``fit(..., steps_per_epoch=1, epochs=iterations)``
so that the logs of each epoch are exactly the losses of one iteration.
"""

import csv
import json
import math
import os
import sys
import time

import keras
import numpy as np

from zsrgan_tf import files


def _clock(seconds):
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def duration(seconds):
    """A rough duration for a plan or an ETA: whole minutes from 90 s up, else seconds."""
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class LossLog(keras.callbacks.Callback):
    """Writes one CSV row per iteration: iteration, seconds since this process
    started training, the generator's learning rate used in that iteration, losses.

    A resumed run (first iteration k + 1 > 1) keeps the file's rows up to
    iteration k and appends under the file's header (a loss the header lacks
    is left out, one it has but the logs lack is empty); rows of iterations
    after the last checkpoint, which the resumed run repeats, are dropped.
    Every row is flushed, so a killed run keeps its log.

    Args:
      path: the CSV file.
    """

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.file = self.writer = self.start = self.columns = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def _open(self, first_iteration):
        rows = []
        if first_iteration > 1 and os.path.exists(self.path):
            with open(self.path, newline="") as f:
                rows = [r for r in csv.reader(f)]
            rows = rows[:1] + [r for r in rows[1:] if int(r[0]) < first_iteration]
        self.file = open(self.path, "w", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerows(rows)
        if rows:
            self.columns = rows[0][3:]
        return bool(rows)

    def on_epoch_begin(self, epoch, logs=None):
        self.lr = float(self.model.g_optimizer.learning_rate)  # the rate this step uses

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.writer is None and not self._open(epoch + 1):
            self.columns = sorted(logs)
            self.writer.writerow(["iteration", "seconds", "g_lr", *self.columns])
        self.writer.writerow(
            [epoch + 1, f"{time.perf_counter() - self.start:.3f}", f"{self.lr:.6g}"]
            + [f"{float(logs[k]):.6g}" if k in logs else "" for k in self.columns]
        )
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file:
            self.file.close()


class StepProgress:
    """Progress of the steps after training (tiles, the ensemble's transforms).

    Called as ``progress(label, done, total)``, with ``done = 0`` when a step
    starts. Once a step has run ``quiet`` seconds it shows ``LABEL done/total |
    elapsed | ETA``: redrawn on a terminal, else a line every ``every`` seconds
    and at the end. Steps that end sooner print nothing.
    """

    def __init__(self, stream=sys.stderr, quiet=3.0, every=10.0):
        self.stream = stream
        self.quiet = quiet
        self.every = every
        self._start = {}
        self._shown = {}  # label -> time of the last line shown

    def __call__(self, label, done, total):
        now = time.perf_counter()
        if done == 0:
            self._start[label] = now
            self._shown.pop(label, None)
            return
        elapsed = now - self._start[label]
        last = self._shown.get(label)
        tty = self.stream.isatty()
        if elapsed < self.quiet or (not tty and done < total and last is not None
                                    and now - last < self.every):
            return
        self._shown[label] = now
        eta = elapsed / done * (total - done)
        line = f"{label} {done}/{total} | elapsed {_clock(elapsed)} | ETA {_clock(eta)}"
        end = "\n" if not tty or done == total else ""
        self.stream.write(("\r\033[K" if tty else "") + line + end)
        self.stream.flush()


class Progress(keras.callbacks.Callback):
    """A one-line progress display: iteration, losses, seconds per iteration, ETA.

    On a terminal the line is redrawn every iteration; otherwise (logs, CI) a
    line is printed every ``every`` iterations and at the end.

    Args:
      iterations: total number of iterations.
      stream: where to write (stderr).
      every: print interval when ``stream`` is not a terminal.
    """

    def __init__(self, iterations, stream=sys.stderr, every=50):
        super().__init__()
        self.iterations = iterations
        self.stream = stream
        self.every = 1 if stream.isatty() else every
        self.start = None
        self.first = None  # first iteration of this process (> 0 when resumed)

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        if self.first is None:
            self.first = epoch

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.iterations:
            return
        elapsed = time.perf_counter() - self.start
        per_it = elapsed / (done - self.first)
        losses = " ".join(f"{k} {float(v):.4f}" for k, v in sorted((logs or {}).items()))
        line = (
            f"iter {done}/{self.iterations} | {losses} | {per_it:.2f} s/it | "
            f"elapsed {_clock(elapsed)} | ETA {_clock(per_it * (self.iterations - done))}"
        )
        end = "\n" if not self.stream.isatty() or done == self.iterations else ""
        self.stream.write(("\r\033[K" if self.stream.isatty() else "") + line + end)
        self.stream.flush()


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at the first iteration whose losses are not finite.

    ``diverged_at`` is then that 1-based iteration (None while all are finite).
    """

    def __init__(self):
        super().__init__()
        self.diverged_at = None

    def on_epoch_end(self, epoch, logs=None):
        if not all(math.isfinite(float(v)) for v in (logs or {}).values()):
            self.diverged_at = epoch + 1
            self.model.stop_training = True


class TrainingClock(keras.callbacks.Callback):
    """Training seconds summed over resumed runs, saved to ``path`` every ``every`` iterations.

    Saved at the same iterations as the training state (``checkpoint``), the
    total matches the state a resumed run starts from.
    """

    def __init__(self, path, every):
        super().__init__()
        self.path, self.every = path, every
        self.before = 0.0
        if os.path.exists(path):
            with open(path) as f:
                self.before = float(json.load(f)["seconds"])

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def seconds(self):
        return self.before + time.perf_counter() - self.start

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.save(epoch + 1)

    def save(self, iteration):
        """Writes the seconds so far, as of ``iteration``."""
        record = {"seconds": self.seconds(), "iteration": iteration}
        files.write_bytes(self.path, json.dumps(record).encode())


class AdaptiveLearningRate(keras.callbacks.Callback):
    """ZSSR's learning-rate rule with automatic stop; no ground truth is used.

    Every ``test_every`` iterations the generator super-resolves the image's own
    son (``son``: the LR image degraded the way the training sons are) and its
    mean squared error against the LR image is recorded. Every ``check_every``
    iterations, once ``min_iterations`` have passed since the last change, a
    line is fitted to the errors of the last ``slope_range`` iterations; when
    the fall it predicts is within noise (``-ratio * slope < std`` of the
    slope estimate) the learning rate is divided by 10. Training stops when
    the rate falls below ``min_lr``. Numbers: ZSSR's configuration
    (its public code; docs/method.md section 3): 50, 60, 256, 1.5, 256, 9e-6.

    The optimizer's learning rate must be a plain value (``make_optimizer``
    with ``TrainConfig.adaptive_lr``). After a resume the rate is restored
    from the checkpoint but the error history starts again, so a resumed run
    may change its rate later than an uninterrupted one.

    Attributes:
      errors: ``[(iteration, mse)]`` recorded so far.
      changes: iterations after which the rate was divided by 10.
    """

    def __init__(self, son_input, lr, test_every=50, check_every=60, slope_range=256,
                 ratio=1.5, min_iterations=256, min_lr=9e-6):
        """``son_input``: the son upscaled to the LR size for the generator,
        float32 ``(1, h, w, 3)``; ``lr``: the LR image it should reproduce,
        ``(H, W, 3)`` with H >= h, W >= w (compared on the top-left h x w)."""
        super().__init__()
        self.son_input = son_input
        self.target = lr[: son_input.shape[1], : son_input.shape[2]]
        self.test_every, self.check_every, self.slope_range = test_every, check_every, slope_range
        self.ratio, self.min_iterations, self.min_lr = ratio, min_iterations, min_lr
        self.errors, self.changes = [], []

    def on_train_begin(self, logs=None):
        self.last_change = int(self.model.g_optimizer.iterations)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.test_every == 0:
            sr = keras.ops.convert_to_numpy(self.model.generator(self.son_input, training=False))[0]
            self.errors.append((done, float(np.mean((sr - self.target) ** 2))))
        if done % self.check_every or done - self.last_change < self.min_iterations:
            return
        recent = [(i, e) for i, e in self.errors if i > done - self.slope_range]
        if len(recent) < 4:  # the slope's variance needs 4 points
            return
        (slope, _), cov = np.polyfit(*zip(*recent), 1, cov=True)
        if -self.ratio * slope < math.sqrt(cov[0, 0]):
            for optimizer in (self.model.g_optimizer, self.model.d_optimizer):
                optimizer.learning_rate.assign(float(optimizer.learning_rate) / 10)
            self.changes.append(done)
            self.last_change = done
            if float(self.model.g_optimizer.learning_rate) < self.min_lr:
                self.model.stop_training = True
