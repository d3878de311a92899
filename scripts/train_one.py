#!/usr/bin/env python3
"""Super-resolve images, each with a freshly trained ZSRGAN: the ``zsrgan-train``
command, run from a checkout (see zsrgan_train.py and zsrgan_tf/cli.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from zsrgan_train import main  # noqa: E402  (after the checkout is on the path)

if __name__ == "__main__":
    main()
