// Running a kernel's grid on the CPU (see emu.h): fibers for a block's
// threads, a seeded random order, shared-memory race tracking, faults.
#include "emu.h"

#include <ucontext.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {
// Set by a fault; driver.cpp makes it sticky.
int fault_code = 0;
char fault_message[1024];

namespace {
// ---------------------------------------------------------------- order

// splitmix64: the seed of each launch, and the draws within it.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    unsigned below(unsigned n) { return unsigned(next() % n); }
};

uint64_t seed() {
    static uint64_t s = [] {
        const char* v = std::getenv("STATICNN_EMU_SEED");
        return v ? std::strtoull(v, nullptr, 0) : 1ull;
    }();
    return s;
}

uint64_t launches = 0;
Rng rng{0};
const char* kernel_name = "";

void shuffle(std::vector<unsigned>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(unsigned(i))]);
}

uint64_t gcd(uint64_t a, uint64_t b) { return b ? gcd(b, a % b) : a; }

// --------------------------------------------------------------- fibers

enum State { READY, AT_BLOCK, AT_WARP, DONE };
constexpr size_t STACK = 256 * 1024;

struct Fiber {
    ucontext_t ctx;
    State state;
    std::vector<char> stack = std::vector<char>(STACK);
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
unsigned current = 0;  // the fiber running now
bool in_fiber = false;
const std::function<void()>* body = nullptr;
uint64_t lanes[32][32];

// Epochs: the block's advances at every barrier and every new block, a
// warp's at every warp barrier (a shuffle holds two). Never reset, so a
// record from an earlier block or launch never matches.
uint64_t block_epoch = 1;
uint64_t warp_epoch[32];

struct SharedArray {
    void* data;
    size_t bytes;
    Track* tracks;
    size_t n;
};
std::vector<SharedArray>& shared_arrays() {
    static std::vector<SharedArray> v;
    return v;
}

void yield(State s) {
    fibers[current].state = s;
    swapcontext(&fibers[current].ctx, &scheduler);
}

void fiber_entry() {
    (*body)();
    fibers[current].state = DONE;
    // Returning switches to uc_link, the scheduler.
}

struct Abort {};

// Release the barriers that every live thread has reached: a warp's first,
// then the block's. False when none can be (a barrier some threads never
// reach: divergent __syncthreads, or lanes at different barriers).
bool release(unsigned threads) {
    bool released = false;
    for (unsigned w = 0; w * 32 < threads; ++w) {
        bool any = false, all = true;
        for (unsigned t = w * 32; t < std::min(threads, w * 32 + 32); ++t) {
            if (fibers[t].state == DONE) continue;
            any = true;
            all = all && fibers[t].state == AT_WARP;
        }
        if (any && all) {
            for (unsigned t = w * 32; t < std::min(threads, w * 32 + 32); ++t)
                if (fibers[t].state == AT_WARP) fibers[t].state = READY;
            ++warp_epoch[w];
            released = true;
        }
    }
    if (released) return true;
    bool any = false, all = true;
    for (unsigned t = 0; t < threads; ++t) {
        if (fibers[t].state == DONE) continue;
        any = true;
        all = all && fibers[t].state == AT_BLOCK;
    }
    if (!any || !all) return false;
    for (unsigned t = 0; t < threads; ++t)
        if (fibers[t].state == AT_BLOCK) fibers[t].state = READY;
    ++block_epoch;
    return true;
}

void run_block_as_fibers(unsigned threads) {
    if (fibers.size() < threads) fibers.resize(threads);
    for (unsigned t = 0; t < threads; ++t) {
        Fiber& f = fibers[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack.data();
        f.ctx.uc_stack.ss_size = f.stack.size();
        f.ctx.uc_link = &scheduler;
        makecontext(&f.ctx, fiber_entry, 0);
        f.state = READY;
    }
    std::vector<unsigned> order;
    for (;;) {
        order.clear();
        for (unsigned t = 0; t < threads; ++t)
            if (fibers[t].state == READY) order.push_back(t);
        if (order.empty()) {
            bool done = true;
            for (unsigned t = 0; t < threads; ++t) done = done && fibers[t].state == DONE;
            if (done) return;
            if (!release(threads))
                fault(719, "threads of a block wait at different barriers (a __syncthreads or shuffle "
                           "that not every thread reaches)");
            continue;
        }
        shuffle(order);
        for (unsigned t : order) {
            current = t;
            threadIdx = dim3{t, 0, 0};
            in_fiber = true;
            swapcontext(&scheduler, &fibers[t].ctx);
            in_fiber = false;
            if (fault_code) throw Abort{};
        }
    }
}

// Fresh shared memory holds NaNs, as fresh device memory does: a read of
// what no thread of this block wrote shows up in the results.
void new_block() {
    ++block_epoch;
    for (auto& a : shared_arrays()) std::memset(a.data, 0xFF, a.bytes);
}
}  // namespace

void register_shared(void* data, size_t bytes, Track* tracks, size_t n) {
    shared_arrays().push_back({data, bytes, tracks, n});
}

uint64_t* warp_lanes() { return lanes[threadIdx.x >> 5]; }

void sync_block() {
    if (in_fiber) yield(AT_BLOCK);
}

void sync_warp() {
    if (in_fiber) yield(AT_WARP);
}

void fault(int code, const char* fmt, ...) {
    if (!fault_code) {
        fault_code = code;
        int n = std::snprintf(fault_message, sizeof fault_message,
                              "kernel %s, block %u, thread %u: ", kernel_name, blockIdx.x,
                              threadIdx.x);
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(fault_message + n, sizeof fault_message - n, fmt, ap);
        va_end(ap);
        size_t len = std::strlen(fault_message);
        std::snprintf(fault_message + len, sizeof fault_message - len,
                      " (emulator seed %llu, launch %llu)", (unsigned long long)seed(),
                      (unsigned long long)launches);
        std::fprintf(stderr, "cuda-emulator: %s\n", fault_message);
    }
    if (in_fiber) {
        // Abandon the fiber: the scheduler sees the fault and stops.
        fibers[current].state = DONE;
        swapcontext(&fibers[current].ctx, &scheduler);
    }
    throw Abort{};
}

// A read or write of shared word `index` by the running thread: ordered
// after another thread's access only by a block barrier since, or (same
// warp) a warp barrier since.
static bool ordered(int other, uint64_t epoch, uint64_t warp_at, int other_warp) {
    int me = int(threadIdx.x);
    if (other == -1 || other == me || epoch != block_epoch) return true;
    int w = me >> 5;
    if (other_warp == w && warp_epoch[w] > warp_at) return true;
    return false;
}

void on_read(Track& t, const char* name, int index) {
    if (!in_fiber) return;
    int me = int(threadIdx.x), w = me >> 5;
    if (!ordered(t.writer, t.wepoch, t.wwarp, t.writer >= 0 ? t.writer >> 5 : -1))
        fault(719, "shared-memory race: reads %s[%d], which thread %d wrote since the last barrier",
              name, index, t.writer);
    if (t.repoch != block_epoch || t.reader == -1) {
        t.reader = me;
        t.reader_warp = w;
        t.repoch = block_epoch;
        t.rwarp = warp_epoch[w];
    } else if (t.reader != me) {
        t.reader = -2;
        if (t.reader_warp != w) t.reader_warp = -2;
        t.rwarp = std::min(t.rwarp, warp_epoch[w]);
    }
}

void on_write(Track& t, const char* name, int index) {
    if (!in_fiber) return;
    int me = int(threadIdx.x), w = me >> 5;
    if (!ordered(t.writer, t.wepoch, t.wwarp, t.writer >= 0 ? t.writer >> 5 : -1))
        fault(719, "shared-memory race: writes %s[%d], which thread %d wrote since the last barrier",
              name, index, t.writer);
    if (t.repoch == block_epoch && t.reader != -1 && t.reader != me &&
        !(t.reader_warp == w && warp_epoch[w] > t.rwarp))
        fault(719,
              "shared-memory race: writes %s[%d], which %s read since the last barrier", name,
              index, t.reader == -2 ? "other threads" : "another thread");
    t.writer = me;
    t.wepoch = block_epoch;
    t.wwarp = warp_epoch[w];
}

// Kernels run one at a time, from whichever thread launches them.
static std::mutex one_launch;

void run(const char* kernel, dim3 grid, dim3 block, bool cooperative,
         const std::function<void()>& f) {
    std::lock_guard<std::mutex> only(one_launch);
    if (fault_code) return;
    kernel_name = kernel;
    rng = Rng{seed() ^ (++launches * 0xD1B54A32D192ED03ull)};
    gridDim = grid;
    blockDim = block;
    body = &f;
    unsigned threads = block.x * block.y * block.z;
    uint64_t blocks = uint64_t(grid.x) * grid.y * grid.z;
    // Blocks in a random order: b -> (a b + c) mod blocks, a coprime.
    uint64_t a = 1, c = 0;
    if (blocks > 1) {
        do a = rng.next() % blocks; while (a == 0 || gcd(a, blocks) != 1);
        c = rng.next() % blocks;
    }
    std::vector<unsigned> order(threads);
    try {
        for (uint64_t i = 0; i < blocks; ++i) {
            uint64_t b = (a * (i % blocks) + c) % blocks;
            blockIdx = dim3{unsigned(b % grid.x), unsigned(b / grid.x % grid.y),
                            unsigned(b / (uint64_t(grid.x) * grid.y))};
            if (cooperative) {
                new_block();
                run_block_as_fibers(threads);
                continue;
            }
            for (unsigned t = 0; t < threads; ++t) order[t] = t;
            shuffle(order);
            for (unsigned t : order) {
                threadIdx = dim3{t, 0, 0};
                f();
            }
        }
    } catch (Abort&) {
        // fault_code and fault_message say what happened.
    }
    in_fiber = false;
}
}  // namespace emu
