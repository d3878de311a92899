"""The ``zsrgan-train`` command: TensorFlow imported without its start-up
notices, then ``zsrgan_tf.cli``.

TensorFlow's C++ start-up lines (oneDNN, absl initialisation) go straight to
file descriptor 2 while it loads, before any Python setting can stop them;
they would bury the command's one-line errors. So the command, and only the
command, imports TensorFlow with fd 2 sent to /dev/null (``ZSRGAN_TF_VERBOSE=1``
shows them); importing the library changes nothing. This module lives outside
the package because importing anything of ``zsrgan_tf`` imports TensorFlow.
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
        raise SystemExit("error: zsrgan-train needs TensorFlow: "
                         "pip install 'zsrgan-tf[cpu]' (or '[gpu]')") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def main():
    import_tensorflow_quietly()
    from zsrgan_tf.cli import entry_point

    entry_point()


if __name__ == "__main__":
    main()
