//! The four workloads of `benches/workloads.rs` in candle, so that
//! `scripts/compare.py` can time them on the same machine in the same run.
//!
//! Prints one JSON object per line: workload, threads, samples per second
//! and microseconds per batch. Threads come from `RAYON_NUM_THREADS`, which
//! candle's CPU backend reads; the script runs this program once per count.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{conv2d, linear, loss, Conv2d, Conv2dConfig, Linear, Optimizer, VarBuilder, VarMap, SGD};
use std::time::{Duration, Instant};

/// Uniform values in [0, 1) from a fixed-seed generator, the same data on
/// every run.
fn uniform(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn batch(dev: &Device, dims: &[usize]) -> Result<(Tensor, Tensor)> {
    let n = dims[0];
    let len: usize = dims.iter().product();
    let x = Tensor::from_vec(uniform(len, 7), dims, dev)?;
    let y = Tensor::from_vec((0..n as u32).map(|i| i % 10).collect::<Vec<_>>(), n, dev)?;
    Ok((x, y))
}

struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    fn new(widths: &[usize], vb: VarBuilder) -> Result<Self> {
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| linear(w[0], w[1], vb.pp(format!("fc{i}"))))
            .collect::<Result<_>>()?;
        Ok(Mlp { layers })
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.forward(&h)?;
            if i < last {
                h = h.relu()?;
            }
        }
        Ok(h)
    }
}

struct LeNet {
    c1: Conv2d,
    c2: Conv2d,
    f1: Linear,
    f2: Linear,
    f3: Linear,
}

impl LeNet {
    fn new(vb: VarBuilder) -> Result<Self> {
        let pad2 = Conv2dConfig { padding: 2, ..Default::default() };
        Ok(LeNet {
            c1: conv2d(1, 6, 5, pad2, vb.pp("c1"))?,
            c2: conv2d(6, 16, 5, Default::default(), vb.pp("c2"))?,
            f1: linear(400, 120, vb.pp("f1"))?,
            f2: linear(120, 84, vb.pp("f2"))?,
            f3: linear(84, 10, vb.pp("f3"))?,
        })
    }
}

impl Module for LeNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.c1.forward(x)?.relu()?.max_pool2d(2)?;
        let h = self.c2.forward(&h)?.relu()?.max_pool2d(2)?.flatten_from(1)?;
        let h = self.f1.forward(&h)?.relu()?;
        let h = self.f2.forward(&h)?.relu()?;
        self.f3.forward(&h)
    }
}

/// Runs `step` after a warm-up until about `budget` has passed and returns
/// the mean seconds per call.
fn time(budget: Duration, mut step: impl FnMut() -> Result<()>) -> Result<f64> {
    for _ in 0..20 {
        step()?;
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget || calls < 20 {
        step()?;
        calls += 1;
    }
    Ok(start.elapsed().as_secs_f64() / calls as f64)
}

fn report(workload: &str, threads: usize, batch: usize, secs: f64) {
    println!(
        "{{\"workload\":\"{workload}\",\"threads\":{threads},\"samples_per_s\":{:.1},\"us_per_batch\":{:.2}}}",
        batch as f64 / secs,
        secs * 1e6
    );
}

fn train<M: Module>(
    name: &str,
    threads: usize,
    dims: &[usize],
    make: impl Fn(VarBuilder) -> Result<M>,
) -> Result<()> {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = make(VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    let mut opt = SGD::new(varmap.all_vars(), 0.05)?;
    let (x, y) = batch(&dev, dims)?;
    let secs = time(Duration::from_secs(3), || {
        let loss = loss::cross_entropy(&net.forward(&x)?, &y)?;
        opt.backward_step(&loss)
    })?;
    report(name, threads, dims[0], secs);
    Ok(())
}

fn infer(threads: usize, batch_size: usize) -> Result<()> {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let net = Mlp::new(&[784, 128, 10], VarBuilder::from_varmap(&varmap, DType::F32, &dev))?;
    let (x, _) = batch(&dev, &[batch_size, 784])?;
    let secs = time(Duration::from_secs(2), || net.forward(&x).map(drop))?;
    report(&format!("W4_b{batch_size}"), threads, batch_size, secs);
    Ok(())
}

fn main() -> Result<()> {
    let threads = candle_core::utils::get_num_threads();
    let only = std::env::args().nth(1);
    let want = |w: &str| only.as_deref().is_none_or(|o| w.starts_with(o));
    if want("W1") {
        train("W1", threads, &[64, 784], |vb| Mlp::new(&[784, 128, 10], vb))?;
    }
    if want("W2") {
        train("W2", threads, &[128, 784], |vb| Mlp::new(&[784, 1000, 500, 250, 10], vb))?;
    }
    if want("W3") {
        train("W3", threads, &[64, 1, 28, 28], LeNet::new)?;
    }
    if want("W4") {
        infer(threads, 1)?;
        infer(threads, 256)?;
    }
    Ok(())
}
