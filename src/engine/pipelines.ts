/**
 * Shader modules and compute pipelines, compiled once per (shader, entry, constants) and cached:
 * shaders come from the host's loader (shaders/ on disk or bundled) or from registerShader, with
 * includes and the `// #params` struct spliced in (wgsl-include.ts); compiler messages are mapped
 * back to the file and line a person edits.
 */
import type { DeviceErrors } from './device-errors.ts';
import { GPUValidationError, ShaderCompilationError, type ShaderMessage } from './errors.ts';
import { expandShader, type ExpandedWgsl } from './wgsl-include.ts';
import { InternalError } from '../util/errors.ts';

/** Returns the WGSL text of a shader by file name (without `.wgsl`). */
export type ShaderLoader = (name: string) => string;

/** One device's shader modules and pipelines. */
export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly origins = new Map<string, ExpandedWgsl['origin']>();
  private readonly extraShaders = new Map<string, string>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /**
   * Each module's compilation info, asked for once: Chromium has been seen never to settle a second
   * getCompilationInfo() on a module (the tuning passes compile one module under several constants).
   */
  private readonly infos = new Map<string, Promise<GPUCompilationInfo>>();

  constructor(
    private readonly device: GPUDevice,
    private readonly loadShader: ShaderLoader,
    private readonly errors: DeviceErrors,
  ) {}

  /**
   * The cached compute pipeline for (shader, entry, constants); a compilation or validation error
   * is reported to the device's errors, to be thrown at the next sync.
   */
  pipeline(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): GPUComputePipeline {
    const key = pipelineKey(shader, entry, constants);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const module = this.module(shader);
    this.device.pushErrorScope('validation');
    const p = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: entry, constants },
    });
    void this.device.popErrorScope().then(async (err) => {
      if (!err || this.errors.hasPending) return;
      const msgs = await this.compilationMessages(shader, module);
      this.errors.report(
        msgs.some((m) => m.type === 'error')
          ? new ShaderCompilationError(shader, msgs)
          : new GPUValidationError(`pipeline ${key}: ${err.message}`),
        true,
      );
    });
    this.pipelines.set(key, p);
    return p;
  }

  /** Compiles a pipeline and waits for it; throws ShaderCompilationError with line numbers. */
  async compile(
    shader: string,
    entry = 'main',
    constants: Record<string, number> = {},
  ): Promise<GPUComputePipeline> {
    const key = pipelineKey(shader, entry, constants);
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const module = this.module(shader);
    const msgs = await this.compilationMessages(shader, module);
    if (msgs.some((m) => m.type === 'error')) throw new ShaderCompilationError(shader, msgs);
    try {
      const p = await this.device.createComputePipelineAsync({
        label: key,
        layout: 'auto',
        compute: { module, entryPoint: entry, constants },
      });
      this.pipelines.set(key, p);
      return p;
    } catch (e) {
      throw new GPUValidationError(`pipeline ${key}: ${(e as Error).message}`);
    }
  }

  /** Number of cached pipelines. */
  get size(): number {
    return this.pipelines.size;
  }

  /** Adds WGSL source under a name (generated or test shaders); shaders/ files need no registration. */
  registerShader(name: string, code: string): void {
    if (this.modules.has(name) || this.extraShaders.has(name))
      throw new InternalError(`shader ${name} already exists`);
    this.extraShaders.set(name, code);
  }

  /** The compiler's messages for a module, with lines mapped back to the files they came from. */
  private async compilationMessages(
    shader: string,
    module: GPUShaderModule,
  ): Promise<ShaderMessage[]> {
    let pending = this.infos.get(shader);
    if (!pending) {
      pending = module.getCompilationInfo();
      this.infos.set(shader, pending);
    }
    const info = await pending;
    const origin = this.origins.get(shader);
    return info.messages.map((m) => {
      const at = origin && m.lineNum > 0 ? origin(m.lineNum) : null;
      return {
        type: m.type,
        ...(at && at.file !== shader ? { file: at.file } : {}),
        lineNum: at ? at.line : m.lineNum,
        linePos: m.linePos,
        message: m.message,
      };
    });
  }

  private module(shader: string): GPUShaderModule {
    let m = this.modules.get(shader);
    if (!m) {
      // Includes and the `// #params` struct are spliced here, for bundled and on-disk shaders alike.
      const { code, origin } = expandShader(
        shader,
        (name) => this.extraShaders.get(name) ?? this.loadShader(name),
      );
      this.origins.set(shader, origin);
      // Module errors are reported through getCompilationInfo() (compile) or the pipeline's error
      // scope (pipeline); keep them out of the uncaptured-error path.
      this.device.pushErrorScope('validation');
      m = this.device.createShaderModule({ label: shader, code });
      void this.device.popErrorScope();
      this.modules.set(shader, m);
    }
    return m;
  }
}

function pipelineKey(shader: string, entry: string, constants: Record<string, number>): string {
  // Most launches pass no constants: their key needs no sorting.
  let none = true;
  for (const _ in constants) {
    none = false;
    break;
  }
  if (none) return `${shader}:${entry}{}`;
  const c = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${shader}:${entry}{${c}}`;
}
