#!/usr/bin/env bash
# Runs on a Linux x86-64 machine with a GPU and a Vulkan driver, from the repository root with
# .gpukit/ (scripts/gpu-kit.sh) beside it: probes the WebGPU adapter Dawn finds, then
# `npm run bench:node` (kernel benchmark at GPU shapes, fp32 FMA peak), `npm run bench:step -- --rows
# all` (a LongLoRA training step per model fixture) and the GPU test files, each under a time limit
# so the whole run ends within BUDGET seconds (default 570), then profiles a step's kernels
# (bench/profile-step.ts) at TinyLlama width, 8k tokens, and SmolLM2 width, 256 tokens.
# STAGES picks stages (default "bench-node bench-step gpu-tests profile"). Writes logs and JSON to
# OUTDIR. LONGLORA_DAWN_TOGGLES (e.g. allow_unsafe_apis,vulkan_enable_f16_on_nvidia) reaches every
# stage and the probe: with it, the f16 and subgroup-matrix matmuls are tested and benchmarked where
# the adapter then offers them.
#   [STAGES="gpu-tests profile"] [LONGLORA_DAWN_TOGGLES=…] bash scripts/gpu-run.sh OUTDIR
set -u
OUTDIR=${1:?usage: gpu-run.sh OUTDIR}
BUDGET=${BUDGET:-570}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
mkdir -p "$OUTDIR"
K=.gpukit
G=/tmp/gpukit
mkdir -p $G/bin
if [ "$(node -v 2>/dev/null | cut -d. -f1)" != v20 ]; then
  xz -dc $K/node.xz > $G/bin/node && chmod +x $G/bin/node
  export PATH=$G/bin:$PATH
fi
[ -d node_modules/vitest ] || { mkdir -p node_modules && xz -dc $K/nm.tar.xz | tar -C node_modules -xf -; }
# The Vulkan loader and GLVND (the NVIDIA driver's Vulkan ICD, libGLX_nvidia, needs libGLdispatch).
for f in $K/*.deb; do dpkg -x $f $G/vk; done
export LD_LIBRARY_PATH=$G/vk/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d $d ] && export LD_LIBRARY_PATH=$d:${LD_LIBRARY_PATH:-}
done
if [ -z "${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
    /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f $f ]; then export VK_ICD_FILENAMES=$f; break; fi
  done
fi
echo "node $(node -v); VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}; unpacked in $(($(date +%s) - START)) s"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv

# The adapter Dawn finds, its features and limits: every later stage needs it.
export NO_COLOR=1
timeout 60 node --input-type=module -e "
  import { writeFileSync } from 'node:fs';
  import { create, globals } from 'webgpu';
  Object.assign(globalThis, globals);
  const toggles = process.env.LONGLORA_DAWN_TOGGLES;
  const gpu = create(toggles ? ['enable-dawn-features=' + toggles] : []);
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!a) { console.log('NO ADAPTER'); process.exit(3); }
  const { vendor, architecture, device, description } = a.info;
  const subgroupMatrixConfigs = [...(a.info.subgroupMatrixConfigs ?? [])].map((c) =>
    ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K }));
  const limits = {};
  for (const k in a.limits) limits[k] = a.limits[k];
  const features = [...a.features].sort();
  writeFileSync('$OUTDIR/adapter.json', JSON.stringify({ vendor, architecture, device, description,
    features, limits, toggles: toggles ?? '', subgroupMatrixConfigs }, null, 1));
  console.log('adapter:', vendor, architecture, device, description);
  console.log('features:', features.join(' '));
  console.log('subgroup matrix configs:', JSON.stringify(subgroupMatrixConfigs));
  console.log('maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize,
    'maxBufferSize', limits.maxBufferSize, 'maxComputeWorkgroupStorageSize',
    limits.maxComputeWorkgroupStorageSize);
  process.exit(0);
" 2> /tmp/gpukit-probe.err
rc=$?
tail -5 /tmp/gpukit-probe.err
if [ $rc != 0 ]; then echo "adapter probe failed (exit $rc)"; exit 3; fi

STAGES=${STAGES:-bench-node bench-step gpu-tests profile}
run() { # name limit command...
  local name=$1 limit=$2; shift 2
  case " $STAGES " in *" ${name%%.*} "*) ;; *) return ;; esac
  local l=$(left); [ "$limit" -gt "$l" ] && limit=$l
  if [ "$limit" -lt 20 ]; then echo "== $name: skipped (no time left)"; return; fi
  echo "== $name (limit $limit s)"
  local t0=$(date +%s)
  timeout -k 5 "$limit" "$@" > "$OUTDIR/$name.log" 2>&1
  echo "== $name: exit $? in $(($(date +%s) - t0)) s"
}
run bench-node 120 node --import tsx bench/bench-node.ts --only "${BENCH_ONLY:-matmul,attention}" \
  --out "$OUTDIR/results-node.json"
[ -f "$OUTDIR/bench-node.log" ] && tail -12 "$OUTDIR/bench-node.log"
run bench-step 260 node --import tsx bench/bench-step.ts --rows all --steps 5 --timeout 120 \
  --out "$OUTDIR/step.json"
[ -f "$OUTDIR/bench-step.log" ] && tail -10 "$OUTDIR/bench-step.log"
run gpu-tests 150 node node_modules/vitest/vitest.mjs run --config $K/vitest.gpu.config.mjs \
  --reporter=default --reporter=json --outputFile.json="$OUTDIR/gpu-tests.json"
[ -f "$OUTDIR/gpu-tests.log" ] && grep -E "✗|×|FAIL|Test Files|Tests  |spread" "$OUTDIR/gpu-tests.log" | tail -40
fixture() { # model layers → folder
  local dir=fixtures/generated/step/$1-$2l
  [ -f $dir/config.json ] || node --import tsx scripts/make-fixtures.ts --real $1 --out $dir --layers $2 >&2
  echo $dir
}
case " $STAGES " in *" profile "*)
  export BY_LABEL=1
  run profile.tinyllama-8k 120 node --import tsx bench/profile-step.ts --steps 3 --context 8192 \
    --model "$(fixture tinyllama-1.1b 1)"
  head -25 "$OUTDIR/profile.tinyllama-8k.log"
  run profile.smollm2-4l 90 node --import tsx bench/profile-step.ts --steps 3 --context 256 \
    --model "$(fixture smollm2-135m 4)"
  head -25 "$OUTDIR/profile.smollm2-4l.log"
esac
echo "total $(($(date +%s) - START)) s"
