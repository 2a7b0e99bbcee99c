// 2-D pooling, one thread per output value. Planes are (sample, channel)
// pairs: g.batch * g.in_c of them. Windows are clipped to the image, so
// padding never wins a max and counts as zero in a mean.

__device__ __forceinline__ void window(const Geom& g, int o, int* plane, int* y0, int* y1,
                                       int* x0, int* x1) {
    int ox = o % g.out_w, oy = (o / g.out_w) % g.out_h;
    *plane = o / (g.out_w * g.out_h);
    int ys = oy * g.sh - g.ph, xs = ox * g.sw - g.pw;
    *y0 = max(ys, 0);
    *y1 = min(ys + g.kh, g.in_h);
    *x0 = max(xs, 0);
    *x1 = min(xs + g.kw, g.in_w);
}

extern "C" __global__ void max_pool_forward(Geom g, const float* x, float* y) {
    int n = g.batch * g.in_c * g.out_h * g.out_w;
    FOR_EACH(o, n) {
        int plane, y0, y1, x0, x1;
        window(g, o, &plane, &y0, &y1, &x0, &x1);
        const float* xp = x + (long long)plane * g.in_h * g.in_w;
        float best = NEG_INF;
        for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix) {
                float v = xp[iy * g.in_w + ix];
                // A NaN wins and stays, as in PyTorch and the CPU kernel.
                if (best == best && (v > best || v != v)) best = v;
            }
        y[o] = best;
    }
}

// The outputs whose windows hold input (iy, ix): rows [*oy0, *oy1) and
// columns [*ox0, *ox1). Output oy's window starts at oy * sh - ph and
// holds kh rows, so it holds iy when iy + ph - kh < oy * sh <= iy + ph.
__device__ __forceinline__ void windows_of(const Geom& g, int iy, int ix, int* oy0, int* oy1,
                                           int* ox0, int* ox1) {
    int ry = iy + g.ph, rx = ix + g.pw;
    *oy0 = ry < g.kh ? 0 : (ry - g.kh) / g.sh + 1;
    *oy1 = min(ry / g.sh + 1, g.out_h);
    *ox0 = rx < g.kw ? 0 : (rx - g.kw) / g.sw + 1;
    *ox1 = min(rx / g.sw + 1, g.out_w);
}

// Each output's gradient goes to the first position of its window
// (row-major) holding the output's value, as on the CPU. Written as a
// gather, one thread per input value, like col2im: each input adds the
// gradients of the windows that chose it, in a fixed order, so the result
// is the same on every run and no clearing launch or atomics are needed.
extern "C" __global__ void max_pool_backward(Geom g, const float* x, const float* y,
                                             const float* dy, float* dx) {
    int n = g.batch * g.in_c * g.in_h * g.in_w;
    FOR_EACH(i, n) {
        int ix = i % g.in_w, iy = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
        long long in_base = (long long)plane * g.in_h * g.in_w;
        long long out_base = (long long)plane * g.out_h * g.out_w;
        int oy0, oy1, ox0, ox1;
        windows_of(g, iy, ix, &oy0, &oy1, &ox0, &ox1);
        float sum = 0.0f;
        for (int oy = oy0; oy < oy1; ++oy)
            for (int ox = ox0; ox < ox1; ++ox) {
                int o = oy * g.out_w + ox;
                int p, y0, y1, x0, x1;
                window(g, (int)(out_base + o), &p, &y0, &y1, &x0, &x1);
                // The window's choice: its first position holding the max.
                float best = y[out_base + o];
                bool nan = best != best;
                int chosen = -1;
                for (int wy = y0; wy < y1 && chosen < 0; ++wy)
                    for (int wx = x0; wx < x1; ++wx) {
                        float v = x[in_base + wy * g.in_w + wx];
                        if (v == best || (nan && v != v)) {
                            chosen = wy * g.in_w + wx;
                            break;
                        }
                    }
                if (chosen == iy * g.in_w + ix) sum += dy[out_base + o];
            }
        dx[i] = sum;
    }
}

extern "C" __global__ void avg_pool_forward(Geom g, const float* x, float* y) {
    int n = g.batch * g.in_c * g.out_h * g.out_w;
    float scale = 1.0f / (g.kh * g.kw);
    FOR_EACH(o, n) {
        int plane, y0, y1, x0, x1;
        window(g, o, &plane, &y0, &y1, &x0, &x1);
        const float* xp = x + (long long)plane * g.in_h * g.in_w;
        float s = 0.0f;
        for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix) s += xp[iy * g.in_w + ix];
        y[o] = s * scale;
    }
}

// Each output's gradient spread evenly over its window (padding counted
// in the window's size, as in the forward pass): a gather, one thread per
// input value, adding the windows that hold it in a fixed order.
extern "C" __global__ void avg_pool_backward(Geom g, const float* dy, float* dx) {
    int n = g.batch * g.in_c * g.in_h * g.in_w;
    float scale = 1.0f / (g.kh * g.kw);
    FOR_EACH(i, n) {
        int ix = i % g.in_w, iy = (i / g.in_w) % g.in_h, plane = i / (g.in_w * g.in_h);
        const float* dp = dy + (long long)plane * g.out_h * g.out_w;
        int oy0, oy1, ox0, ox1;
        windows_of(g, iy, ix, &oy0, &oy1, &ox0, &ox1);
        float sum = 0.0f;
        for (int oy = oy0; oy < oy1; ++oy)
            for (int ox = ox0; ox < ox1; ++ox) sum += dp[oy * g.out_w + ox];
        dx[i] = sum * scale;
    }
}
