// How every headless Chromium of the project is launched (Vitest browser mode, Playwright e2e,
// `npm run bench`, `npm run bench:demo`): Debian's chromium, WebGPU on (SwiftShader where there is
// no GPU), and no background traffic. Plain JS so the Node scripts can import it without a TS loader.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
