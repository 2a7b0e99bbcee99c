// Dropout with the CPU's counter-based mask (`ops::dropout::keeps`): value
// i is kept when a hash of (seed, i) clears p, so both backends drop the
// same values for the same seed, and no random state lives on the device.

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

extern "C" __global__ void dropout_forward(int n, float p, float scale, unsigned long long seed,
                                           const float* x, float* y, float* mask) {
    FOR_EACH(i, n) {
        unsigned long long h = mix64(seed ^ ((unsigned long long)i * 0x9E3779B97F4A7C15ull));
        float u = (float)(h >> 40) * (1.0f / 16777216.0f);
        float m = u >= p ? scale : 0.0f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

extern "C" __global__ void dropout_backward(int n, const float* mask, const float* dy, float* dx) {
    FOR_EACH(i, n) dx[i] = dy[i] * mask[i];
}
