"""The same seed gives the same output: short seeded runs of every training path
against outputs committed in tests/data (float32, so the precision is the same
on every machine).

The reference was written by ``python tests/test_reproducible.py`` with an
earlier version of the code; a refactoring must leave these numbers unchanged.
On the machine that wrote them they are equal to the bit; other CPUs may round
convolutions differently, hence the tolerances (well under one 8-bit level).
"""

import os
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # the whole module: only in the full suite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "tests", "data", "seeded_outputs.npz")
# name -> (preset, settings): the GAN paths (paper, fast: VGG and discriminator),
# ZSSR's L1 recipe on the sub-pixel generator with a kernel, and the default.
RUNS = {
    "fast": ("fast", {"iterations": 6}),
    "paper": ("paper", {"iterations": 3, "batch_size": 2, "crop_size": 64}),
    "zssr_g20": ("zssr-subpixel", {"iterations": 20, "kernel": "gaussian:2.0"}),
    "auto": ("auto", {"iterations": 20}),
}
CROP = np.s_[100:148, 200:248]  # of the 300x450 outputs


def run(name):
    """``(output crop, final losses)`` of one run on the sample photo."""
    import zsrgan_tf
    from zsrgan_tf import inference

    photo = zsrgan_tf.read_image(os.path.join(REPO, "samples", "chelsea.png"))
    preset, settings = RUNS[name]
    config = zsrgan_tf.preset(preset, precision="float32", **settings)
    model, history = zsrgan_tf.train_on_image(photo, config)
    losses = [history.history[k][-1] for k in sorted(history.history)]
    return inference.super_resolve(model, photo, config)[CROP], np.array(losses, np.float64)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_seeded_runs_give_the_recorded_outputs(name):
    with np.load(REFERENCE) as reference:
        want_sr, want_losses = reference[name], reference[name + "_losses"]
    sr, losses = run(name)
    np.testing.assert_allclose(sr, want_sr, atol=1e-3)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-3, atol=1e-6)


if __name__ == "__main__":
    results = {}
    for name in RUNS:
        results[name], results[name + "_losses"] = run(name)
    np.savez(sys.argv[1] if len(sys.argv) > 1 else REFERENCE, **results)
