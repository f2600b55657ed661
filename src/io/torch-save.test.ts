/**
 * trainable_params.bin decoded on its own terms: the zip's central directory and local headers, the
 * pickle opcodes by a small stack machine of this test's own (only what torch.load's weights_only
 * unpickler accepts), and the storages, checked against the safetensors copy of the same export.
 * When a Python with PyTorch is on this machine, torch.load(..., weights_only=True) reads it too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../util/rng.ts';
import { tinyConfigJson, TINY_MODELS } from '../test/fixtures.ts';
import { parseHfConfig } from './config.ts';
import { bytesToF32 } from './dtype.ts';
import { buildAdapterFiles, type TrainedTensor } from './peft.ts';
import { readSafetensorsHeader, readTensorBytes } from './safetensors.ts';
import { bytesSource } from './source.ts';
import { writeTorchStateDict, type TorchTensorToWrite } from './torch-save.ts';

interface ZipEntry {
  name: string;
  data: Uint8Array;
  dataOffset: number;
  extra: Uint8Array;
}

/** Reads a stored zip through its end record and central directory, checking every CRC. */
function readZip(zip: Uint8Array): ZipEntry[] {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && dv.getUint32(end, true) !== 0x06054b50) end--;
  expect(end).toBeGreaterThanOrEqual(0);
  const count = dv.getUint16(end + 10, true);
  let o = dv.getUint32(end + 16, true);
  expect(o + dv.getUint32(end + 12, true)).toBe(end);
  const dec = new TextDecoder();
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    expect(dv.getUint32(o, true)).toBe(0x02014b50);
    const method = dv.getUint16(o + 10, true);
    const crc = dv.getUint32(o + 16, true);
    const size = dv.getUint32(o + 20, true);
    expect(dv.getUint32(o + 24, true)).toBe(size);
    const nameLen = dv.getUint16(o + 28, true);
    const extraLen = dv.getUint16(o + 30, true);
    const commentLen = dv.getUint16(o + 32, true);
    const local = dv.getUint32(o + 42, true);
    const name = dec.decode(zip.subarray(o + 46, o + 46 + nameLen));
    o += 46 + nameLen + extraLen + commentLen;
    expect(method).toBe(0); // stored
    expect(dv.getUint32(local, true)).toBe(0x04034b50);
    const lName = dv.getUint16(local + 26, true);
    const lExtra = dv.getUint16(local + 28, true);
    expect(dec.decode(zip.subarray(local + 30, local + 30 + lName))).toBe(name);
    const dataOffset = local + 30 + lName + lExtra;
    const data = zip.subarray(dataOffset, dataOffset + size);
    expect(zlibCrc32(data) >>> 0, name).toBe(crc);
    out.push({ name, data, dataOffset, extra: zip.subarray(local + 30 + lName, dataOffset) });
  }
  return out;
}

/** What the pickle rebuilds: tensors as their _rebuild_tensor_v2 arguments. */
interface Rebuilt {
  storage: { type: string; key: string; location: string; numel: number };
  offset: number;
  size: number[];
  stride: number[];
  requiresGrad: boolean;
}

const ALLOWED = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch.FloatStorage',
]);

