/** The full-page message shown when this browser has no WebGPU (never a blank page). */
import type { ShownError } from '../store/errors.ts';

/** Full-page explanation of what is needed to run the studio. */
export function WebGPUUnavailable({ error }: { error: ShownError | null }) {
  return (
    <main className="fullpage" role="alert" aria-labelledby="nogpu-title">
      <div className="fullpage-card">
        <h1 id="nogpu-title">This browser cannot run LongLoRA Studio</h1>
        <p>
          The studio trains on your own GPU through <strong>WebGPU</strong>, and WebGPU is not
          available here.
        </p>
        {error && error.message && <p className="muted">{error.message}</p>}
        <h2>What works</h2>
        <ul>
          <li>
            Google Chrome or Microsoft Edge, version 113 or newer, on Windows, macOS or ChromeOS.
          </li>
          <li>On Linux, Chrome/Edge with WebGPU enabled (chrome://flags/#enable-unsafe-webgpu).</li>
          <li>Hardware acceleration must be on (Settings → System).</li>
        </ul>
        <p className="muted">
          Nothing was uploaded: the studio runs entirely in this tab and sends no data anywhere.
        </p>
      </div>
    </main>
  );
}
