"""Choosing the numeric precision and the compiler for the device at hand.

- GPU: ``mixed_float16`` (float16 math, float32 weights, dynamic loss scaling)
  and XLA.
- CPU with bfloat16 matrix units (AMX or AVX512-BF16): ``mixed_bfloat16``;
  REFERENCE.md section 6 measured the GAN step 3-4x faster with AMX.
- Other CPUs: ``float32``; without bf16 hardware, bf16 math is emulated.
XLA stays off on CPUs, where it was measured slower (REFERENCE.md section 6).
Losses and metrics are always computed in float32 (see ``losses``).
"""

import contextlib
import functools

import keras
import tensorflow as tf

from zsrgan_tf.config import PRECISIONS

_BF16_CPU_FLAGS = {"amx_bf16", "avx512_bf16"}
# XLA compiles once per input shape: crop sides rounded to multiples of 16
# give at most 5 shapes (64, 80, ..., 128).
XLA_CROP_MULTIPLE = 16


@functools.lru_cache(maxsize=1)
def cpu_flags():
    """The CPU feature flags of /proc/cpuinfo (empty where it does not exist)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def has_gpu():
    return bool(tf.config.list_physical_devices("GPU"))


def resolve(precision="auto"):
    """The Keras dtype policy name for ``precision`` on this machine.

    Args:
      precision: one of ``PRECISIONS``; "auto" picks by device as described in
        the module docstring.

    Returns:
      "float32", "mixed_bfloat16" or "mixed_float16".
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if has_gpu():
        return "mixed_float16"
    if cpu_flags() & _BF16_CPU_FLAGS:
        return "mixed_bfloat16"
    return "float32"


def use_xla():
    """XLA on GPUs only (slower on the CPUs measured here)."""
    return has_gpu()


@contextlib.contextmanager
def policy_scope(policy):
    """Layers created inside get the Keras dtype policy ``policy``; restored after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
