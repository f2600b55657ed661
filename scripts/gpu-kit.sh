#!/usr/bin/env bash
# Packs what scripts/gpu-run.sh needs on a Linux x86-64 GPU machine that has a Vulkan driver but
# no Node.js and no package registry: this machine's node binary, the node_modules the Node
# benchmarks and the GPU test files use (vitest, tsx, the webgpu package's linux-x64 Dawn, the
# engine's runtime dependencies), the Vulkan loader from Debian, and a vitest config for the
# GPU tests alone. Writes .gpukit/ (about 43 MB; keep it out of git: `echo /.gpukit/ >>
# .git/info/exclude`), which travels with the working tree to the GPU machine.
#   bash scripts/gpu-kit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
K=.gpukit
mkdir -p "$K"
[ -f "$K/node.xz" ] || xz -9 -T0 -c "$(command -v node)" > "$K/node.xz"
node -e '
  const fs = require("fs"), path = require("path");
  const seen = new Set();
  const add = (n) => {
    const pj = path.join("node_modules", n, "package.json");
    if (seen.has(n) || !fs.existsSync(pj)) return;
    seen.add(n);
    const p = JSON.parse(fs.readFileSync(pj, "utf8"));
    for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) add(d);
  };
  const own = Object.keys(require("./package.json").dependencies)
    .filter((d) => !/^(react|react-dom|recharts)$/.test(d));
  for (const r of ["vitest", "tsx", ...own]) add(r);
  fs.writeFileSync(process.argv[1], [...seen].join("\n") + "\n");
' "$K/pkgs.txt"
tar -C node_modules -cf - $(cat "$K/pkgs.txt") webgpu/index.js webgpu/package.json \
  webgpu/types.d.ts webgpu/dist/linux-x64 | xz -6 -T0 > "$K/nm.tar.xz"
if ! ls "$K"/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/gpukit-apt/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/gpukit-apt'
  apt-get $o update -qq
  (cd "$K" && apt-get $o download libvulkan1)
fi
cat > "$K/vitest.gpu.config.mjs" <<'CFG'
// The GPU test files (src/**/*.gpu.test.ts) in Node on the machine's adapter, several files at once.
import { defineConfig } from 'vitest/config';
export default defineConfig({
  root: process.cwd(),
  test: {
    include: ['src/**/*.gpu.test.ts'],
    environment: 'node',
    setupFiles: ['src/test/setup-node-gpu.ts'],
    pool: 'forks',
    maxWorkers: Number(process.env.GPU_TEST_WORKERS ?? 6),
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
CFG
du -sh "$K"/*
