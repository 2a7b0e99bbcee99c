// Activations, by the codes of `Activation::cuda_code`: 0 Step, 1 Sigmoid,
// 2 Tanh, 3 Relu, 4 LeakyRelu (with `slope`), 5 Identity.

__device__ __forceinline__ float act_apply(int kind, float slope, float x) {
    switch (kind) {
    case 0: return x > 0.0f ? 1.0f : 0.0f;
    case 1: {
        // Never exponentiates a large positive value, as the CPU's sigmoid.
        float e = expf(-fabsf(x));
        return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
    case 2: return tanhf(x);
    case 3: return fmaxf(x, 0.0f);
    case 4: return x > 0.0f ? x : slope * x;
    default: return x;
    }
}

__device__ __forceinline__ float act_derivative(int kind, float slope, float x, float y) {
    switch (kind) {
    case 0: return 0.0f;
    case 1: return y * (1.0f - y);
    case 2: return 1.0f - y * y;
    case 3: return x > 0.0f ? 1.0f : 0.0f;
    case 4: return x > 0.0f ? 1.0f : slope;
    default: return 1.0f;
    }
}

extern "C" __global__ void activation_forward(int kind, float slope, int n, const float* x, float* y) {
    FOR_EACH(i, n) y[i] = act_apply(kind, slope, x[i]);
}

extern "C" __global__ void activation_backward(int kind, float slope, int n, const float* x,
                                               const float* y, const float* dy, float* dx) {
    FOR_EACH(i, n) dx[i] = act_derivative(kind, slope, x[i], y[i]) * dy[i];
}
