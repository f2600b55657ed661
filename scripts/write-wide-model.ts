// Writes src/test/wide-model.ts's model as a Hugging Face folder: `npx tsx scripts/write-wide-model.ts DIR`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { wideHfFolder } from '../src/test/wide-model.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: write-wide-model.ts DIR');
mkdirSync(dir, { recursive: true });
for (const [name, bytes] of Object.entries(wideHfFolder())) writeFileSync(join(dir, name), bytes);