/** A pickle stack machine for the opcodes a protocol-2 state dict uses; anything else fails. */
function unpickle(b: Uint8Array): { entries: [string, Rebuilt][]; opcodes: Set<string> } {
  const MARK = Symbol('mark');
  type V = unknown;
  const stack: V[] = [];
  const memo = new Map<number, V>();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dec = new TextDecoder();
  const opcodes = new Set<string>();
  let i = 0;
  const popMark = (): V[] => {
    const at = stack.lastIndexOf(MARK);
    expect(at).toBeGreaterThanOrEqual(0);
    const items = stack.splice(at);
    return items.slice(1);
  };
  const line = (): string => {
    const end = b.indexOf(0x0a, i);
    const s = dec.decode(b.subarray(i, end));
    i = end + 1;
    return s;
  };
  for (;;) {
    const op = b[i++]!;
    const c = String.fromCharCode(op);
    opcodes.add(op < 0x20 || op > 0x7e ? `\\x${op.toString(16)}` : c);
    switch (c) {
      case '\x80':
        expect(b[i++]).toBe(2);
        break;
      case 'c': {
        const name = `${line()}.${line()}`;
        expect(ALLOWED.has(name), name).toBe(true);
        stack.push({ global: name });
        break;
      }
      case 'q':
        memo.set(b[i++]!, stack.at(-1));
        break;
      case 'r':
        memo.set(dv.getUint32(i, true), stack.at(-1));
        i += 4;
        break;
      case 'h':
        stack.push(memo.get(b[i++]!));
        break;
      case 'j':
        stack.push(memo.get(dv.getUint32(i, true)));
        i += 4;
        break;
      case ')':
        stack.push([]);
        break;
      case '(':
        stack.push(MARK);
        break;
      case 'X': {
        const n = dv.getUint32(i, true);
        stack.push(dec.decode(b.subarray(i + 4, i + 4 + n)));
        i += 4 + n;
        break;
      }
      case 'K':
        stack.push(b[i++]);
        break;
      case 'M':
        stack.push(dv.getUint16(i, true));
        i += 2;
        break;
      case 'J':
        stack.push(dv.getInt32(i, true));
        i += 4;
        break;
      case 't':
        stack.push(popMark());
        break;
      case '\x85':
        stack.push(stack.splice(-1));
        break;
      case '\x86':
        stack.push(stack.splice(-2));
        break;
      case '\x87':
        stack.push(stack.splice(-3));
        break;
      case '\x89':
        stack.push(false);
        break;
      case '\x88':
        stack.push(true);
        break;
      case 'Q': {
        const pid = stack.pop() as V[];
        expect(pid[0]).toBe('storage');
        stack.push({
          type: (pid[1] as { global: string }).global,
          key: pid[2],
          location: pid[3],
          numel: pid[4],
        });
        break;
      }
      case 'R': {
        const args = stack.pop() as V[];
        const fn = (stack.pop() as { global: string }).global;
        if (fn === 'collections.OrderedDict') {
          expect(args).toEqual([]);
          stack.push(new Map<string, V>());
        } else {
          expect(fn).toBe('torch._utils._rebuild_tensor_v2');
          expect(args.length).toBe(6);
          expect((args[5] as Map<string, V>).size).toBe(0); // no backward hooks
          stack.push({
            storage: args[0],
            offset: args[1],
            size: args[2],
            stride: args[3],
            requiresGrad: args[4],
          } as Rebuilt);
        }
        break;
      }
      case 'u': {
        const kv = popMark();
        const dict = stack.at(-1) as Map<string, V>;
        for (let k = 0; k < kv.length; k += 2) dict.set(kv[k] as string, kv[k + 1]);
        break;
      }
      case '.': {
        expect(i).toBe(b.length);
        expect(stack.length).toBe(1);
        const dict = stack[0] as Map<string, Rebuilt>;
        return { entries: [...dict.entries()], opcodes };
      }
      default:
        throw new Error(`unexpected pickle opcode ${JSON.stringify(c)} at ${i - 1}`);
    }
  }
}

