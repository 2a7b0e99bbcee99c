// 2-D convolution by im2col and cuBLAS. The whole batch is unfolded into
// one [patch, batch * out_h * out_w] matrix (patch = in_c * kh * kw), so a
// layer's forward pass is one product W [out_c, patch] x cols, and its
// backward pass two: dW = dY' cols^T and dcols = W^T dY', where dY' is dy
// reordered to [out_c, batch * out_h * out_w].

// cols[row, b * P + p] = the input under kernel position `row` for output
// position p of image b, zero in the padding.
extern "C" __global__ void im2col(Geom g, const float* x, float* cols) {
    int P = g.out_h * g.out_w, NP = g.batch * P, khw = g.kh * g.kw;
    long long n = (long long)g.in_c * khw * NP;
    for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < n;
         idx += (long long)blockDim.x * gridDim.x) {
        int row = (int)(idx / NP), col = (int)(idx % NP);
        int b = col / P, p = col % P;
        int oy = p / g.out_w, ox = p % g.out_w;
        int c = row / khw, i = (row / g.kw) % g.kh, j = row % g.kw;
        int iy = oy * g.sh - g.ph + i, ix = ox * g.sw - g.pw + j;
        float v = 0.0f;
        if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w)
            v = x[(((long long)b * g.in_c + c) * g.in_h + iy) * g.in_w + ix];
        cols[idx] = v;
    }
}

// y[b, oc, p] = prod[oc, b * P + p] + bias[oc] (bias may be null).
extern "C" __global__ void conv_output(Geom g, const float* prod, const float* bias, float* y) {
    int P = g.out_h * g.out_w;
    int n = g.batch * g.out_c * P;
    FOR_EACH(i, n) {
        int p = i % P, oc = (i / P) % g.out_c, b = i / (P * g.out_c);
        float v = prod[((long long)oc * g.batch + b) * P + p];
        y[i] = bias ? v + bias[oc] : v;
    }
}

// dyp[oc, b * P + p] = dy[b, oc, p].
extern "C" __global__ void conv_grad_rows(Geom g, const float* dy, float* dyp) {
    int P = g.out_h * g.out_w;
    int n = g.batch * g.out_c * P;
    FOR_EACH(i, n) {
        int p = i % P, oc = (i / P) % g.out_c, b = i / (P * g.out_c);
        dyp[((long long)oc * g.batch + b) * P + p] = dy[i];
    }
}

// out[r] = sum of row r of a [rows, cols] matrix, one block per row (the
// bias gradient, from dyp).
extern "C" __global__ void row_sums(int cols, const float* a, float* out) {
    __shared__ float scratch[32];
    const float* row = a + (long long)blockIdx.x * cols;
    float s = 0.0f;
    for (int c = threadIdx.x; c < cols; c += blockDim.x) s += row[c];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// dx[b, c, iy, ix] = the sum of dcols over every (kernel position, output
// position) that read input (iy, ix): col2im as a gather, one thread per
// input value, so no two threads write one value and no atomics are needed.
extern "C" __global__ void col2im(Geom g, const float* dcols, float* dx) {
    int P = g.out_h * g.out_w, NP = g.batch * P;
    int n = g.batch * g.in_c * g.in_h * g.in_w;
    FOR_EACH(i, n) {
        int ix = i % g.in_w, iy = (i / g.in_w) % g.in_h;
        int c = (i / (g.in_w * g.in_h)) % g.in_c, b = i / (g.in_w * g.in_h * g.in_c);
        float s = 0.0f;
        for (int ki = 0; ki < g.kh; ++ki) {
            int ty = iy + g.ph - ki;
            if (ty < 0 || ty % g.sh != 0 || ty / g.sh >= g.out_h) continue;
            for (int kj = 0; kj < g.kw; ++kj) {
                int tx = ix + g.pw - kj;
                if (tx < 0 || tx % g.sw != 0 || tx / g.sw >= g.out_w) continue;
                int row = (c * g.kh + ki) * g.kw + kj;
                s += dcols[(long long)row * NP + b * P + (ty / g.sh) * g.out_w + tx / g.sw];
            }
        }
        dx[i] = s;
    }
}
