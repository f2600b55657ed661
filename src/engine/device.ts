/** Device acquisition shared by every host: pick an adapter, request the limits the work needs. */
import { WebGPUUnavailableError } from './errors.ts';
import { InternalError } from '../util/errors.ts';

/** What the UI and CLI show about the adapter, and what kernels branch on. */
export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A readable one-line name, e.g. "google swiftshader". */
  name: string;
  isSoftware: boolean;
  /** True when the Node host fell back to SwiftShader because no other adapter was found. */
  fallback: boolean;
  features: {
    /** The device has `shader-f16` (f16 arithmetic in WGSL: `enable f16;`). */
    shaderF16: boolean;
    subgroups: boolean;
    timestampQuery: boolean;
    /**
     * The subgroup size where the device has subgroups and the adapter reports a single size
     * (subgroupMinSize == subgroupMaxSize: SwiftShader's 4), else 0.
     */
    subgroupSize: number;
    /** The adapter's largest subgroup size where the device has subgroups, else 0. */
    subgroupMaxSize: number;
    /**
     * The device has `chromium-experimental-subgroup-matrix` (Dawn/Chrome, behind
     * `allow_unsafe_apis`): WGSL's subgroup_matrix types for the configurations below.
     */
    subgroupMatrix: boolean;
    /** The adapter's subgroup-matrix configurations (`adapter.info.subgroupMatrixConfigs`), as listed. */
    subgroupMatrixConfigs: SubgroupMatrixConfig[];
  };
  /** The device's limits; the buffer limits lowered to the runtime's caps (RuntimeCaps). */
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

/** One of `adapter.info.subgroupMatrixConfigs`: left M×K times right K×N into an M×N result. */
export interface SubgroupMatrixConfig {
  /** The left and right matrices' component type ('f32', 'f16', 'u32', 'i32', 'u8', 'i8'). */
  componentType: string;
  /** The result's component type. */
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

/** The optional features the device asks for when the adapter offers them. */
export type OptionalFeature =
  'shader-f16' | 'subgroups' | 'timestamp-query' | typeof SUBGROUP_MATRIX;

/** Dawn's name for subgroup matrices (not yet in @webgpu/types). */
export const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';

/**
 * Lower limits than the adapter offers, for adapters that have them and for tests: the device asks
 * for at most these (never more than the adapter offers), `AdapterSummary.limits` reports them, and
 * the Runtime enforces them — a tensor over maxBufferSize or a binding over
 * maxStorageBufferBindingSize throws TooLargeError before WebGPU sees it. Caps below WebGPU's
 * defaults (128 MiB binding, 256 MiB buffer) are enforced by the Runtime alone, since a device
 * always gets at least the defaults.
 */
export interface RuntimeCaps {
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
  /** Optional features not to ask for even where the adapter offers them (to compare without). */
  withoutFeatures?: readonly OptionalFeature[];
}

/** WebGPU's default limits: a device request may not go below them. */
const DEFAULT_LIMITS = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxBufferSize: 256 * 1024 * 1024,
};

/** An adapter, its device, and the summary. */
export interface GpuHandle {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: AdapterSummary;
}

/** Requests a device from `gpu` with the adapter's full buffer and workgroup limits. */
export async function requestGpu(
  gpu: GPU | undefined,
  opts: { powerPreference?: GPUPowerPreference; fallback?: boolean; caps?: RuntimeCaps } = {},
): Promise<GpuHandle> {
  if (!gpu) {
    throw new WebGPUUnavailableError(
      'WebGPU is not available here. Use Chrome or Edge 113 or newer (or another browser with WebGPU enabled).',
    );
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: opts.powerPreference ?? 'high-performance',
  });
  if (!adapter) {
    throw new WebGPUUnavailableError(
      'WebGPU is present but no GPU adapter was found. Check that hardware acceleration is on, or try Chrome/Edge 113+.',
    );
  }
  return requestDeviceFrom(adapter, opts.fallback ?? false, opts.caps);
}

