"""Imports TensorFlow without its C++ start-up notices on stderr.

TensorFlow prints informational lines (oneDNN, absl initialisation) straight to
file descriptor 2 when it loads, before any Python setting can stop them; they
would bury the one-line errors of the command line. Set ``ZSRGAN_TF_VERBOSE=1``
to see them. Python exceptions raised by the import are unaffected.
"""

import os
import sys


def import_tensorflow_quietly():
    """Imports ``tensorflow`` with fd 2 sent to /dev/null (a no-op if already imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or os.environ.get("ZSRGAN_TF_VERBOSE"):
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    except ModuleNotFoundError as e:
        if e.name != "tensorflow":
            raise
        raise ImportError(
            "zsrgan_tf needs TensorFlow: pip install 'zsrgan-tf[cpu]' (or '[gpu]')"
        ) from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