/** Decodes a torch.save archive into name → { shape, values } with every structural check. */
function decodeTorchArchive(
  bin: Uint8Array,
): Map<string, { shape: number[]; values: Float32Array }> {
  const entries = readZip(bin);
  const names = entries.map((e) => e.name);
  const byName = new Map(entries.map((e) => [e.name, e]));
  // Layout as recent PyTorch writes it: one folder; data.pkl, byteorder, storages, version.
  expect(names[0]).toBe('archive/data.pkl');
  expect(names[1]).toBe('archive/byteorder');
  expect(names.at(-1)).toBe('archive/version');
  expect(new TextDecoder().decode(byName.get('archive/version')!.data)).toBe('3\n');
  expect(new TextDecoder().decode(byName.get('archive/byteorder')!.data)).toBe('little');
  for (const e of entries) {
    expect(e.dataOffset % 64, e.name).toBe(0);
    expect(String.fromCharCode(e.extra[0]!, e.extra[1]!)).toBe('FB');
    expect(e.extra[2]! | (e.extra[3]! << 8)).toBe(e.extra.length - 4);
  }
  const { entries: tensors } = unpickle(byName.get('archive/data.pkl')!.data);
  const storageNames = names.filter((n) => n.startsWith('archive/data/'));
  expect(storageNames).toEqual([...storageNames].sort());
  expect(storageNames.length).toBe(tensors.length);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const [name, t] of tensors) {
    expect(t.storage.type).toBe('torch.FloatStorage');
    expect(t.storage.location).toBe('cpu');
    expect(t.offset).toBe(0);
    expect(t.requiresGrad).toBe(false);
    const numel = t.size.reduce((a, x) => a * x, 1);
    expect(t.storage.numel).toBe(numel);
    expect(t.stride).toEqual(t.size.map((_, d) => t.size.slice(d + 1).reduce((a, x) => a * x, 1)));
    const rec = byName.get(`archive/data/${t.storage.key}`)!;
    expect(rec.data.byteLength).toBe(numel * 4);
    const values = new Float32Array(rec.data.slice().buffer);
    out.set(name, { shape: t.size, values });
  }
  return out;
}

function trainedTensors(): { configJson: Record<string, unknown>; trained: TrainedTensor[] } {
  const configJson = tinyConfigJson(TINY_MODELS['tiny-f32-gqa']!);
  const config = parseHfConfig(configJson);
  const rng = new Rng(11);
  const trained: TrainedTensor[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [config.vocabSize, config.hidden],
      data: rng.floats(config.vocabSize * config.hidden),
    },
  ];
  for (let i = 0; i < config.layers; i++)
    for (const n of ['input_layernorm', 'post_attention_layernorm'])
      trained.push({
        name: `model.layers.${i}.${n}.weight`,
        shape: [config.hidden],
        data: rng.floats(config.hidden),
      });
  trained.push({
    name: 'model.norm.weight',
    shape: [config.hidden],
    data: rng.floats(config.hidden),
  });
  return { configJson, trained };
}

function exportFiles() {
  const { configJson, trained } = trainedTensors();
  const config = parseHfConfig(configJson);
  return {
    trained,
    files: buildAdapterFiles({
      config,
      baseModel: 'org/tiny-llama',
      r: 4,
      alpha: 8,
      targets: ['q_proj', 'v_proj'],
      lora: [],
      trained,
      ropeFactor: 4,
      ropeScaling: { type: 'linear', factor: 4 },
      baseConfigJson: configJson,
      contextLength: 256,
    }),
  };
}

/** Many tensors (memo ids past 255: LONG_BINPUT/LONG_BINGET) and dims past 255 and 65535. */
function manyTensors(): TorchTensorToWrite[] {
  const rng = new Rng(3);
  const out: TorchTensorToWrite[] = [
    { name: 'wide', shape: [300, 2], data: rng.floats(600) },
    { name: 'long', shape: [70000], data: rng.floats(70000) },
    { name: 'cube', shape: [2, 3, 4, 5], data: rng.floats(120) },
  ];
  for (let i = 0; i < 60; i++)
    out.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [3], data: rng.floats(3) });
  return out;
}

