// A stand-in for libcuda and libcublas that runs staticnn's kernels on the
// CPU (see README.md): device memory is host memory with guard bands, a
// stream runs each call to completion, a module is the table of kernels
// compiled from runtime/src/ops/**/*.cu, errors are sticky, and sgemm is the
// textbook loop in f32. Only the entry points staticnn (through cudarc)
// calls are here.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "emu.h"

struct Kernel {
    const char* name;
    void (*launch)(dim3, dim3, void**);
};
extern const Kernel EMU_KERNELS[];

namespace emu {
extern int fault_code;
extern char fault_message[1024];
}

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum {
    OK = 0,
    INVALID_VALUE = 1,
    OUT_OF_MEMORY = 2,
    INVALID_DEVICE = 101,
    INVALID_CONTEXT = 201,
    NOT_FOUND = 500,
    ILLEGAL_ADDRESS = 700,
    LAUNCH_FAILED = 719,
};

static int context_token, stream_token, module_token;
static thread_local void* current_context = nullptr;

// Errors are sticky, as on a GPU: after an illegal address or a failed
// launch every call that touches the context fails with the same error.
#define STICKY                                  \
    do {                                        \
        if (emu::fault_code) return emu::fault_code; \
    } while (0)

// ------------------------------------------------------------ memory
// Every allocation has a guard band on each side, filled with a pattern
// and checked after every launch and before every free: a kernel that
// writes past either end is an illegal address. Fresh memory holds NaNs,
// not zeros, so a kernel that reads what nothing wrote shows up too.
static constexpr size_t GUARD = 256;
static constexpr unsigned char PATTERN = 0xA5;
static std::map<CUdeviceptr, size_t> live;  // start -> bytes
static std::mutex live_lock;

static bool guard_intact(CUdeviceptr p, size_t bytes, const char** where) {
    const unsigned char* lo = (const unsigned char*)p - GUARD;
    const unsigned char* hi = (const unsigned char*)p + bytes;
    for (size_t i = 0; i < GUARD; ++i) {
        if (lo[i] != PATTERN) { *where = "before"; return false; }
        if (hi[i] != PATTERN) { *where = "past the end of"; return false; }
    }
    return true;
}

static void check_guards(const char* after) {
    std::lock_guard<std::mutex> g(live_lock);
    for (auto& [p, bytes] : live) {
        const char* where;
        if (!guard_intact(p, bytes, &where) && !emu::fault_code) {
            emu::fault_code = ILLEGAL_ADDRESS;
            std::snprintf(emu::fault_message, sizeof emu::fault_message,
                          "%s wrote %s a %zu-byte allocation", after, where, bytes);
            std::fprintf(stderr, "cuda-emulator: %s\n", emu::fault_message);
        }
    }
}

// Whether [p, p + n) lies inside one live allocation.
static bool inside(CUdeviceptr p, size_t n) {
    std::lock_guard<std::mutex> g(live_lock);
    auto it = live.upper_bound(p);
    if (it == live.begin()) return false;
    --it;
    return p >= it->first && p + n <= it->first + it->second;
}

static CUresult out_of_bounds(const char* call, CUdeviceptr p, size_t n) {
    emu::fault_code = ILLEGAL_ADDRESS;
    std::snprintf(emu::fault_message, sizeof emu::fault_message,
                  "%s of %zu bytes at %#llx is outside every allocation", call, n, p);
    std::fprintf(stderr, "cuda-emulator: %s\n", emu::fault_message);
    return ILLEGAL_ADDRESS;
}

static CUdeviceptr device_alloc(size_t bytes) {
    unsigned char* raw = (unsigned char*)std::malloc(bytes + 2 * GUARD);
    if (!raw) return 0;
    std::memset(raw, PATTERN, GUARD);
    std::memset(raw + GUARD, 0xFF, bytes);
    std::memset(raw + GUARD + bytes, PATTERN, GUARD);
    CUdeviceptr p = (CUdeviceptr)(raw + GUARD);
    std::lock_guard<std::mutex> g(live_lock);
    live[p] = bytes;
    return p;
}

static CUresult device_free(CUdeviceptr p) {
    STICKY;
    // The driver frees in the context current on the calling thread.
    if (!current_context) return INVALID_CONTEXT;
    size_t bytes;
    {
        std::lock_guard<std::mutex> g(live_lock);
        auto it = live.find(p);
        if (it == live.end()) return INVALID_VALUE;
        bytes = it->second;
    }
    check_guards("a kernel");
    STICKY;
    std::lock_guard<std::mutex> g(live_lock);
    live.erase(p);
    std::free((unsigned char*)p - GUARD);
    (void)bytes;
    return OK;
}

