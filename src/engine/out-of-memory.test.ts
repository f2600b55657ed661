import { describe, expect, it } from 'vitest';
import { describeError } from '../store/errors.ts';
import { emptyMemoryBytes } from './memory.ts';
import { outOfMemory } from './runtime.ts';

describe('an allocation the GPU refuses', () => {
  it('names the category that failed and what each category already held', () => {
    const inUse = { ...emptyMemoryBytes(), weights: 3 * 2 ** 30, lora: 512 * 2 ** 20 };
    const e = outOfMemory(
      'layer 3 mlp gate',
      'activations',
      176 * 2 ** 20,
      inUse,
      'Not enough memory left.',
    );
    expect(e.category).toBe('activations');
    expect(e.requestedBytes).toBe(176 * 2 ** 20);
    expect(e.message).toBe(
      'GPU out of memory allocating activations (layer 3 mlp gate, 176.0 MiB); already in use: ' +
        'weights 3072.0 MiB, lora 512.0 MiB. Not enough memory left.',
    );
    // The page shows it under the out-of-memory hint, with this message.
    const shown = describeError(e);
    expect(shown.kind).toBe('out-of-memory');
    expect(shown.message).toContain('allocating activations');
  });
});
