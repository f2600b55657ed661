// ESLint rule `layers/only-look-down`: each folder of src/ may import only from the layers below it,
// production code never imports the float64 references (src/reference) or test helpers (src/test),
// and the page (src/store, src/ui) reaches the engine only through the worker's protocol types.
// Tests (*.test.ts, src/test/) may import anything.
import path from 'node:path';

/** What each layer may import besides itself: folders, or single files under src/. */
export const LAYERS = {
  util: [],
  engine: ['util'],
  io: ['util'],
  reference: ['util', 'io'],
  model: ['util', 'engine', 'io'],
  train: ['util', 'engine', 'io', 'model'],
  worker: ['util', 'engine', 'io', 'model', 'train'],
  cli: ['util', 'engine', 'io', 'model', 'train'],
  // The page: pure rule and type modules only; all GPU work goes through the worker.
  store: [
    'util',
    'worker/protocol.ts',
    'model/longlora.ts',
    'engine/memory.ts',
    'train/settings.ts',
  ],
  ui: [
    'util',
    'store',
    'worker/protocol.ts',
    'model/longlora.ts',
    'engine/memory.ts',
    'train/settings.ts',
  ],
  // src/main.tsx and other top-level files: the page's entry.
  '': ['ui', 'store', 'util'],
};

/** Declared exceptions: the page's GPU self-test checks one kernel against its reference. */
export const EXCEPTIONS = { 'worker/self-test.ts': ['reference/matmul.ts'] };

const isTest = (rel) => rel.startsWith('test/') || /\.(test|spec)\.tsx?$/.test(rel);

/** Why `fromRel` (a path under src/) may not import `toRel`, or null when it may. */
export function layerViolation(fromRel, toRel) {
  if (isTest(fromRel)) return null;
  const layerOf = (rel) => (rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '');
  const from = layerOf(fromRel);
  const to = layerOf(toRel);
  if (from === to) return null;
  if ((EXCEPTIONS[fromRel] ?? []).includes(toRel)) return null;
  if (to === 'test') return `production code may not import the test helper src/${toRel}`;
  if (to === 'reference' && from !== 'reference')
    return `production code may not import the float64 reference src/${toRel}`;
  const allowed = LAYERS[from];
  if (!allowed) return `src/${fromRel} is in no known layer (add its folder to LAYERS)`;
  if (allowed.some((a) => a === to || a === toRel)) return null;
  const where = from === '' ? 'src/' : `src/${from}/`;
  return (
    `${where} may not import src/${toRel}: layers only look down ` +
    `(${where} may import ${allowed.map((a) => `src/${a}`).join(', ') || 'nothing else'})`
  );
}

/** The ESLint rule. */
const onlyLookDown = {
  meta: {
    type: 'problem',
    docs: { description: 'src/ layers import only from the layers below them' },
    schema: [],
  },
  create(context) {
    const src = path.resolve(context.cwd, 'src');
    const file = path.resolve(context.cwd, context.filename);
    const fromRel = path.relative(src, file).split(path.sep).join('/');
    if (fromRel.startsWith('..')) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source.value);
      const toRel = path.relative(src, target).split(path.sep).join('/');
      if (toRel.startsWith('..')) return;
      const why = layerViolation(fromRel, toRel);
      if (why) context.report({ node: source, message: why });
    };
    return {
      ImportDeclaration: (n) => check(n, n.source),
      ExportNamedDeclaration: (n) => check(n, n.source),
      ExportAllDeclaration: (n) => check(n, n.source),
      ImportExpression: (n) => check(n, n.source),
    };
  },
};

export default { rules: { 'only-look-down': onlyLookDown } };
