// The page: picks a model, its card and an image, runs upscale.js, shows and saves the result.
// document.body.dataset.state is "ready", "running", "done" or "error" (for scripted use).

import {isWebGPUSupported} from '@litertjs/core';
import {loadRuntime, Upscaler} from './upscale.js';

const $ = (id) => document.getElementById(id);
const status = (text, state) => {
  $('status').textContent = text;
  if (state) document.body.dataset.state = state;
};
// Context without upscaler.json: the network alone (upscale_tflite.py's default).
const DEFAULT_PAD = 16;
// Side of the zoomed crop, LR pixels.
const ZOOM = 48;
let input, result, stem = 'image';

async function readImage(file) {
  const bitmap = await createImageBitmap(file, {colorSpaceConversion: 'none',
                                                premultiplyAlpha: 'none'});
  const canvas = $('input');
  [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const rgb = new Uint8Array(bitmap.width * bitmap.height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return {rgb, width: bitmap.width, height: bitmap.height};
}

function zoom(x, y) {  // (x, y): centre, LR pixels
  const side = Math.min(ZOOM, input.width, input.height);
  const left = Math.max(0, Math.min(input.width - side, Math.round(x - side / 2)));
  const top = Math.max(0, Math.min(input.height - side, Math.round(y - side / 2)));
  for (const [id, source, factor] of [['zoom-input', $('input'), 1],
                                      ['zoom-output', $('output'), result.scale]]) {
    const canvas = $(id);
    [canvas.width, canvas.height] = [side * factor, side * factor];
    const context = canvas.getContext('2d');
    context.imageSmoothingEnabled = false;
    context.drawImage(source, left * factor, top * factor, side * factor, side * factor,
                      0, 0, side * factor, side * factor);
  }
}

async function upscale() {
  $('run').disabled = $('save').disabled = true;
  status('Reading…', 'running');
  let model;
  try {
    const card = $('card').files[0] ? JSON.parse(await $('card').files[0].text()) : {};
    const bytes = new Uint8Array(await $('model').files[0].arrayBuffer());
    const accelerator = $('accelerator').value;
    const threads = self.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
    model = await Upscaler.load(bytes, {accelerator, threads});
    input = await readImage($('image').files[0]);
    stem = $('image').files[0].name.replace(/\.[^.]*$/, '');
    const pad = card.tile_pad ?? DEFAULT_PAD;
    const start = performance.now();
    result = await model.upscale(input.rgb, input.height, input.width, {
      pad, progress: (done, total) => status(`tile ${done}/${total}`)});
    const seconds = (performance.now() - start) / 1000;
    const canvas = $('output');
    [canvas.width, canvas.height] = [result.width, result.height];
    canvas.getContext('2d').putImageData(new ImageData(result.data, result.width), 0, 0);
    zoom(input.width / 2, input.height / 2);
    status(`${input.width}x${input.height} -> ${result.width}x${result.height} in ` +
           `${seconds.toFixed(2)} s (${accelerator}, ${threads} thread${threads > 1 ? 's' : ''},` +
           ` context ${pad} px)`, 'done');
    $('save').disabled = false;
  } catch (error) {
    status(`error: ${error.message ?? error}`, 'error');
  } finally {
    model?.delete();
  }
  $('run').disabled = false;
}

function save() {
  $('output').toBlob((blob) => {
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${stem}_x${result.scale}.png`;
    link.click();
    URL.revokeObjectURL(link.href);
  }, 'image/png');
}

$('output').addEventListener('click', (event) => {
  if (!result) return;
  const box = event.target.getBoundingClientRect();
  zoom((event.clientX - box.left) / box.width * input.width,
       (event.clientY - box.top) / box.height * input.height);
});
$('run').addEventListener('click', upscale);
$('save').addEventListener('click', save);
for (const id of ['model', 'image']) {
  $(id).addEventListener('change', () => {
    $('run').disabled = !($('model').files.length && $('image').files.length);
  });
}
if (isWebGPUSupported()) {  // offered only where the browser has a GPU adapter for it
  navigator.gpu.requestAdapter().then((adapter) => {
    if (adapter) $('accelerator').add(new Option('GPU (WebGPU)', 'webgpu'));
  }, () => {});
}
loadRuntime('./node_modules/@litertjs/core/wasm/').then(
    () => status('Ready: choose a model and an image.', 'ready'),
    (error) => status(`error: the runtime did not load (${error.message ?? error})`, 'error'));
