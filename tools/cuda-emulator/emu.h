// The CUDA C++ that staticnn's kernels use, on the CPU: enough to run
// runtime/src/ops/**/*.cu as plain C++ (see README.md).
//
// A block's threads run one at a time, each until its next barrier, in an
// order drawn at random (seeded) for every stretch between barriers;
// blocks run in a random order too. Shared memory is tracked word by word:
// a thread that reads a word another thread wrote since the last barrier
// that orders them (or overwrites one another thread read or wrote) is a
// race, reported as a failed launch.
#pragma once
#include <cmath>
#include <math.h>
#include <cstdint>
#include <cstring>
#include <functional>

struct dim3 {
    unsigned x = 1, y = 1, z = 1;
};

// One OS thread runs every emulated thread (kernels are serialised).
extern dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__ static
#define __forceinline__ inline
// gen.py turns `__shared__ T name[N];` into `static emu::Shared<T, N> name;`.
#define __shared__ static

namespace emu {
// Launch a kernel: `cooperative` kernels (barriers, shuffles, shared
// memory) run as fibers, others thread by thread.
void run(const char* kernel, dim3 grid, dim3 block, bool cooperative,
         const std::function<void()>& body);

// Barriers, for the fiber running now.
void sync_block();
void sync_warp();
uint64_t* warp_lanes();  // the calling warp's 32 exchange slots

// Report a fault in the running kernel: the launch fails with `code`
// (700: illegal address, 719: launch failed) and so does every later call.
[[noreturn]] void fault(int code, const char* fmt, ...);

// Who touched a shared word last, since which barrier.
struct Track {
    int writer = -1, reader = -1;  // thread ids; reader -2: several
    int reader_warp = -1;          // -2: readers in several warps
    uint64_t wepoch = 0, repoch = 0, wwarp = 0, rwarp = 0;
};
void on_read(Track& t, const char* name, int index);
void on_write(Track& t, const char* name, int index);
void register_shared(void* data, size_t bytes, Track* tracks, size_t n);

template <class T>
struct SharedRef {
    T* p;
    Track* t;
    const char* name;
    int i;
    operator T() const {
        on_read(*t, name, i);
        return *p;
    }
    SharedRef& operator=(T v) {
        on_write(*t, name, i);
        *p = v;
        return *this;
    }
    SharedRef& operator=(const SharedRef& o) { return *this = T(o); }
    SharedRef& operator+=(T v) { return *this = T(*this) + v; }
    SharedRef& operator-=(T v) { return *this = T(*this) - v; }
    SharedRef& operator*=(T v) { return *this = T(*this) * v; }
};

// A shared array as a device function receives it (a parameter named
// `scratch`: gen.py gives such parameters this type).
template <class T>
struct SharedView {
    T* data;
    Track* tracks;
    int n;
    const char* name;
    SharedRef<T> operator[](int i) const {
        if (i < 0 || i >= n) fault(700, "shared array %s[%d] indexed at %d", name, n, i);
        return {data + i, tracks + i, name, i};
    }
};

template <class T, int N>
struct Shared {
    T data[N];
    Track tracks[N];
    const char* name;
    explicit Shared(const char* name) : name(name) {
        register_shared(data, sizeof(data), tracks, N);
    }
    SharedRef<T> operator[](int i) { return SharedView<T>(*this)[i]; }
    operator SharedView<T>() { return {data, tracks, N, name}; }
};
}  // namespace emu

inline void __syncthreads() { emu::sync_block(); }
inline void __syncwarp(unsigned = 0xffffffffu) { emu::sync_warp(); }

template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask) {
    static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
    unsigned lane = threadIdx.x & 31;
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    emu::warp_lanes()[lane] = bits;
    emu::sync_warp();
    bits = emu::warp_lanes()[lane ^ mask];
    emu::sync_warp();
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}

// Threads run one at a time, so this is atomic; the random order of
// threads and blocks is the random order of a GPU's atomics.
inline float atomicAdd(float* p, float v) {
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
