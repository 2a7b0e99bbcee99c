// Batch normalisation over [batch, channels, spatial] data. Statistics are
// one block per channel, summed in double as the CPU does, so a large
// batch loses nothing to cancellation; the affine maps are one thread per
// value. With `running` set, `spread` is the running variance (inference,
// or the backward pass of a network trained in inference mode); otherwise
// it is the batch's 1 / sqrt(var + eps).

__device__ __forceinline__ float channel_value(const float* a, int c,
                                               int channels, int spatial, int k) {
    int nb = k / spatial, s = k % spatial;
    return a[((long long)nb * channels + c) * spatial + s];
}

extern "C" __global__ void bn_stats(int batch, int channels, int spatial, float eps,
                                    float momentum, const float* x, float* mean, float* inv_std,
                                    float* running_mean, float* running_var) {
    __shared__ double scratch[32];
    int c = blockIdx.x, m = batch * spatial;
    double s = 0.0;
    for (int k = threadIdx.x; k < m; k += blockDim.x)
        s += channel_value(x, c, channels, spatial, k);
    double mu = block_sum_d(s, scratch) / m;
    float mu32 = (float)mu;
    double q = 0.0;
    for (int k = threadIdx.x; k < m; k += blockDim.x) {
        float d = channel_value(x, c, channels, spatial, k) - mu32;
        q += (double)(d * d);
    }
    double var = block_sum_d(q, scratch) / m;
    if (threadIdx.x == 0) {
        mean[c] = mu32;
        inv_std[c] = (float)(1.0 / sqrt(var + (double)eps));
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mu32;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)(var * m / (m - 1));
    }
}

__device__ __forceinline__ float inv_spread(int running, float spread, float eps) {
    return running ? 1.0f / sqrtf(spread + eps) : spread;
}

extern "C" __global__ void bn_affine(int n, int channels, int spatial, int running, float eps,
                                     const float* x, const float* gamma, const float* beta,
                                     const float* mean, const float* spread, float* y) {
    FOR_EACH(i, n) {
        int c = (i / spatial) % channels;
        float a = gamma[c] * inv_spread(running, spread[c], eps);
        y[i] = x[i] * a + (beta[c] - mean[c] * a);
    }
}

// dbeta = sum dy, dgamma = sum dy * xhat, per channel.
extern "C" __global__ void bn_param_grads(int batch, int channels, int spatial, int running,
                                          float eps, const float* x, const float* dy,
                                          const float* mean, const float* spread, float* dgamma,
                                          float* dbeta) {
    __shared__ double scratch[32];
    int c = blockIdx.x, m = batch * spatial;
    float mu = mean[c];
    double sb = 0.0, sg = 0.0;
    for (int k = threadIdx.x; k < m; k += blockDim.x) {
        float d = channel_value(dy, c, channels, spatial, k);
        sb += d;
        sg += (double)(d * (channel_value(x, c, channels, spatial, k) - mu));
    }
    sb = block_sum_d(sb, scratch);
    sg = block_sum_d(sg, scratch);
    if (threadIdx.x == 0) {
        dgamma[c] = (float)(sg * inv_spread(running, spread[c], eps));
        dbeta[c] = (float)sb;
    }
}

// Batch statistics: dx = gamma * inv_std / m * (m dy - dbeta - xhat dgamma).
// Running ones: dx = gamma * inv_std * dy.
extern "C" __global__ void bn_input_grad(int n, int channels, int spatial, int running, float eps,
                                         float m, const float* x, const float* dy,
                                         const float* gamma, const float* mean,
                                         const float* spread, const float* dgamma,
                                         const float* dbeta, float* dx) {
    FOR_EACH(i, n) {
        int c = (i / spatial) % channels;
        float is = inv_spread(running, spread[c], eps);
        if (running) {
            dx[i] = gamma[c] * is * dy[i];
        } else {
            float xhat = (x[i] - mean[c]) * is;
            dx[i] = gamma[c] * is / m * (m * dy[i] - dbeta[c] - xhat * dgamma[c]);
        }
    }
}
