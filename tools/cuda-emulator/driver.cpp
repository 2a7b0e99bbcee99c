// A stand-in for libcuda and libcublas that runs staticnn's kernels on the
// CPU (see README.md): device memory is host memory, a stream runs each
// call to completion, a module is the table of kernels compiled from
// runtime/src/ops/*.cu, and sgemm is the textbook triple loop. Only the
// entry points staticnn (through cudarc) calls are here.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "emu.h"

struct Kernel {
    const char* name;
    void (*launch)(dim3, dim3, void**);
};
extern const Kernel EMU_KERNELS[];

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
enum { OK = 0, INVALID_VALUE = 1, NOT_FOUND = 500, INVALID_DEVICE = 101 };

static int context_token, stream_token, module_token;
static thread_local void* current_context = nullptr;

// Fresh device memory holds NaNs, not zeros: a kernel that reads what
// nothing wrote shows up in the results.
static void* device_alloc(size_t bytes) {
    void* p = std::malloc(bytes ? bytes : 1);
    if (p) std::memset(p, 0xFF, bytes);
    return p;
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
    *free_bytes = *total = size_t(1) << 34;
    return OK;
}
CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = &context_token; return OK; }
CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
CUresult cuCtxGetCurrent(void** ctx) { *ctx = current_context; return OK; }
CUresult cuCtxSetCurrent(void* ctx) { current_context = ctx; return OK; }
CUresult cuCtxSynchronize() { return OK; }
CUresult cuStreamCreate(void** s, unsigned) { *s = &stream_token; return OK; }
CUresult cuStreamDestroy_v2(void*) { return OK; }
CUresult cuStreamSynchronize(void*) { return OK; }
CUresult cuMemAllocAsync(CUdeviceptr* p, size_t bytes, void*) {
    *p = (CUdeviceptr)device_alloc(bytes);
    return *p ? OK : INVALID_VALUE;
}
CUresult cuMemAlloc_v2(CUdeviceptr* p, size_t bytes) { return cuMemAllocAsync(p, bytes, nullptr); }
CUresult cuMemFreeAsync(CUdeviceptr p, void*) { std::free((void*)p); return OK; }
CUresult cuMemFree_v2(CUdeviceptr p) { std::free((void*)p); return OK; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t n, void*) {
    std::memcpy((void*)dst, src, n);
    return OK;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t n, void*) {
    std::memcpy(dst, (const void*)src, n);
    return OK;
}
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t n, void*) {
    std::memmove((void*)dst, (const void*)src, n);
    return OK;
}
CUresult cuMemsetD8Async(CUdeviceptr p, unsigned char v, size_t n, void*) {
    std::memset((void*)p, v, n);
    return OK;
}
CUresult cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, void*) {
    unsigned* w = (unsigned*)p;
    for (size_t i = 0; i < n; ++i) w[i] = v;
    return OK;
}
CUresult cuModuleLoadData(void** m, const void*) { *m = &module_token; return OK; }
CUresult cuModuleUnload(void*) { return OK; }
CUresult cuModuleGetFunction(void** f, void*, const char* name) {
    for (const Kernel* k = EMU_KERNELS; k->name; ++k)
        if (std::strcmp(k->name, name) == 0) {
            *f = (void*)k;
            return OK;
        }
    return NOT_FOUND;
}
CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                        unsigned bz, unsigned, void*, void** params, void**) {
    ((const Kernel*)f)->launch(dim3{gx, gy, gz}, dim3{bx, by, bz}, params);
    return OK;
}
CUresult cuGetErrorString(CUresult, const char** s) { *s = "emulated CUDA error"; return OK; }
CUresult cuGetErrorName(CUresult, const char** s) { *s = "CUDA_ERROR_EMULATED"; return OK; }

// cuBLAS
int cublasCreate_v2(void** h) { *h = &context_token; return 0; }
int cublasDestroy_v2(void*) { return 0; }
int cublasSetStream_v2(void*, void*) { return 0; }
const char* cublasGetStatusString(int) { return "emulated cuBLAS error"; }
const char* cublasGetStatusName(int) { return "CUBLAS_STATUS_EMULATED"; }

// Column-major C = alpha op(A) op(B) + beta C; C is not read when beta is
// zero, as in cuBLAS.
int cublasSgemm_v2(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* a,
                   int lda, const float* b, int ldb, const float* beta, float* c, int ldc) {
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            double s = 0.0;
            for (int p = 0; p < k; ++p) {
                float av = ta ? a[p + (long)i * lda] : a[i + (long)p * lda];
                float bv = tb ? b[j + (long)p * ldb] : b[p + (long)j * ldb];
                s += (double)av * bv;
            }
            float& out = c[i + (long)j * ldc];
            out = *alpha * (float)s + (*beta == 0.0f ? 0.0f : *beta * out);
        }
    return 0;
}
}
