import { createNodeRuntime } from '../engine/node-host.ts';

globalThis.__longloraTestHost = { name: 'node', create: () => createNodeRuntime() };
