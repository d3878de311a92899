"""Exporting a trained generator for inference without this package.

Every export is the whole upscaler (``upscaler.py``: bicubic x``scale`` from
builtin ops, the generator, clipping, and the run's test-time options,
``inference.TestTime``: the self-ensemble and back-projection), so it gives
what ``train_one`` gives, with two signatures:

- ``serve``: float32 ``lr`` ``(N, H, W, 3)`` in [0, 1] -> float32 ``sr``
  ``(N, sH, sW, 3)`` in [0, 1];
- ``serve_uint8``: uint8 ``lr`` -> uint8 ``sr`` (the same, scaled by 255 and
  rounded half to even).

Formats:

- SavedModel (folder): dynamic N, H, W; ``tf.saved_model.load(path).serve(x)``
  needs TensorFlow only.
- LiteRT/TFLite (file), one signature (``serve`` or ``serve_uint8``: the
  converter keeps only one per file), TFLite builtin ops only (conversion fails otherwise, and
  ``flex_ops`` re-checks the file), weights ``fp32``, ``fp16`` (weights stored
  as float16) or ``int8`` (dynamic-range: int8 weights, activations quantised
  on the fly; float input and output), and
  either dynamic H x W (resize the input tensor before each call) or a fixed
  ``(1, tile, tile, 3)`` input for GPU delegates, which want static shapes.

Writes are atomic: a temporary sibling is renamed onto the target.
"""

import json
import os
import tempfile

import keras
import tensorflow as tf

from zsrgan_tf import files, inference, models, upscaler

QUANTIZATIONS = ("fp32", "fp16", "int8")
# Input/output dtype -> signature name.
IO_TYPES = {"float32": "serve", "uint8": "serve_uint8"}


class ExportError(Exception):
    """The converted model is not what was asked for (e.g. it needs Flex ops)."""


# ``write_exports`` kinds: a SavedModel, TFLite weight formats, uint8-I/O copies.
KINDS = ("savedmodel", "tflite", "fp16", "int8", "uint8")


