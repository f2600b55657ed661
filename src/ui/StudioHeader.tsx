/**
 * The top bar: the studio's name, the WebGPU adapter in use, the kernel each family of a training
 * step runs on it (once a run has started), and the GPU self-test result.
 */
import { useStudio } from '../store/index.ts';
import { gpuFeatureWords, matrixConfigWords } from '../util/gpu-features.ts';
import type { KernelChoice } from '../worker/protocol.ts';
import { formatBytes } from './format.ts';

/** Header with adapter name, features and self-test status. */
export function StudioHeader() {
  const gpu = useStudio((s) => s.gpu);
  const a = gpu.adapter;
  // Whether the hardware paths (shader-f16, subgroup matrices) are there is said either way.
  const features = a ? gpuFeatureWords(a.features) : [];
  const matrices = a?.features.subgroupMatrixConfigs.map(matrixConfigWords).join('\n');
  return (
    <header className="topbar">
      <div className="brand">
        <span className="brand-mark" aria-hidden="true">
          ⟷
        </span>
        <div>
          <h1>LongLoRA Studio</h1>
          <p className="tagline">
            Extend a LLaMA model’s context on your own GPU. Nothing leaves this machine.
          </p>
        </div>
      </div>
      <div className="gpu-status" role="status" aria-label="GPU status">
        {gpu.status === 'starting' && <span className="muted">Starting WebGPU…</span>}
        {a && (
          <div className="adapter">
            <span className="adapter-name" title={a.description || a.name}>
              {a.name}
              {a.isSoftware && <span className="tag warn">software</span>}
            </span>
            <span
              className="adapter-detail"
              title={matrices ? `Subgroup-matrix configurations:\n${matrices}` : undefined}
            >
              {features.join(' · ')} · max buffer {formatBytes(a.limits.maxBufferSize)}
            </span>
            {gpu.kernels && <KernelList kernels={gpu.kernels} />}
          </div>
        )}
        {a && <SelfTestBadge />}
        {gpu.status === 'failed' && gpu.error && (
          <span className="badge bad">{gpu.error.title}</span>
        )}
      </div>
    </header>
  );
}

/**
 * The kernel family by family, as the run's worker chose them (matmul: each variant with its count
 * of shape classes); a family's title lists its variants' sources and shader files.
 */
function KernelList({ kernels }: { kernels: KernelChoice[] }) {
  const families = [...new Set(kernels.map((k) => k.family))];
  return (
    <span className="adapter-kernels" aria-label="Kernels">
      {families.map((f) => {
        const ks = kernels.filter((k) => k.family === f);
        const title = ks
          .map((k) => {
            const how = k.classes ? `${k.source}, ${k.classes} shape classes` : k.source;
            return `${k.variant} (${how}): ${k.files.join(', ')}`;
          })
          .join('\n');
        const names = ks.map((k) => (k.classes ? `${k.variant} ×${k.classes}` : k.variant));
        return (
          <span key={f} className="kernel" title={title}>
            {f} {names.join(', ')}
          </span>
        );
      })}
    </span>
  );
}

function SelfTestBadge() {
  const { selfTest, selfTestError } = useStudio((s) => s.gpu);
  if (selfTestError)
    return <span className="badge bad">GPU self-test failed: {selfTestError.message}</span>;
  if (!selfTest) return <span className="badge">Running GPU self-test…</span>;
  const detail = `matmul ${selfTest.shape.join('×')}, max error ${selfTest.maxError.toExponential(1)}, ${selfTest.ms.toFixed(0)} ms`;
  return selfTest.ok ? (
    <span className="badge good" title={detail}>
      GPU self-test passed <span className="badge-detail">{detail}</span>
    </span>
  ) : (
    <span className="badge bad" title={detail}>
      GPU self-test failed <span className="badge-detail">{detail}</span>
    </span>
  );
}
