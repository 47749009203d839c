// The face-api.js expression network (npm @vladmandic/face-api, MIT), run as face-api runs it, on
// @tensorflow/tfjs's pure-JS CPU backend: the peer training.evaluate scores beside ours.
//   node run_faceapi.mjs INPUT.u8 N OUT.f32
// INPUT: N square RGB crops of 112x112 (uint8, NHWC). face-api's own preprocessing then applies
// (pad to square with black, bilinear to 112, minus RGB mean [122.782, 117.001, 104.298], / 255).
// OUT: N x 7 probabilities in face-api's order: neutral, happy, sad, angry, fearful, disgusted, surprised.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
// face-api's CommonJS build that takes tfjs from outside (the ESM build trips on tfjs's ESM paths)
const faceapi = createRequire(import.meta.url)('@vladmandic/face-api/dist/face-api.node-wasm.js');

const [input, n, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
// tfjs's WebAssembly backend (npm, SIMD; local files): about 10x the pure-JS CPU backend here.
// FACEAPI_BACKEND=cpu selects the pure-JS one.
const backend = process.env.FACEAPI_BACKEND || 'wasm';
if (backend === 'wasm') {
  const wasm = createRequire(import.meta.url)('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.join(here, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') + path.sep);
}
await tf.setBackend(backend);
const dir = path.join(here, 'node_modules', '@vladmandic', 'face-api', 'model');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'face_expression_model-weights_manifest.json'), 'utf8'));
const specs = manifest.flatMap((g) => g.weights);
const data = Buffer.concat(manifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
const weightMap = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
const net = new faceapi.FaceExpressionNet();
net.loadFromWeightMap(weightMap);

const N = Number(n);
const S = 112;
const buf = fs.readFileSync(input);
const res = new Float32Array(N * 7);
const B = 32;
for (let i = 0; i < N; i += B) {
  const m = Math.min(B, N - i);
  const probs = tf.tidy(() => {
    const x = tf.tensor4d(new Uint8Array(buf.buffer, buf.byteOffset + i * S * S * 3, m * S * S * 3), [m, S, S, 3], 'int32');
    const imgs = tf.unstack(x);               // a list of 3-D tensors: face-api's NetInput of m images
    return net.forwardInput(new faceapi.NetInput(imgs));   // already softmax probabilities
  });
  res.set(await probs.data(), i * 7);
  probs.dispose();
}
fs.writeFileSync(out, Buffer.from(res.buffer));
console.log(JSON.stringify({ n: N, backend: tf.getBackend() }));
