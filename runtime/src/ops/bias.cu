// y[r, c] += bias[c] for a row-major [rows, cols] matrix.
extern "C" __global__ void add_bias(int rows, int cols, const float* bias, float* y) {
    int n = rows * cols;
    FOR_EACH(i, n) y[i] += bias[i % cols];
}

// db[c] = sum over r of dy[r, c]: one thread per column, so that a warp
// reads 32 neighbouring values of each row.
extern "C" __global__ void bias_grad(int rows, int cols, const float* dy, float* db) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    float s = 0.0f;
    for (int r = 0; r < rows; ++r) s += dy[(long long)r * cols + c];
    db[c] = s;
}
