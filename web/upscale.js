// Runs a zsrgan-tf LiteRT export (.tflite) on an image, tile by tile, in the browser.
//
// The tiling is zsrgan_tf/tiling.py's: each tile's core is cut with `pad` LR pixels of
// context on every side, windows end where the image ends, and only the core of each
// result is kept, so the output equals one whole-image pass when `pad` covers how far an
// output pixel depends on the input (the export's upscaler.json says: tile_pad).
// Images are RGB, row-major, 3 values per pixel; models take float32 in [0, 1] (or
// uint8) NHWC and give the same at `scale` times the size.

import {loadAndCompile, loadLiteRt, Tensor} from '@litertjs/core';

// Smallest window side: the models mirror-pad their input, which needs 2 pixels.
const MIN_WINDOW = 2;

/** Tiles along one axis: [coreStart, coreEnd, windowStart, windowEnd] (tiling.windows). */
export function windows(length, core, pad, window) {
  if (window !== undefined && length <= window) return [[0, length, 0, window]];  // no seams
  const tiles = [];
  for (let start = 0; start < length; start += core) {
    const end = Math.min(start + core, length);
    if (window === undefined) {
      const windowEnd = Math.min(length, end + pad);
      const windowStart = Math.max(0, Math.min(start - pad, windowEnd - MIN_WINDOW));
      tiles.push([start, end, windowStart, windowEnd]);
    } else {
      const windowStart = Math.min(Math.max(0, start - pad), length - window);
      tiles.push([start, end, windowStart, windowStart + window]);
    }
  }
  return tiles;
}

/** Loads the LiteRT WebAssembly runtime once; threads when the page is cross-origin isolated. */
let runtime;
export function loadRuntime(wasmPath) {
  runtime ??= loadLiteRt(wasmPath, {threads: self.crossOriginIsolated === true});
  return runtime;
}

/** An exported upscaler: `await Upscaler.load(bytes, {accelerator, threads})`. */
export class Upscaler {
  constructor(model, accelerator) {
    this.model = model;
    this.accelerator = accelerator;
    const input = model.getInputDetails()[0];
    this.uint8 = input.dtype === 'uint8';
    const [, rows, cols] = input.shape;
    // Fixed-size models: (1, side, side, 3); dynamic ones have -1 entries.
    this.fixed = rows > 0 && cols > 0 ? [rows, cols] : null;
  }

  static async load(bytes, {accelerator = 'wasm', threads} = {}) {
    const options = {accelerator};
    if (threads) options.cpuOptions = {numThreads: threads};
    const upscaler = new Upscaler(await loadAndCompile(bytes, options), accelerator);
    if (!upscaler.fixed) {  // LiteRT.js runs the shapes a model was converted with
      upscaler.model.delete();
      throw new Error('this is a dynamic-size model; the page runs the fixed-size files ' +
                      '(upscaler_<weights>_tile<N>.tflite, written with --export_tile N)');
    }
    return upscaler;
  }

  /** Frees the compiled model (LiteRT.js memory is managed by hand). */
  delete() {
    this.model.delete();
  }

  /** One call on an RGB window (Uint8Array h*w*3) -> {data: Float32Array in [0, 1], scale}. */
  async run(window, h, w) {
    const data = this.uint8 ? window : Float32Array.from(window, (v) => v / 255);
    const input = new Tensor(data, [1, h, w, 3]);
    const [output] = await this.model.run([input]);
    input.delete();
    const local = output.accelerator === 'wasm' ? output : await output.moveTo('wasm');
    const values = local.toTypedArray();
    const scale = Math.round(Math.sqrt(values.length / (h * w * 3)));
    const result = this.uint8 ? Float32Array.from(values, (v) => v / 255) : values.slice();
    local.delete();
    // A runtime that fails quietly returns zeros (LiteRT.js 2.5.3 does, for fp16 weights
    // with a 512x512 input); say so rather than show a black image.
    if (!result.some((v) => v !== 0) && window.some((v) => v !== 0)) {
      throw new Error('the runtime returned an empty image for this file; try its fp32 ' +
                      'version or a smaller tile');
    }
    return {data: result, scale};
  }

  /**
   * Upscales an RGB image (Uint8Array height*width*3) in windows of the model's input
   * size with `pad` pixels of context (upscale_tflite.py's fixed-size path).
   * Returns {data: Uint8ClampedArray RGBA of the SR image, width, height, scale}.
   * `progress(done, total)` is called after each tile.
   */
  async upscale(rgb, height, width, {pad = 16, progress = () => {}} = {}) {
    if (Math.min(...this.fixed) <= 2 * pad) {
      throw new Error(`the model's ${this.fixed.join('x')} input leaves no centre with ` +
                      `${pad} px of context; export a larger --export_tile`);
    }
    // Mirror the image up to the model's input size when smaller.
    const [h, w] = [Math.max(height, this.fixed[0]), Math.max(width, this.fixed[1])];
    const image = h > height || w > width ? mirrorPad(rgb, height, width, h, w) : rgb;
    const [rows, cols] = [[h, 0], [w, 1]].map(
        ([length, axis]) => windows(length, Math.max(1, this.fixed[axis] - 2 * pad), pad,
                                    this.fixed[axis]));
    let out, scale, done = 0;
    for (const [r0, r1, wr0, wr1] of rows) {
      for (const [c0, c1, wc0, wc1] of cols) {
        const sr = await this.run(crop(image, w, wr0, wr1, wc0, wc1), wr1 - wr0, wc1 - wc0);
        if (!out) {
          scale = sr.scale;
          out = new Uint8ClampedArray(height * scale * width * scale * 4).fill(255);
        }
        const srWidth = (wc1 - wc0) * scale;
        for (let y = r0 * scale; y < Math.min(r1, height) * scale; y++) {
          for (let x = c0 * scale; x < Math.min(c1, width) * scale; x++) {
            const from = ((y - wr0 * scale) * srWidth + (x - wc0 * scale)) * 3;
            const to = (y * width * scale + x) * 4;
            for (let c = 0; c < 3; c++) out[to + c] = Math.round(sr.data[from + c] * 255);
          }
        }
        progress(++done, rows.length * cols.length);
      }
    }
    return {data: out, width: width * scale, height: height * scale, scale};
  }
}

/** Rows wr0..wr1, columns wc0..wc1 of an RGB image of width w. */
function crop(rgb, w, wr0, wr1, wc0, wc1) {
  const out = new Uint8Array((wr1 - wr0) * (wc1 - wc0) * 3);
  for (let y = wr0; y < wr1; y++) {
    out.set(rgb.subarray((y * w + wc0) * 3, (y * w + wc1) * 3), (y - wr0) * (wc1 - wc0) * 3);
  }
  return out;
}

/** Mirrors an RGB image (edge pixel repeated, numpy's "symmetric") to h x w. */
function mirrorPad(rgb, height, width, h, w) {
  const fold = (i, n) => {
    const period = 2 * n, m = ((i % period) + period) % period;
    return m < n ? m : period - 1 - m;
  };
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = (fold(y, height) * width + fold(x, width)) * 3;
      out.set(rgb.subarray(from, from + 3), (y * w + x) * 3);
    }
  }
  return out;
}
