// Running a kernel's grid on the CPU (see emu.h).
#include "emu.h"

#include <thread>
#include <vector>

thread_local dim3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace emu {
Block* current = nullptr;
std::mutex atomic_lock;

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
                // One OS thread per CUDA thread, with a barrier for the
                // block and one per warp. A thread that returns early
                // drops out of both, as an exited CUDA thread counts as
                // arrived at __syncthreads.
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
                std::vector<std::thread> pool;
                for (unsigned t = 0; t < threads; ++t)
                    pool.emplace_back([&, t] {
                        blockIdx = b;
                        threadIdx = dim3{t, 0, 0};
                        body();
                        state.warp[t >> 5]->arrive_and_drop();
                        all.arrive_and_drop();
                    });
                for (auto& th : pool) th.join();
                for (auto* w : warps) delete w;
                current = nullptr;
            }
}
}  // namespace emu
