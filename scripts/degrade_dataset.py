#!/usr/bin/env python3
"""Makes LR test inputs from a dataset's HR images with a known kernel.

Each ``--dataset``/HR/*.png is blurred with ``--kernel`` (mirrored borders),
pixels 0, s, 2s, ... are kept (``degrade.blur_subsample``, the way the shared
LR_g20_x2 files were made: ``--kernel gaussian:2.0`` reproduces them bit for
bit) and the result is rounded to 8 bits. HR images are first cropped to a
multiple of the scale (bottom and right; MZSR's "modcrop"), so that SR and HR
have one size under both evaluation protocols. Written to ``--out``: ``HR/``
(copies of the HR files, cropped where needed) and ``--lr_dir``/, ready for
``scripts/evaluate.py --dataset OUT --lr_dir NAME``. Existing files are left
alone.

Example:
  python scripts/degrade_dataset.py --dataset ../shared/data/Set5 \\
      --kernel gaussian:4,1,45 --out data/Set5_aniso --lr_dir LR_a4-1-45_x2
"""

import os
import shutil

import numpy as np
from absl import app, flags

from zsrgan_tf import degrade, imaging, kernels

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Folder with HR/.")
flags.DEFINE_string("kernel", None, "Kernel spec (train_one --kernel), not bicubic or blind.")
flags.DEFINE_integer("scale", 2, "Subsampling factor.")
flags.DEFINE_string("out", None, "Output folder (HR/ and --lr_dir/ are written in it).")
flags.DEFINE_string("lr_dir", None, "Name of the LR subfolder.")
flags.mark_flags_as_required(["dataset", "kernel", "out", "lr_dir"])


def _copy_cropped(source, target, scale):
    """Copies an HR image cropped to a multiple of ``scale``, whole or not at all:
    byte for byte when no crop is needed, else re-encoded with its layout."""
    picture = imaging.read_picture(source)
    h, w = picture.rgb.shape[:2]
    if h % scale == 0 and w % scale == 0:
        shutil.copyfile(source, target + ".partial")
        os.replace(target + ".partial", target)
        return
    h, w = h // scale * scale, w // scale * scale
    alpha = None if picture.alpha is None else picture.alpha[:h, :w]
    imaging.write_png(target, picture.rgb[:h, :w], alpha, picture.grey, picture.bits)
    print(f"{target}: cropped to {w}x{h}, a multiple of {scale}")


def main(argv):
    del argv
    try:
        kernel = kernels.parse(FLAGS.kernel)
    except kernels.KernelError as e:
        raise app.UsageError(str(e)) from None
    if kernel is None:
        raise app.UsageError("--kernel: bicubic is not a blur kernel; give a Gaussian or a file")
    hr_dir = os.path.join(FLAGS.dataset, "HR")
    if not os.path.isdir(hr_dir):
        raise app.UsageError(f"{hr_dir}: no such folder")
    for folder in ("HR", FLAGS.lr_dir):
        os.makedirs(os.path.join(FLAGS.out, folder), exist_ok=True)
    for name in sorted(n for n in os.listdir(hr_dir) if n.lower().endswith(".png")):
        hr_copy = os.path.join(FLAGS.out, "HR", name)
        lr_path = os.path.join(FLAGS.out, FLAGS.lr_dir, name)
        if not os.path.exists(hr_copy):
            _copy_cropped(os.path.join(hr_dir, name), hr_copy, FLAGS.scale)
        if not os.path.exists(lr_path):
            hr = imaging.read_image(hr_copy).astype(np.float64)
            lr = degrade.blur_subsample(hr, kernel, FLAGS.scale).numpy()
            # Rounded in float64, as the shared files were: write_png's float32 would
            # move a few pixels by one level.
            imaging.write_png(lr_path, imaging.to_uint8(lr) / 255.0)
        print(lr_path)


if __name__ == "__main__":
    app.run(main)
