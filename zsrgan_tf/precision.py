"""Choosing the numeric precision and the compiler for the device at hand.

- GPU: ``mixed_float16`` (float16 math, float32 weights, dynamic loss scaling)
  and XLA.
- CPU with bfloat16 matrix units (AMX or AVX512-BF16): ``mixed_bfloat16``;
  measured 2.5x faster for the paper preset's GAN step with AMX, 1.9x with
  AVX512-BF16 alone (docs/results.md, "Training speed: a CPU with AMX-BF16"
  and "... AVX512-BF16").
- Other CPUs: ``float32``; without bf16 hardware, bf16 math is emulated.
XLA stays off on CPUs, where it was measured slower (docs/results.md, "Training speed").
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
def cpu_info():
    """``(model name, feature flags)`` of the first CPU in /proc/cpuinfo:
    ``("unknown CPU", frozenset())`` where it does not exist."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():  # the first CPU's block ends
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields.get("model name", "unknown CPU"), frozenset(fields.get("flags", "").split())


def cpu_flags():
    """The CPU's feature flags (``cpu_info``)."""
    return cpu_info()[1]


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
