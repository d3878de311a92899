"""Pixel, perceptual and adversarial losses (paper section 3.4), computed in float32."""

import keras
import tensorflow as tf


def l1_loss(x, y):
    """Mean absolute error, float32. L_Percep is ``l1_loss`` of VGG16 relu3_1 features."""
    return tf.reduce_mean(tf.abs(tf.cast(x, tf.float32) - tf.cast(y, tf.float32)))


def pixel_loss(sr, hr):
    """L_Rec: mean absolute error in the paper's [-1, 1] image units.

    Images here are in [0, 1]; the paper's code trains on [-1, 1], where the
    same error is twice as large. Measuring it in those units keeps the paper's
    balance between L_Rec, L_Percep and L_GAN at weights 1 : 1 : 1.
    """
    return 2.0 * l1_loss(sr, hr)


def _bce_logits(target, logits):
    logits = tf.cast(logits, tf.float32)
    return tf.reduce_mean(
        keras.ops.binary_crossentropy(tf.fill(tf.shape(logits), target), logits, from_logits=True)
    )


def discriminator_loss(real_logits, fake_logits):
    """GAN loss of D: ``0.5 * [BCE(D(HR), 1) + BCE(D(SR), 0)]`` (the paper's code),
    each averaged over the patch maps."""
    return 0.5 * (_bce_logits(1.0, real_logits) + _bce_logits(0.0, fake_logits))


def generator_adversarial_loss(fake_logits):
    """L_GAN^G, non-saturating: BCE(D(SR), 1)."""
    return _bce_logits(1.0, fake_logits)
