// Optimiser updates, elementwise, with PyTorch's update rules (the CPU
// twins in optim.rs spell them out). Hyper-parameters that depend on the
// step number (Adam's bias corrections) are folded on the host.

extern "C" __global__ void sgd(int n, float lr, float wd, float* p, const float* g) {
    FOR_EACH(i, n) p[i] -= lr * (g[i] + wd * p[i]);
}

extern "C" __global__ void sgd_momentum(int n, float lr, float momentum, float wd, int nesterov,
                                        float* p, const float* g, float* v) {
    FOR_EACH(i, n) {
        float gi = g[i] + wd * p[i];
        float vi = momentum * v[i] + gi;
        v[i] = vi;
        p[i] -= lr * (nesterov ? gi + momentum * vi : vi);
    }
}

extern "C" __global__ void adam(int n, float step, float inv_sqrt_bc2, float b1, float b2,
                                float eps, float shrink, float l2, float* p, const float* g,
                                float* m, float* v) {
    FOR_EACH(i, n) {
        float gi = g[i] + l2 * p[i];
        float pi = p[i] * shrink;
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
    }
}

extern "C" __global__ void rmsprop(int n, float lr, float alpha, float eps, float wd, float* p,
                                   const float* g, float* sq) {
    FOR_EACH(i, n) {
        float gi = g[i] + wd * p[i];
        float s = alpha * sq[i] + (1.0f - alpha) * gi * gi;
        sq[i] = s;
        p[i] -= lr * gi / (sqrtf(s) + eps);
    }
}

extern "C" __global__ void adagrad(int n, float lr, float eps, float wd, float* p, const float* g,
                                   float* sum) {
    FOR_EACH(i, n) {
        float gi = g[i] + wd * p[i];
        float s = sum[i] + gi * gi;
        sum[i] = s;
        p[i] -= lr * gi / (sqrtf(s) + eps);
    }
}
