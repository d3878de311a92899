"""Benchmarks and research tools. Run them from the repository root:
``python -m benchmarks.NAME --help``.

Like the ``zsrgan-train`` command, the tools import TensorFlow without its
start-up notices, so that their errors are one line (``zsrgan_train``).
"""

import zsrgan_train

zsrgan_train.import_tensorflow_quietly()
