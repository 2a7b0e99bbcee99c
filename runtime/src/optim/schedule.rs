//! Learning-rate schedules, stepped once per epoch as PyTorch's
//! `lr_scheduler`s usually are.

/// The learning rate for an epoch (counted from 0), given the initial rate.
pub trait LrSchedule: Send + Sync {
    /// The learning rate for `epoch` (from 0), given the optimiser's initial one.
    fn lr(&self, epoch: usize, base_lr: f32) -> f32;
}

/// The initial rate throughout.
#[derive(Debug, Clone, Copy, Default)]
pub struct Constant;

impl LrSchedule for Constant {
    fn lr(&self, _epoch: usize, base_lr: f32) -> f32 {
        base_lr
    }
}

/// Multiply the rate by `gamma` every `step_size` epochs (`StepLR`).
#[derive(Debug, Clone, Copy)]
pub struct StepLr {
    /// Epochs between decays.
    pub step_size: usize,
    /// Factor applied at each decay.
    pub gamma: f32,
}

impl LrSchedule for StepLr {
    fn lr(&self, epoch: usize, base_lr: f32) -> f32 {
        base_lr * self.gamma.powi((epoch / self.step_size.max(1)) as i32)
    }
}

/// Multiply the rate by `gamma` every epoch (`ExponentialLR`).
#[derive(Debug, Clone, Copy)]
pub struct ExponentialLr {
    /// Factor applied every epoch.
    pub gamma: f32,
}

impl LrSchedule for ExponentialLr {
    fn lr(&self, epoch: usize, base_lr: f32) -> f32 {
        base_lr * self.gamma.powi(epoch as i32)
    }
}

/// Cosine annealing from the initial rate down to `eta_min` over `t_max`
/// epochs (`CosineAnnealingLR`, without restarts); `eta_min` after that.
#[derive(Debug, Clone, Copy)]
pub struct CosineAnnealing {
    /// Epochs of one half-cosine, from the initial rate down to `eta_min`.
    pub t_max: usize,
    /// The lowest rate.
    pub eta_min: f32,
}

impl LrSchedule for CosineAnnealing {
    fn lr(&self, epoch: usize, base_lr: f32) -> f32 {
        if epoch >= self.t_max {
            return self.eta_min;
        }
        let progress = epoch as f32 / self.t_max as f32;
        self.eta_min
            + (base_lr - self.eta_min) * 0.5 * (1.0 + (std::f32::consts::PI * progress).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lr_decays_in_steps() {
        let s = StepLr {
            step_size: 2,
            gamma: 0.5,
        };
        let lrs: Vec<f32> = (0..5).map(|e| s.lr(e, 1.0)).collect();
        assert_eq!(lrs, vec![1.0, 1.0, 0.5, 0.5, 0.25]);
    }

    #[test]
    fn cosine_goes_from_base_to_min() {
        let s = CosineAnnealing {
            t_max: 10,
            eta_min: 0.1,
        };
        assert!((s.lr(0, 1.0) - 1.0).abs() < 1e-6);
        assert!((s.lr(5, 1.0) - 0.55).abs() < 1e-6);
        assert!((s.lr(10, 1.0) - 0.1).abs() < 1e-6);
        assert!(s.lr(3, 1.0) > s.lr(4, 1.0));
    }
}
