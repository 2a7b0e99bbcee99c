//! The CUDA kernels of [`super`], whose source is `batch_norm.cu` beside this
//! file.

use super::*;

crate::backend::cuda::kernels!("batch_norm");

impl NormGeom {
    /// Batch, channels, spatial and value count as kernel `int`s.
    fn kernel_ints(&self) -> Result<[i32; 4]> {
        use crate::backend::cuda::int;
        Ok([
            int(self.batch)?,
            int(self.channels)?,
            int(self.spatial)?,
            int(self.len())?,
        ])
    }
}

impl BatchNormOp for crate::backend::Cuda {
    fn batch_norm_train(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        y: &mut Self::Buf,
        mean: &mut Self::Buf,
        inv_std: &mut Self::Buf,
        running: Running<'_, Self::Buf>,
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm y", g.len(), y.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm beta", c, beta.len()),
                ("batch_norm running_mean", c, running.mean.len()),
                ("batch_norm running_var", c, running.var.len()),
            ],
        )?;
        too_few_values(g)?;
        self.resize(mean, c)?;
        self.resize(inv_std, c)?;
        let [nb, nc, ns, n] = g.kernel_ints()?;
        let (mp, ip) = (mean.ptr(), inv_std.ptr());
        let args: [&dyn KernelArg; 10] = [
            &nb,
            &nc,
            &ns,
            &eps,
            &running.momentum,
            &x.ptr(),
            &mp,
            &ip,
            &running.mean.ptr(),
            &running.var.ptr(),
        ];
        self.launch(&CUDA, "bn_stats", Grid::per_item(c), &args)?;
        let batch_stats = 0i32;
        let args: [&dyn KernelArg; 11] = [
            &n,
            &nc,
            &ns,
            &batch_stats,
            &eps,
            &x.ptr(),
            &gamma.ptr(),
            &beta.ptr(),
            &mp,
            &ip,
            &y.ptr(),
        ];
        self.launch(&CUDA, "bn_affine", Grid::elements(g.len()), &args)
    }

    fn batch_norm_infer(
        &self,
        g: &NormGeom,
        eps: f32,
        x: &Self::Buf,
        gamma: &Self::Buf,
        beta: &Self::Buf,
        running_mean: &Self::Buf,
        running_var: &Self::Buf,
        y: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm y", g.len(), y.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm beta", c, beta.len()),
                ("batch_norm running_mean", c, running_mean.len()),
                ("batch_norm running_var", c, running_var.len()),
            ],
        )?;
        let [_, nc, ns, n] = g.kernel_ints()?;
        let running = 1i32;
        let args: [&dyn KernelArg; 11] = [
            &n,
            &nc,
            &ns,
            &running,
            &eps,
            &x.ptr(),
            &gamma.ptr(),
            &beta.ptr(),
            &running_mean.ptr(),
            &running_var.ptr(),
            &y.ptr(),
        ];
        self.launch(&CUDA, "bn_affine", Grid::elements(g.len()), &args)
    }

    fn batch_norm_backward(
        &self,
        g: &NormGeom,
        x: &Self::Buf,
        gamma: &Self::Buf,
        stats: Stats<'_, Self::Buf>,
        dy: &Self::Buf,
        dx: &mut Self::Buf,
        dgamma: &mut Self::Buf,
        dbeta: &mut Self::Buf,
    ) -> Result<()> {
        use crate::backend::cuda::{Grid, KernelArg};
        let c = g.channels;
        let (mean, spread, running, eps) = match stats {
            Stats::Batch { mean, inv_std } => (mean, inv_std, 0i32, 0.0f32),
            Stats::Running { mean, var, eps } => (mean, var, 1i32, eps),
        };
        check_on(
            "cuda",
            &[
                ("batch_norm x", g.len(), x.len()),
                ("batch_norm dy", g.len(), dy.len()),
                ("batch_norm dx", g.len(), dx.len()),
                ("batch_norm gamma", c, gamma.len()),
                ("batch_norm mean", c, mean.len()),
                ("batch_norm inv_std or var", c, spread.len()),
                ("batch_norm dgamma", c, dgamma.len()),
                ("batch_norm dbeta", c, dbeta.len()),
            ],
        )?;
        let [nb, nc, ns, n] = g.kernel_ints()?;
        let (xp, dyp, mp, sp) = (x.ptr(), dy.ptr(), mean.ptr(), spread.ptr());
        let (dgp, dbp) = (dgamma.ptr(), dbeta.ptr());
        let args: [&dyn KernelArg; 11] = [
            &nb, &nc, &ns, &running, &eps, &xp, &dyp, &mp, &sp, &dgp, &dbp,
        ];
        self.launch(&CUDA, "bn_param_grads", Grid::per_item(c), &args)?;
        let m = g.count() as f32;
        let args: [&dyn KernelArg; 14] = [
            &n,
            &nc,
            &ns,
            &running,
            &eps,
            &m,
            &xp,
            &dyp,
            &gamma.ptr(),
            &mp,
            &sp,
            &dgp,
            &dbp,
            &dx.ptr(),
        ];
        self.launch(&CUDA, "bn_input_grad", Grid::elements(g.len()), &args)
    }
}
