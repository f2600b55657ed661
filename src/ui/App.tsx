/** The studio page: header, then Model → Data → Training on the left and the run on the right. */
import { useEffect } from 'react';
import { useStudio } from '../store/index.ts';
import { ChartsPanel } from './Charts.tsx';
import { CheckpointsPanel } from './CheckpointsPanel.tsx';
import { DataPanel } from './DataPanel.tsx';
import { EvaluatePanel } from './EvaluatePanel.tsx';
import { ExportPanel } from './ExportPanel.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { RunPanel } from './RunPanel.tsx';
import { StudioHeader } from './StudioHeader.tsx';
import { TrainingPanel } from './TrainingPanel.tsx';
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

  // A page being hidden may be closed or discarded next: checkpoint at the next step boundary.
  useEffect(() => {
    const onVisibility = () => {
      if (document.visibilityState === 'hidden')
        void useStudio
          .getState()
          .checkpointSoon()
          .catch(() => undefined);
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => document.removeEventListener('visibilitychange', onVisibility);
  }, []);

  if (!hasWebGPU || status === 'unavailable') return <WebGPUUnavailable error={error} />;

  return (
    <div className="app">
      <StudioHeader />
      <main className="layout">
        <div className="col setup">
          <ModelPanel />
          <DataPanel />
          <TrainingPanel />
        </div>
        <div className="col run">
          <RunPanel />
          <ChartsPanel />
          <div className="row-2">
            <CheckpointsPanel />
            <EvaluatePanel />
          </div>
          <ExportPanel />
        </div>
      </main>
    </div>
  );
}
