#!/usr/bin/env python3
"""Makes LR test inputs from a dataset's HR images with a known degradation.

Each ``--dataset``/HR image is degraded by ``--kernel`` (a degradation spec, as
``train_one --kernel``: ``bicubic``, ``gaussian:2.0``, ``gaussian:1.3+bicubic``,
``gaussian:0.64+bicubic+jpeg:75``, ``gaussian:2.0+noise:5``, ...;
``evaluation.degrade_dataset``) and written as PNG, or as a JPEG file when the
spec ends with JPEG compression. ``gaussian:2.0`` reproduces Set5's
LR_g20_x2 files (MZSR's) bit for bit. The noise of image ``NAME`` is drawn from the seed
``--seed`` + crc32(NAME), so every image has its own and a rerun the same. HR
images are first cropped to a multiple of the scale (bottom and right; MZSR's
"modcrop"), so that SR and HR have one size under both evaluation protocols.
Written to ``--out``: ``HR/`` (copies of the HR files, cropped where needed)
and ``--lr_dir``/, ready for ``benchmarks/evaluate.py --dataset OUT --lr_dir
NAME``. Existing files are left alone.

Example:
  python -m benchmarks.degrade_dataset --dataset $ZSRGAN_DATA/Set5 \\
      --kernel gaussian:4,1,45 --out data/Set5_aniso --lr_dir LR_a4-1-45_x2
"""

from absl import app, flags

from benchmarks import evaluation
from zsrgan_tf import degradation as degradation_lib
from zsrgan_tf import kernels

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", None, "Folder with HR/.")
flags.DEFINE_string("kernel", None, "Degradation spec (train_one --kernel), not an estimated "
                    "one (auto, blind).")
flags.DEFINE_integer("scale", 2, "Subsampling factor.")
flags.DEFINE_integer("seed", 0, "Seed of the noise (added to crc32 of each image's name).")
flags.DEFINE_string("out", None, "Output folder (HR/ and --lr_dir/ are written in it).")
flags.DEFINE_string("lr_dir", None, "Name of the LR subfolder.")
flags.mark_flags_as_required(["dataset", "kernel", "out", "lr_dir"])


def main(argv):
    del argv
    if FLAGS.kernel in degradation_lib.ESTIMATED:
        raise app.UsageError(f"--kernel {FLAGS.kernel}: give a known degradation")
    try:
        paths = evaluation.degrade_dataset(FLAGS.dataset, FLAGS.kernel, FLAGS.scale, FLAGS.out,
                                           FLAGS.lr_dir, FLAGS.seed)
    except (kernels.KernelError, FileNotFoundError) as e:
        raise app.UsageError(str(e)) from None
    print("\n".join(paths))


if __name__ == "__main__":
    app.run(main)
