#!/usr/bin/env python3
"""Super-resolve one image with a freshly trained ZSRGAN (see zsrgan_tf/cli.py)."""

from zsrgan_tf.cli import entry_point

if __name__ == "__main__":
    entry_point()