extern "C" {
CUresult cuInit(unsigned) { return OK; }
// The machine it stands in for: driver 580 (CUDA 13.0), an H200 (9.0).
CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
CUresult cuDeviceGet(int* d, int ordinal) { *d = ordinal; return ordinal == 0 ? OK : INVALID_DEVICE; }
CUresult cuDeviceGetAttribute(int* v, int attribute, int) {
    // 75, 76: compute capability major and minor (NVRTC compiles for
    // sm_90, and the image is ignored); 115: memory pools supported
    // (stream-ordered allocation).
    switch (attribute) {
        case 75: *v = 9; break;
        case 76: *v = 0; break;
        case 115: *v = 1; break;
        default: *v = 0;
    }
    return OK;
}
CUresult cuDeviceGetName(char* name, int len, int) {
    std::snprintf(name, len, "staticnn CUDA emulator (CPU)");
    return OK;
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = size_t(1) << 34; return OK; }
CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
    STICKY;
    *free_bytes = *total = size_t(1) << 34;
    return OK;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = &context_token; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
CUresult cuCtxGetCurrent(void** ctx) { *ctx = current_context; return OK; }
CUresult cuCtxSetCurrent(void* ctx) { current_context = ctx; return OK; }
CUresult cuCtxSynchronize() { STICKY; return OK; }
CUresult cuStreamCreate(void** s, unsigned) { STICKY; *s = &stream_token; return OK; }
CUresult cuStreamDestroy_v2(void*) { return OK; }
CUresult cuStreamSynchronize(void*) { STICKY; return OK; }
CUresult cuMemAllocAsync(CUdeviceptr* p, size_t bytes, void*) {
    STICKY;
    *p = device_alloc(bytes);
    return *p ? OK : OUT_OF_MEMORY;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) { return cuMemAllocAsync(p, bytes, nullptr); }
CUresult cuMemFreeAsync(CUdeviceptr p, void*) { return device_free(p); }
CUresult cuMemFree_v2(CUdeviceptr p) { return device_free(p); }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void*) {
    STICKY;
    if (!inside(dst, n)) return out_of_bounds("cuMemcpyHtoD", dst, n);
    std::memcpy((void*)dst, src, n);
    return OK;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void*) {
    STICKY;
    if (!inside(src, n)) return out_of_bounds("cuMemcpyDtoH", src, n);
    std::memcpy(dst, (const void*)src, n);
    return OK;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void*) {
    STICKY;
    if (!inside(dst, n)) return out_of_bounds("cuMemcpyDtoD", dst, n);
    if (!inside(src, n)) return out_of_bounds("cuMemcpyDtoD", src, n);
    std::memmove((void*)dst, (const void*)src, n);
    return OK;
}
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, void*) {
    STICKY;
    if (!inside(p, n)) return out_of_bounds("cuMemsetD8", p, n);
    std::memset((void*)p, v, n);
    return OK;
}
CUresult cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, void*) {
    STICKY;
    if (!inside(p, 4 * n)) return out_of_bounds("cuMemsetD32", p, 4 * n);
    unsigned* w = (unsigned*)p;
    for (size_t i = 0; i < n; ++i) w[i] = v;
    return OK;
}
CUresult cuModuleLoadData(void** m, const void*) { STICKY; *m = &module_token; return OK; }
CUresult cuModuleUnload(void*) { return OK; }
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    STICKY;
    for (const Kernel* k = EMU_KERNELS; k->name; ++k)
        if (std::strcmp(k->name, name) == 0) {
            *f = (void*)k;
            return OK;
        }
    return NOT_FOUND;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned, void*, void** params, void**) {
    STICKY;
    const Kernel* k = (const Kernel*)f;
    k->launch(dim3{gx, gy, gz}, dim3{bx, by, bz}, params);
    STICKY;
    char who[160];
    std::snprintf(who, sizeof who, "kernel %s", k->name);
    check_guards(who);
    STICKY;
    return OK;
}
CUresult cuGetErrorString(CUresult e, const char** s) {
    if (e == emu::fault_code && e) *s = emu::fault_message;
    else if (e == INVALID_CONTEXT) *s = "invalid device context (none is current on this thread)";
    else *s = "emulated CUDA error";
    return OK;
}
CUresult cuGetErrorName(CUresult e, const char** s) {
    switch (e) {
        case ILLEGAL_ADDRESS: *s = "CUDA_ERROR_ILLEGAL_ADDRESS"; break;
        case LAUNCH_FAILED: *s = "CUDA_ERROR_LAUNCH_FAILED"; break;
        case INVALID_CONTEXT: *s = "CUDA_ERROR_INVALID_CONTEXT"; break;
        case INVALID_VALUE: *s = "CUDA_ERROR_INVALID_VALUE"; break;
        case OUT_OF_MEMORY: *s = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case NOT_FOUND: *s = "CUDA_ERROR_NOT_FOUND"; break;
        default: *s = "CUDA_ERROR_EMULATED";
    }
    return OK;
}
}

// cuBLAS
extern "C" {
// 13: CUBLAS_STATUS_EXECUTION_FAILED, once the context has faulted.
int cublasCreate_v2(void** h) { *h = &context_token; return emu::fault_code ? 13 : 0; }
// 15: CUBLAS_STATUS_NOT_SUPPORTED: the emulator has no version to give.
int cublasGetProperty(int, int*) { return 15; }
int cublasDestroy_v2(void*) { return 0; }
int cublasSetStream_v2(void*, void*) { return 0; }
const char* cublasGetStatusString(int) { return "emulated cuBLAS error"; }
const char* cublasGetStatusName(int) { return "CUBLAS_STATUS_EMULATED"; }

// Column-major C = alpha op(A) op(B) + beta C; C is not read when beta is
// zero, as in cuBLAS.
// Accumulates in f32 with fused multiply-adds, as cuBLAS's f32 kernels
// do (no TF32): a test tolerance that only f64 accumulation would meet
// fails here, not first on a GPU.
int cublasSgemm_v2(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* a,
                   int lda, const float* b, int ldb, const float* beta, float* c, int ldc) {
    if (emu::fault_code) return 13;
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            float s = 0.0f;
            for (int p = 0; p < k; ++p) {
                float av = ta ? a[p + (long)i * lda] : a[i + (long)p * lda];
                float bv = tb ? b[j + (long)p * ldb] : b[p + (long)j * ldb];
                s = std::fma(av, bv, s);
            }
            float& out = c[i + (long)j * ldc];
            out = *alpha * s + (*beta == 0.0f ? 0.0f : *beta * out);
        }
    check_guards("cublasSgemm");
    return emu::fault_code ? 13 : 0;
}
}