/** A cap checked as a positive whole number of bytes (a multiple of 4, as buffers are). */
function checkCap(name: string, v: number | undefined): number {
  if (v === undefined) return Infinity;
  if (!Number.isInteger(v) || v < 4 || v % 4 !== 0) {
    throw new InternalError(`${name} cap must be a positive multiple of 4 bytes (got ${v})`);
  }
  return v;
}

/** Requests a device from a given adapter, its buffer limits lowered to `caps`. */
export async function requestDeviceFrom(
  adapter: GPUAdapter,
  fallback: boolean,
  caps: RuntimeCaps = {},
): Promise<GpuHandle> {
  const a = adapter.limits;
  const capBuffer = checkCap('maxBufferSize', caps.maxBufferSize);
  const capBinding = checkCap('maxStorageBufferBindingSize', caps.maxStorageBufferBindingSize);
  // Never above what the adapter offers, never below WebGPU's defaults (the Runtime enforces those).
  const ask = (offered: number, cap: number, floor: number) =>
    Math.min(offered, Math.max(cap, floor));
  const requiredLimits: Record<string, number> = {
    maxBufferSize: ask(a.maxBufferSize, capBuffer, DEFAULT_LIMITS.maxBufferSize),
    maxStorageBufferBindingSize: ask(
      a.maxStorageBufferBindingSize,
      capBinding,
      DEFAULT_LIMITS.maxStorageBufferBindingSize,
    ),
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
  };
  // Subgroup matrices need subgroups; f16 matrix configurations also need shader-f16.
  const wanted: OptionalFeature[] = ['shader-f16', 'subgroups', 'timestamp-query', SUBGROUP_MATRIX];
  const skip = new Set(caps.withoutFeatures ?? []);
  if (skip.has('subgroups')) skip.add(SUBGROUP_MATRIX);
  const offered = wanted.filter((f) => adapter.features.has(f) && !skip.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: offered as GPUFeatureName[],
      label: 'longlora',
    });
  } catch (e) {
    // An experimental feature the adapter lists but will not grant must not cost the device.
    if (!offered.includes(SUBGROUP_MATRIX)) throw e;
    device = await adapter.requestDevice({
      requiredLimits,
      requiredFeatures: offered.filter((f) => f !== SUBGROUP_MATRIX) as GPUFeatureName[],
      label: 'longlora',
    });
  }
  const has = (f: OptionalFeature) => device.features.has(f);
  const i = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: SubgroupMatrixConfig[] };
  const name =
    [i.vendor, i.architecture].filter(Boolean).join(' ') || i.description || 'unknown adapter';
  const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
  const d = device.limits;
  return {
    adapter,
    device,
    info: {
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      name,
      isSoftware: /swiftshader|llvmpipe|lavapipe|warp|software/.test(text),
      fallback,
      features: {
        shaderF16: has('shader-f16'),
        subgroups: has('subgroups'),
        timestampQuery: has('timestamp-query'),
        subgroupSize:
          has('subgroups') &&
          i.subgroupMinSize !== undefined &&
          i.subgroupMinSize === i.subgroupMaxSize
            ? i.subgroupMinSize
            : 0,
        subgroupMaxSize: has('subgroups') ? (i.subgroupMaxSize ?? 0) : 0,
        subgroupMatrix: has(SUBGROUP_MATRIX),
        // Plain copies: the summary crosses to the page by structured clone.
        subgroupMatrixConfigs: [...(i.subgroupMatrixConfigs ?? [])].map((c) => ({
          componentType: c.componentType,
          resultComponentType: c.resultComponentType,
          M: c.M,
          N: c.N,
          K: c.K,
        })),
      },
      limits: {
        maxBufferSize: Math.min(d.maxBufferSize, capBuffer),
        maxStorageBufferBindingSize: Math.min(d.maxStorageBufferBindingSize, capBinding),
        maxComputeWorkgroupStorageSize: d.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: d.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: d.maxStorageBuffersPerShaderStage,
      },
    },
  };
}
