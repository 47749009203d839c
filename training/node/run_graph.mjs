// Run an original TFJS model on inputs from a file, with @tensorflow/tfjs's pure-JS CPU backend
// (never tfjs-node): the reference our PyTorch ports are checked against (training/faceres_parity.py).
//   node run_graph.mjs graph  MODEL.json INPUT.f32 N H W C OUTPUT_NODE OUT.f32
//   node run_graph.mjs layers-faceapi-expression MODEL_DIR INPUT.f32 N H W C - OUT.f32
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [kind, model, input, n, h, w, c, node, out] = process.argv.slice(2);
await tf.setBackend('cpu');
const shape = [n, h, w, c].map(Number);
const buf = fs.readFileSync(input);
const x = tf.tensor(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4), shape);

function fromFiles(jsonPath) {
  const m = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  // The graph pins its input to 224 px; the convolutions don't care, so free H and W (as Keras would).
  for (const node of m.modelTopology.node || []) {
    if (node.op === 'Placeholder' && node.attr?.shape?.shape?.dim) {
      node.attr.shape.shape.dim.forEach((d, i) => { if (i === 1 || i === 2) d.size = '-1'; });
    }
  }
  for (const sig of Object.values(m.signature?.inputs || {})) {
    (sig.tensorShape?.dim || []).forEach((d, i) => { if (i === 1 || i === 2) d.size = '-1'; });
  }
  const dir = path.dirname(jsonPath);
  const specs = m.weightsManifest.flatMap((g) => g.weights);
  const data = Buffer.concat(m.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return tf.io.fromMemory({ modelTopology: m.modelTopology, weightSpecs: specs, weightData: ab, format: m.format });
}

let y;
if (kind === 'graph') {
  const g = await tf.loadGraphModel(fromFiles(model));
  y = g.execute(x, node);
} else {
  throw new Error(`unknown kind ${kind}`);
}
fs.writeFileSync(out, Buffer.from((await y.data()).buffer));
console.log(JSON.stringify({ shape: y.shape, backend: tf.getBackend() }));
