/** Device acquisition shared by every host: pick an adapter, request the limits the work needs. */
import { WebGPUUnavailableError } from './errors.ts';

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
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

/** An adapter, its device, and the summary. */
export interface GpuHandle {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: AdapterSummary;
}

/** Requests a device from `gpu` with the adapter's full buffer and workgroup limits. */
export async function requestGpu(
  gpu: GPU | undefined,
  opts: { powerPreference?: GPUPowerPreference; fallback?: boolean } = {},
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
  return requestDeviceFrom(adapter, opts.fallback ?? false);
}

/** Requests a device from a given adapter. */
export async function requestDeviceFrom(
  adapter: GPUAdapter,
  fallback: boolean,
): Promise<GpuHandle> {
  const a = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxBufferSize: a.maxBufferSize,
    maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: a.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
  };
  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures,
    label: 'longlora',
  });
  const i = adapter.info;
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
        shaderF16: device.features.has('shader-f16'),
        subgroups: device.features.has('subgroups'),
        timestampQuery: device.features.has('timestamp-query'),
      },
      limits: {
        maxBufferSize: d.maxBufferSize,
        maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
        maxComputeWorkgroupStorageSize: d.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: d.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: d.maxStorageBuffersPerShaderStage,
      },
    },
  };
}