describe('trainable_params.bin (torch.save format)', () => {
  it('holds the same names, shapes, dtypes and values as trainable_params.safetensors', async () => {
    const { files, trained } = exportFiles();
    const bin = files['trainable_params.bin']!;
    const decoded = decodeTorchArchive(bin);
    const src = bytesSource('trainable_params.safetensors', files['trainable_params.safetensors']!);
    const header = await readSafetensorsHeader(src);
    // get_trainable_weights.py's names: the PEFT key minus "base_model.model.".
    expect([...decoded.keys()]).toEqual(trained.map((t) => t.name));
    expect([...decoded.keys()].sort()).toEqual(header.tensors.map((t) => t.name).sort());
    for (const t of header.tensors) {
      expect(t.dtype).toBe('F32');
      const got = decoded.get(t.name)!;
      expect(got.shape).toEqual(t.shape);
      expect(got.values).toEqual(bytesToF32(await readTensorBytes(src, t), t.dtype));
    }
    expect(new TextDecoder().decode(files['README.md'])).toMatch(
      /merge_lora_weights_and_save_hf_model\.py --base_model org\/tiny-llama --peft_model \.\/adapter --context_size 256 --save_path \.\/merged/,
    );
  });

  it('decodes long memo ids, wide and 4-d shapes, and an empty state dict', () => {
    const many = manyTensors();
    const decoded = decodeTorchArchive(writeTorchStateDict(many));
    expect([...decoded.keys()]).toEqual(many.map((t) => t.name));
    for (const t of many) {
      expect(decoded.get(t.name)!.shape).toEqual(t.shape);
      expect(decoded.get(t.name)!.values).toEqual(t.data);
    }
    const { opcodes } = unpickle(readZip(writeTorchStateDict(many))[0]!.data);
    for (const op of ['r', 'M', 'J', 't']) expect(opcodes.has(op), op).toBe(true);
    expect(decodeTorchArchive(writeTorchStateDict([])).size).toBe(0);
  });

  it('refuses a shape that does not hold its values, and a repeated name', () => {
    const d = new Float32Array(6);
    expect(() => writeTorchStateDict([{ name: 'x', shape: [2, 2], data: d }])).toThrow(
      /x: shape \[2, 2\] holds 4 values, not 6/,
    );
    expect(() =>
      writeTorchStateDict([
        { name: 'x', shape: [6], data: d },
        { name: 'x', shape: [6], data: d },
      ]),
    ).toThrow(/x appears twice/);
  });

  // PyTorch's own loader, where a Python with torch is installed (scripts/sys-deps.mjs installs
  // Debian's python3-torch for `npm test`).
  const python = ['python3', '/usr/bin/python3'].find(
    (p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0,
  );
  it.runIf(python)(
    'torch.load(..., weights_only=True) reads the same tensors',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'torch-save-'));
      try {
        const { files, trained } = exportFiles();
        const cases: [string, TorchTensorToWrite[]][] = [
          ['trainable_params.bin', trained],
          ['many.bin', manyTensors()],
          ['empty.bin', []],
        ];
        writeFileSync(join(dir, 'trainable_params.bin'), files['trainable_params.bin']!);
        writeFileSync(join(dir, 'many.bin'), writeTorchStateDict(manyTensors()));
        writeFileSync(join(dir, 'empty.bin'), writeTorchStateDict([]));
        const script = [
          'import json, sys, torch',
          'out = {}',
          'for f in sys.argv[1:]:',
          '    sd = torch.load(f, weights_only=True)',
          '    out[f] = {"type": type(sd).__module__ + "." + type(sd).__name__, "tensors": [',
          '        [k, list(v.shape), str(v.dtype), v.flatten().tolist()] for k, v in sd.items()]}',
          'print(json.dumps({"version": torch.__version__, "files": out}))',
        ].join('\n');
        const res = JSON.parse(
          execFileSync(python!, ['-c', script, ...cases.map(([f]) => join(dir, f))], {
            encoding: 'utf8',
            maxBuffer: 64 << 20,
          }),
        ) as {
          version: string;
          files: Record<string, { type: string; tensors: [string, number[], string, number[]][] }>;
        };
        for (const [f, tensors] of cases) {
          const got = res.files[join(dir, f)]!;
          expect(got.type).toBe('collections.OrderedDict');
          expect(got.tensors.map((t) => t[0])).toEqual(tensors.map((t) => t.name));
          got.tensors.forEach(([, shape, dtype, values], k) => {
            expect(shape).toEqual(tensors[k]!.shape);
            expect(dtype).toBe('torch.float32');
            expect(Float32Array.from(values)).toEqual(tensors[k]!.data);
          });
        }
        console.log(`torch.load(weights_only=True) on PyTorch ${res.version}: ok`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
