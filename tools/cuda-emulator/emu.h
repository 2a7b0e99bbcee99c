// The CUDA C++ that staticnn's kernels use, on the CPU: enough to run
// runtime/src/ops/*.cu as plain C++ (see README.md). Threads of a block are
// OS threads when a kernel cooperates (barriers, warp shuffles), and one
// loop otherwise.
#pragma once
#include <barrier>
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

extern thread_local dim3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

#define __global__
#define __device__ static
#define __forceinline__ inline
#define __shared__ static

namespace emu {
// Barriers of the block being run, and a 32-slot exchange per warp.
struct Block {
    std::barrier<>* block = nullptr;
    std::barrier<>* warp[32] = {};
    uint64_t lanes[32][32];
};
extern Block* current;
extern std::mutex atomic_lock;
void run(dim3 grid, dim3 block, bool cooperative, const std::function<void()>& body);
}  // namespace emu

inline void __syncthreads() { emu::current->block->arrive_and_wait(); }

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    unsigned lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    emu::current->lanes[warp][lane] = bits;
    emu::current->warp[warp]->arrive_and_wait();
    bits = emu::current->lanes[warp][lane ^ mask];
    emu::current->warp[warp]->arrive_and_wait();
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}

inline float atomicAdd(float* p, float v) {
    std::lock_guard<std::mutex> g(emu::atomic_lock);
    float old = *p;
    *p = old + v;
    return old;
}

inline float __int_as_float(unsigned i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}

static inline int max(int a, int b) { return a > b ? a : b; }
static inline int min(int a, int b) { return a < b ? a : b; }
