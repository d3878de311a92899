"""Analytic FLOP counts of one training iteration (convolutions only).

A convolution producing an ``h x w x c_out`` map from ``k x k x c_in`` windows
costs ``2 * h * w * k * k * c_in * c_out`` FLOPs (one multiply and one add per
weight and output pixel). Other layers (ReLU, BatchNorm, pooling, losses) add
well under 1% and are left out. Backward passes count 2x the forward pass when
both input and weight gradients are needed and 1x when only input gradients
are (the frozen VGG, and D while the generator is updated); the first layer's
unneeded input gradient is not subtracted.
"""

import keras


def conv_flops(model, height, width):
    """Forward FLOPs of the Conv2D layers of a Functional model on one image.

    Args:
      model: a Functional ``keras.Model`` with NHWC input.
      height, width: input size in pixels.

    Returns:
      int, FLOPs for one image.
    """
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(model.inputs, [layer.output for layer in convs])
    shapes = probe.compute_output_shape((1, height, width, 3))
    total = 0
    for layer, shape in zip(convs, shapes):
        kh, kw, c_in, c_out = layer.kernel.shape
        total += 2 * shape[1] * shape[2] * kh * kw * c_in * c_out
    return total


def iteration_flops(model, batch_size, crop):
    """FLOPs of one ``ZSRGAN.train_step`` on ``batch_size`` crops of ``crop x crop``.

    Returns:
      dict with the forward FLOPs per image of ``generator``, ``vgg`` and
      ``discriminator``, and ``per_iteration`` (forward + backward, whole batch):
      G 1 forward + 2 backward; VGG forward on HR and SR + input gradient on SR;
      D 2 forwards + 2x2 backward in its own step, 1 forward + 1 input-gradient
      backward in the generator's step. Terms with zero loss weight are skipped,
      as ``train_step`` skips them.
    """
    g = conv_flops(model.generator, crop, crop)
    v = conv_flops(model.vgg, crop, crop) if model.config.lambda_percep else 0
    d = conv_flops(model.discriminator, crop, crop) if model.config.lambda_gan else 0
    return {
        "generator": g,
        "vgg": v,
        "discriminator": d,
        "per_iteration": batch_size * (3 * g + 3 * v + 8 * d),
    }
