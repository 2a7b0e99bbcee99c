// Losses. Each kernel adds its batch's sum into a one-value accumulator on
// the device (one atomic per block or per row), so a training loop reads
// the loss back once per epoch, not once per step. `grad` may be null.
// A class label that cannot index the outputs makes the loss NaN: `fit`
// checks labels before training, and a NaN loss stops it with an error.

extern "C" __global__ void mse(int n, int cols, float scale, const float* pred,
                               const float* target, float* grad, float* sum) {
    float local = 0.0f;
    FOR_EACH(i, n) {
        float d = pred[i] - target[i];
        local += d * d / cols;
        if (grad) grad[i] = scale * d;
    }
    block_accumulate(local, sum);
}

extern "C" __global__ void bce(int n, int cols, float scale, float eps, const float* pred,
                               const float* target, float* grad, float* sum) {
    float local = 0.0f;
    FOR_EACH(i, n) {
        float p = pred[i], t = target[i];
        // Comparisons, not fminf/fmaxf, so a NaN prediction stays NaN.
        float pc = p < eps ? eps : (p > 1.0f - eps ? 1.0f - eps : p);
        local += -(t * logf(pc) + (1.0f - t) * logf(1.0f - pc)) / cols;
        if (grad) grad[i] = scale * (pc - t) / (pc * (1.0f - pc));
    }
    block_accumulate(local, sum);
}

__device__ __forceinline__ int class_of(float label, int classes) {
    return (label >= 0.0f && label == truncf(label) && label < (float)classes) ? (int)label : -1;
}

// Softmax cross-entropy against class indices, one warp per row:
// log-sum-exp minus the class's logit, never exponentiating a large value;
// the gradient is (softmax - one_hot) / rows.
extern "C" __global__ void softmax_cross_entropy(int rows, int cols, float inv_rows,
                                                 const float* pred, const float* target,
                                                 float* grad, float* sum) {
    int lane = threadIdx.x & 31;
    FOR_EACH_ROW_OF_WARP(row, rows) {
        const float* x = pred + (long long)row * cols;
        int cls = class_of(target[row], cols);
        float m = NEG_INF;
        for (int c = lane; c < cols; c += 32) m = fmaxf(m, x[c]);
        m = warp_max(m);
        float s = 0.0f;
        for (int c = lane; c < cols; c += 32) s += expf(x[c] - m);
        s = warp_sum(s);
        if (lane == 0) {
            float nan = __int_as_float(0x7fc00000);
            atomicAdd(sum, cls < 0 ? nan : m + logf(s) - x[cls]);
        }
        if (grad) {
            float* g = grad + (long long)row * cols;
            float inv = 1.0f / s;
            for (int c = lane; c < cols; c += 32)
                g[c] = (expf(x[c] - m) * inv - (c == cls ? 1.0f : 0.0f)) * inv_rows;
        }
    }
}

// Correct predictions: the first largest output equals the class, one
// thread per row (as the CPU's argmax, ties go to the lower index).
extern "C" __global__ void hits_class(int rows, int cols, const float* pred, const float* target,
                                      float* hits) {
    float local = 0.0f;
    FOR_EACH(r, rows) {
        const float* x = pred + (long long)r * cols;
        int best = 0;
        for (int c = 1; c < cols; ++c)
            if (x[c] > x[best]) best = c;
        local += best == class_of(target[r], cols) ? 1.0f : 0.0f;
    }
    block_accumulate(local, hits);
}

// Binary targets: the fraction of a row's outputs on the target's side of
// one half, summed over rows.
extern "C" __global__ void hits_binary(int n, int cols, const float* pred, const float* target,
                                       float* hits) {
    float local = 0.0f;
    FOR_EACH(i, n) local += ((pred[i] >= 0.5f) == (target[i] >= 0.5f)) ? 1.0f / cols : 0.0f;
    block_accumulate(local, hits);
}
