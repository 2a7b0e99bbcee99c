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

// Each output's gradient goes to the first position of its window
// (row-major) holding the output's value. `dx` is cleared beforehand;
// windows that overlap add atomically.
extern "C" __global__ void max_pool_backward(Geom g, const float* x, const float* y,
                                             const float* dy, float* dx) {
    int n = g.batch * g.in_c * g.out_h * g.out_w;
    FOR_EACH(o, n) {
        int plane, y0, y1, x0, x1;
        window(g, o, &plane, &y0, &y1, &x0, &x1);
        long long base = (long long)plane * g.in_h * g.in_w;
        float best = y[o];
        bool nan = best != best;
        for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix) {
                float v = x[base + iy * g.in_w + ix];
                if (v == best || (nan && v != v)) {
                    atomicAdd(dx + base + iy * g.in_w + ix, dy[o]);
                    iy = y1; // leave both loops
                    break;
                }
            }
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

// Each output's gradient spread evenly over its window; `dx` is cleared
// beforehand.
extern "C" __global__ void avg_pool_backward(Geom g, const float* dy, float* dx) {
    int n = g.batch * g.in_c * g.out_h * g.out_w;
    float scale = 1.0f / (g.kh * g.kw);
    FOR_EACH(o, n) {
        int plane, y0, y1, x0, x1;
        window(g, o, &plane, &y0, &y1, &x0, &x1);
        float* dp = dx + (long long)plane * g.in_h * g.in_w;
        float d = dy[o] * scale;
        for (int iy = y0; iy < y1; ++iy)
            for (int ix = x0; ix < x1; ++ix) atomicAdd(dp + iy * g.in_w + ix, d);
    }
}
