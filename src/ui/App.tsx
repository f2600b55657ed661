/** The studio page: header, then the Model → Data → Training → Charts → Export workflow. */
import { useEffect } from 'react';
import { useStudio } from '../store/index.ts';
import { EmptyState, Panel } from './Panel.tsx';
import { StudioHeader } from './StudioHeader.tsx';
import { WebGPUUnavailable } from './WebGPUUnavailable.tsx';

/** Root component. */
export function App() {
  const status = useStudio((s) => s.gpu.status);
  const error = useStudio((s) => s.gpu.error);
  const initGpu = useStudio((s) => s.initGpu);
  const hasWebGPU = typeof navigator !== 'undefined' && 'gpu' in navigator && !!navigator.gpu;

  useEffect(() => {
    if (hasWebGPU) void initGpu();
  }, [hasWebGPU, initGpu]);

  if (!hasWebGPU || status === 'unavailable') return <WebGPUUnavailable error={error} />;

  return (
    <div className="app">
      <StudioHeader />
      <main className="layout">
        <div className="col setup">
          <Panel
            id="model"
            title="Model"
            hint="A Hugging Face folder, safetensors shards or one GGUF file."
          >
            <EmptyState>No model loaded.</EmptyState>
          </Panel>
          <Panel id="data" title="Data" hint="Plain text, or LongAlpaca-style JSON / JSONL.">
            <EmptyState>No training data loaded.</EmptyState>
          </Panel>
          <Panel
            id="training"
            title="Training"
            hint="Target context, LongLoRA attention and optimizer."
          >
            <EmptyState>Load a model to set up training.</EmptyState>
          </Panel>
        </div>
        <div className="col run">
          <Panel
            id="charts"
            title="Charts"
            hint="Loss, learning rate, throughput and GPU memory, live."
          >
            <EmptyState>Charts appear when training starts.</EmptyState>
          </Panel>
          <Panel
            id="export"
            title="Export"
            hint="A PEFT LoRA adapter with the long-context config."
          >
            <EmptyState>Train or resume a run to export its adapter.</EmptyState>
          </Panel>
        </div>
      </main>
    </div>
  );
}