def check_kinds(kinds):
    """Raises ValueError (one line) for export kinds ``write_exports`` cannot honour:
    unknown ones, or ``uint8`` without a TFLite file for it to copy."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown export kinds {','.join(unknown)}; choose from {', '.join(KINDS)}")
    if "uint8" in kinds and not {"tflite", "fp16", "int8"} & set(kinds):
        raise ValueError("uint8 makes uint8-I/O copies of the TFLite files: "
                         "add tflite, fp16 or int8")


def float32_copy(generator):
    """``generator`` itself if float32, else a float32 copy (exports run in float32)."""
    if generator.dtype_policy.name == "float32":
        return generator
    copy = models.Generator.from_config({**generator.get_config(), "dtype": "float32"})
    copy.set_weights(generator.get_weights())
    return copy


def _archive(generator, scale, spatial, test_time):
    """A Keras ExportArchive with both signatures; ``spatial`` is None or a tile side."""
    generator = [float32_copy(g) for g in upscaler.as_steps(generator)]
    models = {IO_TYPES["float32"]: upscaler.float_upscaler(generator, scale, test_time),
              IO_TYPES["uint8"]: upscaler.uint8_upscaler(generator, scale, test_time)}
    batch = None if spatial is None else 1
    archive = keras.export.ExportArchive()
    for name, model in models.items():
        archive.track(model)
        dtype = "float32" if name == IO_TYPES["float32"] else "uint8"
        archive.add_endpoint(
            name, model.call,
            input_signature=[tf.TensorSpec((batch, spatial, spatial, 3), dtype, name="lr")],
        )
    return archive


def save_savedmodel(generator, scale, path, test_time=inference.TestTime()):
    """Writes the upscaler as a SavedModel folder at ``path`` (dynamic N, H, W).

    Args:
      generator: a trained ``models.Generator`` (float32 or mixed policy), or the list
        of a gradual run's (``upscaler.as_steps``).
      scale: its integer upscaling factor.
      path: folder to create (or replace).
      test_time: ``inference.TestTime`` (its degradation sets the grid).
    """
    files.write_folder(path, lambda tmp: _archive(generator, scale, None, test_time).write_out(
        tmp, verbose=False))


def tflite_bytes(generator, scale, quantization="fp32", tile=None, io="float32",
                 test_time=inference.TestTime()):
    """The upscaler as a LiteRT/TFLite flatbuffer with one signature.

    Args:
      generator: a trained ``models.Generator``, or a list (``upscaler.as_steps``).
      scale: its integer upscaling factor.
      quantization: one of ``QUANTIZATIONS``.
      tile: None for dynamic H x W (batch dynamic too), or the side of a fixed
        ``(1, tile, tile, 3)`` input.
      io: ``"float32"`` (signature ``serve``) or ``"uint8"`` (``serve_uint8``).
        The converter keeps one signature per file.
      test_time: ``inference.TestTime`` (its degradation sets the grid).

    Returns:
      The .tflite file's bytes, checked to hold builtin ops only.
    """
    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, got {quantization!r}")
    if io not in IO_TYPES:
        raise ValueError(f"io must be one of {tuple(IO_TYPES)}, got {io!r}")
    with tempfile.TemporaryDirectory() as tmp:
        saved = os.path.join(tmp, "saved_model")
        _archive(generator, scale, tile, test_time).write_out(saved, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved, [IO_TYPES[io]])
        # Builtins only: conversion fails instead of emitting Flex ops.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization != "fp32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "fp16":
            converter.target_spec.supported_types = [tf.float16]
        content = converter.convert()
    flex = flex_ops(content)
    if flex:
        raise ExportError(f"the TFLite model needs non-builtin ops: {', '.join(flex)}")
    return content


def save_tflite(generator, scale, path, quantization="fp32", tile=None, io="float32",
                test_time=inference.TestTime()):
    """Writes ``tflite_bytes(...)`` to ``path`` atomically."""
    files.write_bytes(path, tflite_bytes(generator, scale, quantization, tile, io, test_time))


def _schema():
    """The TFLite flatbuffer schema, from the LiteRT runtime package."""
    try:
        from ai_edge_litert import schema_py_generated
    except ModuleNotFoundError:
        raise ImportError("checking .tflite files needs the LiteRT runtime: "
                          "pip install 'zsrgan-tf[litert]'") from None
    return schema_py_generated


def tflite_ops(content):
    """Names of the operators a .tflite flatbuffer uses, sorted.

    Builtins by their ``BuiltinOperator`` name (``CONV_2D``); custom ops,
    including Flex (SELECT_TF_OPS) ops, by their custom code (``FlexResizeBicubic``).
    """
    schema = _schema()
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.Model.GetRootAsModel(content, 0)
    ops = set()
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        # Codes < 127 are also stored in the deprecated int8 field; take the larger.
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            ops.add(code.CustomCode().decode())
        else:
            ops.add(names[builtin])
    return sorted(ops)


def flex_ops(content):
    """The operators of ``content`` that are not TFLite builtins (empty if none)."""
    schema = _schema()
    builtin = {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}
    return [op for op in tflite_ops(content) if op not in builtin]


# Beside the exports: what a runner needs to know that the model file does not say.
CARD = "upscaler.json"


def write_card(generator, scale, folder, test_time):
    """Writes ``CARD`` into ``folder``: ``scale``, ``grid``, ``degradation`` (spec),
    ``ensemble`` (transforms run), ``back_projection`` (corrections run) and
    ``tile_pad``: the LR context a tile needs for the tiled result to equal one
    whole-image pass (``inference.context``)."""
    card = {"scale": scale, "grid": test_time.grid, "degradation": test_time.model.spec,
            "ensemble": len(test_time.model.symmetries()) if test_time.ensemble else 1,
            "back_projection": test_time.projections,
            "tile_pad": inference.context(upscaler.as_steps(generator), scale, test_time)}
    files.write_bytes(os.path.join(folder, CARD), (json.dumps(card, indent=2) + "\n").encode())


def write_exports(generator, scale, folder, kinds, tile=256, test_time=inference.TestTime(),
                  progress=None):
    """Writes the requested exports into ``folder`` (which must exist), replacing
    earlier ones of the same names.

    Args:
      generator: a trained ``models.Generator``, or the list of a gradual run's
        (``gradual``), applied in turn.
      scale: the integer upscaling factor (of the whole list).
      folder: destination folder.
      kinds: subset of ``KINDS``. ``savedmodel`` -> ``savedmodel/``; ``tflite``,
        ``fp16``, ``int8`` -> ``upscaler_<fp32|fp16|int8>.tflite`` (dynamic size) and,
        if ``tile``, ``upscaler_<q>_tile<tile>.tflite`` (fixed size); ``uint8`` adds a
        ``_uint8`` copy of each TFLite file with uint8 input and output.
      tile: side of the fixed-size TFLite input, in LR pixels (0: none).
      test_time: ``inference.TestTime``: the degradation the generator was
        trained with (it sets the grid), the ensemble and back-projection.
      progress: optional ``progress(label, done, total)``, called with label
        ``"export"`` before the first file and after each.

    Returns:
      The written paths, in order, ``upscaler.json`` last (when any).
    """
    check_kinds(kinds)
    weights = [q for q, kind in zip(QUANTIZATIONS, ("tflite", "fp16", "int8")) if kind in kinds]
    ios = ["float32", "uint8"] if "uint8" in kinds else ["float32"]
    jobs = [("savedmodel", None)] if "savedmodel" in kinds else []
    jobs += [((f"upscaler_{quantization}{f'_tile{size}' if size else ''}"
               f"{'_uint8' if io == 'uint8' else ''}.tflite"), (quantization, size, io))
             for quantization in weights for size in ([None, tile] if tile else [None])
             for io in ios]
    report = progress or (lambda label, done, total: None)
    report("export", 0, len(jobs))
    written = []
    for name, tflite in jobs:
        written.append(os.path.join(folder, name))
        if tflite is None:
            save_savedmodel(generator, scale, written[-1], test_time)
        else:
            save_tflite(generator, scale, written[-1], *tflite, test_time)
        report("export", len(written), len(jobs))
    if written:
        write_card(generator, scale, folder, test_time)
        written.append(os.path.join(folder, CARD))
    return written
