"""File-to-file inference in bands: equal to the whole-image result, resumable."""

import json
import os
import re

import numpy as np
import pytest
import pyvips
from PIL import Image

import zsrgan_tf
from zsrgan_tf import cli, degradation, imaging, inference, outofcore

# (grey, alpha, bits): the layouts an output file can have.
LAYOUTS = {"rgb8": (False, False, 8), "grey+alpha8": (True, True, 8),
           "rgba16": (False, True, 16), "grey16": (True, False, 16)}


@pytest.fixture(scope="module")
def generator():
    """An untrained sub-pixel generator (inference does not care about the weights)."""
    config = zsrgan_tf.preset("zssr-subpixel", kernel="bicubic")
    return zsrgan_tf.ZSRGAN(config, degradation.parse("bicubic")).generator


def _write_input(path, photo, grey, alpha, bits):
    """A 45 x 58 crop of the photo as a PNG of the given layout; returns its pixels."""
    rgb = photo[40:85, 60:118]
    plane = np.linspace(0.2, 1.0, rgb.shape[1])[None, :].repeat(rgb.shape[0], 0)
    pixels = imaging.stored_pixels(rgb, plane if alpha else None, grey, bits)
    image = pyvips.Image.new_from_array(pixels)
    interpretation = {(8, True): "b-w", (8, False): "srgb", (16, True): "grey16",
                      (16, False): "rgb16"}[bits, pixels.shape[-1] in (1, 2)]
    image.copy(interpretation=interpretation).pngsave(str(path))
    return pixels


@pytest.mark.parametrize("layout", LAYOUTS, ids=list(LAYOUTS))
def test_bands_equal_the_whole_image(layout, generator, photo, tmp_path):
    grey, alpha, bits = LAYOUTS[layout]
    _write_input(tmp_path / "in.png", photo, grey, alpha, bits)
    picture = imaging.read_picture(str(tmp_path / "in.png"))
    test_time = inference.TestTime(back_projection=3)
    # The library's result, whole, as train_one stores it.
    sr = inference.upscale_image([generator], picture.rgb, 2, test_time, tile=0)
    plane = None
    if picture.alpha is not None:
        plane = degradation.parse("bicubic").interpolate(picture.alpha[..., None], 2)
        plane = plane.numpy()[..., 0]
    want = imaging.stored_pixels(sr, plane, picture.grey, picture.bits).astype(int)
    # Band by band from the file: windows of 8 x 16 LR pixels and their context.
    source = outofcore.Source(str(tmp_path / "in.png"))
    assert (source.grey, source.has_alpha, source.bits) == (grey, alpha, bits)
    layout_out = outofcore.Layout(90, 116, want.shape[-1], bits)
    sink = outofcore.Sink(str(tmp_path), layout_out, {})
    pad = inference.context([generator], 2, test_time)
    outofcore.upscale(inference.window_upscaler([generator], 2, test_time), source, sink, 2,
                      (8, 16), pad)
    sink.encode(str(tmp_path / "out.png"))
    got = pyvips.Image.new_from_file(str(tmp_path / "out.png")).numpy().reshape(want.shape)
    assert np.abs(got.astype(int) - want).max() <= 1
    assert not os.path.exists(sink.raw) and not os.path.exists(sink.record)


