// Row-wise softmax, one warp per row: lanes stride over the columns, so a
// row of any width is read once per pass and neighbouring lanes read
// neighbouring values.

extern "C" __global__ void softmax_forward(int rows, int cols, const float* x, float* y) {
    int lane = threadIdx.x & 31;
    FOR_EACH_ROW_OF_WARP(row, rows) {
        const float* xr = x + (long long)row * cols;
        float* yr = y + (long long)row * cols;
        float m = NEG_INF;
        for (int c = lane; c < cols; c += 32) m = fmaxf(m, xr[c]);
        m = warp_max(m);
        float s = 0.0f;
        for (int c = lane; c < cols; c += 32) {
            float e = expf(xr[c] - m);
            yr[c] = e;
            s += e;
        }
        float inv = 1.0f / warp_sum(s);
        for (int c = lane; c < cols; c += 32) yr[c] *= inv;
    }
}

// dx = y * (dy - <dy, y>), row by row.
extern "C" __global__ void softmax_backward(int rows, int cols, const float* y, const float* dy,
                                            float* dx) {
    int lane = threadIdx.x & 31;
    FOR_EACH_ROW_OF_WARP(row, rows) {
        long long base = (long long)row * cols;
        float dot = 0.0f;
        for (int c = lane; c < cols; c += 32) dot += y[base + c] * dy[base + c];
        dot = warp_sum(dot);
        for (int c = lane; c < cols; c += 32) dx[base + c] = y[base + c] * (dy[base + c] - dot);
    }
}
