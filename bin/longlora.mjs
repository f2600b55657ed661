#!/usr/bin/env node
// `npx longlora <command>`: runs src/cli/main.ts through tsx (TypeScript sources, WGSL read from shaders/).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Dawn keeps threads alive; exit explicitly once the command is done.
process.exit(code);
