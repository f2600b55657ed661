// Reference blocks for src/io/quantize.ts: quantizes seeded rows of f32 with llama.cpp's own reference
// quantizers (ggml-quants.c's quantize_row_*_ref, no importance matrix) and writes, under the folder
// given as its argument:
//
//   quantize-input.f32        ROWS rows of COLS f32 values (little-endian), the input
//   quantize-<type>.blocks    the same rows quantized to <type> (q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k)
//
// Built and run by scripts/make-quantize-fixtures.sh (compiled at -O0 with -ffp-contract=off, so every
// float operation is the one ggml's C source states). The rows cover several scales: ordinary weights,
// large and tiny values (tiny enough that the f16 scale underflows), all zeros, all positive, all
// negative, constant and sparse blocks, outliers, and exact halves (rounding ties). No f32 subnormals:
// the reference divides by a scale derived from them, which overflows (undefined behaviour in C).
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "ggml-quants.h"

// ggml-quants.c refers to these ggml.c functions in code paths the reference quantizers never take.
void ggml_abort(const char * file, int line, const char * fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d\n", file, line);
    abort();
}
size_t ggml_row_size(enum ggml_type type, int64_t ne) { (void) type; (void) ne; abort(); }
size_t ggml_type_size(enum ggml_type type) { (void) type; abort(); }
const char * ggml_type_name(enum ggml_type type) { (void) type; abort(); }

#define ROWS 12
#define COLS 512

static uint64_t state;

static uint64_t next_u64(void) { // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double) (next_u64() >> 11) * 0x1.0p-53; } // [0, 1)
static double normal(void) {
    double u = uniform(), v = uniform();
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static void fill(float * x) {
    state = 2026;
    for (int r = 0; r < ROWS; ++r) {
        float * row = x + r * COLS;
        for (int i = 0; i < COLS; ++i) {
            double v;
            switch (r) {
                case 0: v = normal(); break;                            // unit normal
                case 1: v = 0.02 * normal(); break;                     // typical weights
                case 2: v = 100.0 * normal(); break;                    // large
                case 3: v = (2 * uniform() - 1) * (uniform() < 0.02 ? 30 : 1); break; // outliers
                case 4: v = 0; break;                                   // all zeros
                case 5: v = 1e-7 * normal(); break;                     // tiny: f16 scales underflow
                case 6: v = normal(); break;                            // per-block scales, below
                case 7: v = (double) ((int) (uniform() * 33) - 16) / 2; break; // halves: ties
                case 8: v = uniform(); break;                           // all positive
                case 9: v = -uniform() - 0.25; break;                   // all negative
                case 10: v = uniform() < 0.05 ? 10 * normal() : 0; break; // sparse spikes
                default: v = 1e4 * normal(); break;                     // very large
            }
            row[i] = (float) v;
        }
        if (r == 6) {
            // Each 32-value block its own scale 10^[-4, 2]; some blocks zero, constant or one-signed.
            for (int b = 0; b < COLS / 32; ++b) {
                float * blk = row + 32 * b;
                const float s = (float) pow(10.0, -4 + 6 * uniform());
                for (int i = 0; i < 32; ++i) blk[i] *= s;
                const int kind = b % 6;
                for (int i = 0; i < 32; ++i) {
                    if (kind == 1) blk[i] = 0;
                    if (kind == 2) blk[i] = 0.75f * s;
                    if (kind == 3) blk[i] = -0.5f * s;
                    if (kind == 4) blk[i] = fabsf(blk[i]);
                    if (kind == 5) blk[i] = -fabsf(blk[i]);
                }
            }
        }
    }
}

static void write_file(const char * dir, const char * name, const void * data, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE * f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    printf("%s: %zu bytes\n", path, n);
}

typedef void (*quantize_fn)(const float * x, void * y, int64_t k);

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    static float x[ROWS * COLS];
    fill(x);
    write_file(argv[1], "quantize-input.f32", x, sizeof x);

    const struct {
        const char * name;
        int block, bytes;
        quantize_fn fn;
    } types[] = {
        {"q8_0", QK8_0, sizeof(block_q8_0), (quantize_fn) quantize_row_q8_0_ref},
        {"q4_0", QK4_0, sizeof(block_q4_0), (quantize_fn) quantize_row_q4_0_ref},
        {"q4_1", QK4_1, sizeof(block_q4_1), (quantize_fn) quantize_row_q4_1_ref},
        {"q5_0", QK5_0, sizeof(block_q5_0), (quantize_fn) quantize_row_q5_0_ref},
        {"q5_1", QK5_1, sizeof(block_q5_1), (quantize_fn) quantize_row_q5_1_ref},
        {"q4_k", QK_K, sizeof(block_q4_K), (quantize_fn) quantize_row_q4_K_ref},
        {"q5_k", QK_K, sizeof(block_q5_K), (quantize_fn) quantize_row_q5_K_ref},
        {"q6_k", QK_K, sizeof(block_q6_K), (quantize_fn) quantize_row_q6_K_ref},
    };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
        const size_t row_bytes = (size_t) COLS / types[t].block * types[t].bytes;
        uint8_t * out = calloc(ROWS, row_bytes);
        // One call per row, as llama.cpp's quantize_* do for a tensor without an importance matrix.
        for (int r = 0; r < ROWS; ++r) types[t].fn(x + r * COLS, out + r * row_bytes, COLS);
        char name[64];
        snprintf(name, sizeof name, "quantize-%s.blocks", types[t].name);
        write_file(argv[1], name, out, ROWS * row_bytes);
        free(out);
    }
    return 0;
}