def test_a_killed_run_resumes_at_its_first_unfinished_band(generator, photo, tmp_path):
    _write_input(tmp_path / "in.png", photo, False, False, 8)
    source = outofcore.Source(str(tmp_path / "in.png"))
    window = inference.window_upscaler([generator], 2, inference.TestTime())
    pad = inference.context([generator], 2)
    layout = outofcore.Layout(90, 116, 3, 8)
    calls = []

    def killed_in_band_two(x):
        calls.append(x.shape)
        if len(calls) == 6:  # 3 windows a band (58 / 20): the second band's third
            raise KeyboardInterrupt
        return window(x)

    with pytest.raises(KeyboardInterrupt):
        outofcore.upscale(killed_in_band_two, source, outofcore.Sink(
            str(tmp_path), layout, {"pad": pad}), 2, (16, 20), pad)
    resumed = outofcore.Sink(str(tmp_path), layout, {"pad": pad})
    assert resumed.done == 1
    calls.clear()
    outofcore.upscale(lambda x: (calls.append(x.shape), window(x))[1], source, resumed, 2,
                      (16, 20), pad)
    assert len(calls) == 6  # bands two and three only
    resumed.encode(str(tmp_path / "resumed.png"))
    # Other settings do not reuse the bands.
    straight = outofcore.Sink(str(tmp_path), layout, {"pad": pad + 1})
    assert straight.done == 0
    outofcore.upscale(window, source, straight, 2, (16, 20), pad + 1)
    straight.encode(str(tmp_path / "straight.png"))
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "resumed.png")),
                                  np.asarray(Image.open(tmp_path / "straight.png")))


def test_unsupported_large_inputs_are_one_line_errors(tmp_path):
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 30), (10, 20, 30, 40)).save(cmyk)
    with pytest.raises(imaging.ImageError, match="cmyk.jpg: 4-band uchar cmyk image"):
        outofcore.Source(str(cmyk))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(imaging.ImageError, match=r"notes.png: cannot read image \(") as e:
        outofcore.Source(str(text))
    assert "\n" not in str(e.value)


def test_large_images_train_on_their_centre_and_write_in_bands(photo, tmp_path, monkeypatch,
                                                              capsys):
    path = tmp_path / "photo.png"
    Image.fromarray(imaging.to_uint8(photo)).save(path)
    monkeypatch.setattr(outofcore, "LARGE_PIXELS", 80 * 60)
    writes = []
    write = outofcore.Sink.write

    def write_then_kill(self, index, row, pixels):
        writes.append(index)
        write(self, index, row, pixels)
        if len(writes) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(outofcore.Sink, "write", write_then_kill)
    config = zsrgan_tf.preset("zssr-subpixel", iterations=3, kernel="bicubic")
    options = cli.RunOptions(output_dir=str(tmp_path / "out"), tile=64)
    with pytest.raises(KeyboardInterrupt):
        cli.run(str(path), config, options)
    err = capsys.readouterr().err
    assert "trains on its centre 84x56, writes the output in bands" in err
    assert re.search(r"photo.png: 12 windows, inference about \d+ s \(one timed\), peak memory "
                     r"about \d+\.\d GiB \(\d+\.\d GiB available\)", err), err
    png = cli.run(str(path), config, cli.RunOptions(output_dir=str(tmp_path / "out"), tile=64,
                                                    resume=True))
    assert writes == [0, 1, 2]  # 150 rows in bands of 64: the first was kept
    with Image.open(png) as im:
        assert im.size == (450, 300) and im.mode == "RGB"
    with open(tmp_path / "out" / "photo_x2" / "config.json") as f:
        record = json.load(f)
    assert (record["input"]["width"], record["output"]["width"]) == (225, 450)
    assert record["output"]["lr_psnr_db"] is None
    assert sorted(os.listdir(tmp_path / "out" / "photo_x2")) == [
        "config.json", "generator.keras", "losses.csv"]


def test_a_large_run_the_machine_cannot_hold_stops_before_training(photo, tmp_path,
                                                                   monkeypatch):
    path = tmp_path / "photo.png"
    Image.fromarray(imaging.to_uint8(photo)).save(path)
    monkeypatch.setattr(outofcore, "LARGE_PIXELS", 80 * 60)
    monkeypatch.setattr(outofcore, "available_memory", lambda: 2**28)
    config = zsrgan_tf.preset("zssr-subpixel", kernel="bicubic")
    with pytest.raises(cli.UsageError, match=r"photo.png: needs about \d+\.\d GiB of memory, "
                       r"0\.2 GiB available; free memory or use a smaller --tile"):
        cli.run(str(path), config, cli.RunOptions(output_dir=str(tmp_path / "out")))
    assert os.listdir(tmp_path / "out") == []  # nothing trained, nothing left
