#!/usr/bin/env python3
"""The README's picture: one crop of an input, its bicubic x``scale`` and a result.

Three panels side by side, each the same region at the output's resolution shown
``--zoom`` times larger (nearest): the input with every pixel as a block, MATLAB
bicubic interpolation, and the super-resolved image. Written as PNG.

Example (after ``make demo``):
  python -m benchmarks.readme_figure --image samples/chelsea.png \\
      --sr saved_models/chelsea_x2.png --out docs/images/chelsea_x2.png
"""

import os

import numpy as np
from absl import app, flags
from PIL import Image, ImageDraw

from zsrgan_tf import degrade, files, imaging

FLAGS = flags.FLAGS
flags.DEFINE_string("image", "samples/chelsea.png", "The low-resolution input.")
flags.DEFINE_string("sr", "saved_models/chelsea_x2.png", "Its super-resolved image.")
flags.DEFINE_string("out", "results/readme_figure.png", "The figure (PNG).")
flags.DEFINE_list("box", ["60", "20", "64", "48"],
                  "LEFT,TOP,WIDTH,HEIGHT of the crop, input pixels.")
flags.DEFINE_integer("zoom", 2, "Display magnification of each panel (nearest).")

_LABEL_HEIGHT = 14  # pixels under each panel for its label (Pillow's default font)


def main(argv):
    del argv
    lr = imaging.read_image(FLAGS.image)
    sr = imaging.read_image(FLAGS.sr)
    scale = sr.shape[0] // lr.shape[0]
    left, top, width, height = (int(v) for v in FLAGS.box)
    bicubic = degrade.imresize(lr, sr.shape[:2]).numpy()
    nearest = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
    window = np.s_[top * scale:(top + height) * scale, left * scale:(left + width) * scale]
    panels = [("input", nearest), ("bicubic", bicubic), ("zsrgan-tf", sr)]
    side = (width * scale * FLAGS.zoom, height * scale * FLAGS.zoom)
    figure = Image.new("RGB", (len(panels) * side[0] + (len(panels) - 1) * 4,
                               side[1] + _LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(figure)
    for i, (label, image) in enumerate(panels):
        crop = Image.fromarray(imaging.to_uint8(image[window])).resize(side, Image.NEAREST)
        x = i * (side[0] + 4)
        figure.paste(crop, (x, 0))
        draw.text((x + 2, side[1] + 1), label, fill="black")
    os.makedirs(os.path.dirname(FLAGS.out) or ".", exist_ok=True)
    files.write_with(FLAGS.out, lambda f: figure.save(f, format="PNG", optimize=True))
    print(FLAGS.out)


if __name__ == "__main__":
    app.run(main)
