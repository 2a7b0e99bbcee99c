// Running a kernel's grid on the CPU (see emu.h).
#include "emu.h"

#include <thread>
#include <vector>

thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace emu {
Block* current = nullptr;
std::mutex atomic_lock;

// Threads that run a cooperative kernel's blocks, one per CUDA thread of a
// block: started once per block size and kept (spawning 256 threads per
// block made the GPU tests ten times slower).
struct Workers {
    unsigned n;
    std::barrier<> start, done;
    dim3 block;
    const std::function<void()>* body = nullptr;
    Block* state = nullptr;

    explicit Workers(unsigned n) : n(n), start(n + 1), done(n + 1) {
        for (unsigned t = 0; t < n; ++t)
            std::thread([this, t] {
                for (;;) {
                    start.arrive_and_wait();
                    blockIdx = block;
                    threadIdx = dim3{t, 0, 0};
                    (*body)();
                    state->warp[t >> 5]->arrive_and_drop();
                    state->block->arrive_and_drop();
                    done.arrive_and_wait();
                }
            }).detach();
    }

    // Workers live until the process exits, blocked between blocks.
    static Workers& of(unsigned n) {
        static std::vector<Workers*> pools;
        for (auto* w : pools)
            if (w->n == n) return *w;
        pools.push_back(new Workers(n));
        return *pools.back();
    }

    void run(dim3 b, const std::function<void()>& f, Block& s) {
        block = b;
        body = &f;
        state = &s;
        start.arrive_and_wait();
        done.arrive_and_wait();
    }
};

// Kernels run one at a time, from whichever thread launches them: the grid
// dimensions and the block being run are process-wide.
static std::mutex one_launch;

void run(dim3 grid, dim3 block, bool cooperative, const std::function<void()>& body) {
    std::lock_guard<std::mutex> only(one_launch);
    gridDim = grid;
    blockDim = block;
    unsigned threads = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                dim3 b{bx, by, bz};
                if (!cooperative) {
                    blockIdx = b;
                    for (unsigned t = 0; t < threads; ++t) {
                        threadIdx = dim3{t, 0, 0};
                        body();
                    }
                    continue;
                }
                // One OS thread per CUDA thread (kept from block to block),
                // with a barrier for the block and one per warp. A thread
                // that returns early drops out of both, as an exited CUDA
                // thread counts as arrived at __syncthreads.
                Block state;
                std::barrier<> all(threads);
                std::vector<std::barrier<>*> warps;
                for (unsigned w = 0; w < (threads + 31) / 32; ++w) {
                    unsigned size = std::min(32u, threads - w * 32);
                    warps.push_back(new std::barrier<>(size));
                    state.warp[w] = warps.back();
                }
                state.block = &all;
                current = &state;
                Workers::of(threads).run(b, body, state);
                for (auto* w : warps) delete w;
                current = nullptr;
            }
}
}  // namespace emu
