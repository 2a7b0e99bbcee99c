// Helpers shared by every op's kernels; compiled in front of each op's
// source. NVRTC compiles without the CUDA headers, so nothing is included:
// the math functions (expf, sqrtf, ...) and warp intrinsics are built in.

#define NEG_INF __int_as_float(0xff800000)

// The geometry of a 2-D window op (convolution, pooling), laid out as
// `ops::window::Geom2d::kernel_arg` writes it.
struct Geom {
    int batch, in_c, in_h, in_w, out_c, out_h, out_w, kh, kw, sh, sw, ph, pw;
};

// Every value index of a launch made with Grid::elements, however many
// blocks the grid was capped at. The loop counter is 64-bit: with strides
// up to 2^28 an `int` counter would wrap past 2^31 - 2^28 values before the
// loop test saw it. The body sees the index as an `int` (it is below `n`,
// an `int`), so its divisions stay 32-bit: 64-bit integer division is
// emulated on the GPU and many times slower.
#define FOR_EACH(i, n)                                                                     \
    for (long long i##_wide = blockIdx.x * (long long)blockDim.x + threadIdx.x;          \
         i##_wide < (n); i##_wide += (long long)blockDim.x * gridDim.x)                   \
        if (const int i = (int)i##_wide; true)

// Every row index a warp of a launch made with Grid::warp_per_item takes:
// one row per warp, then the next the grid's warps have not reached (all
// lanes of a warp take the same rows, so shuffles inside stay whole).
#define FOR_EACH_ROW_OF_WARP(row, n)                                          \
    for (int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5; row < (n); \
         row += (blockDim.x * gridDim.x) >> 5)

// Sum over a warp; every lane gets the total.
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Maximum over a warp; every lane gets it. Like Rust's f32::max (which
// the CPU's softmax folds with), fmaxf ignores a NaN.
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over a block of at most 1024 threads (a multiple of 32); every
// thread gets the total. `scratch` holds 32 floats of shared memory; the
// trailing barrier lets the caller reuse it at once.
__device__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

// The same in double, for statistics over large batches (BatchNorm).
__device__ double block_sum_d(double v, double* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    return v;
}

// Add a block's partial sum into one accumulator: one atomic per block.
__device__ __forceinline__ void block_accumulate(float v, float* total) {
    __shared__ float scratch[32];
    v = block_sum(v, scratch);
    if (threadIdx.x == 0) atomicAdd(total, v);
}
