import { createBrowserRuntime } from '../engine/browser-host.ts';

globalThis.__longloraTestHost = { name: 'browser', create: () => createBrowserRuntime() };
