//! Fused cross-entropy over class indices: log-softmax + NLL (+ label smoothing) per
//! sample from one log-sum-exp pass, and its backward (softmax minus the target
//! distribution, scaled), without materialising log-probabilities.
//!
//! Layout: logits `x` are a contiguous `[n, c, inner]` array (inner = 1 for (N, C)),
//! targets and per-sample results are `[n, inner]`.

use super::math::Capability;
use super::softmax::{exp_scale_rows, logsumexp, softmax_middle, SoftmaxFloat};

/// The problem: sizes, targets and PyTorch's options.
pub struct CrossEntropy<'a, E> {
    pub n: usize,
    pub c: usize,
    pub inner: usize,
    /// `n * inner` class indices.
    pub target: &'a [i64],
    /// `c` class weights, or None for all ones.
    pub weight: Option<&'a [E]>,
    pub ignore_index: i64,
    pub label_smoothing: f64,
}

/// What the forward leaves for the reduction and the backward.
pub struct Forward<E> {
    /// Per-sample log-sum-exp of the logits.
    pub lse: Vec<E>,
    /// Per-sample loss (0 where the target is ignored).
    pub loss: Vec<f64>,
    /// Per-sample target weight `w[t]` (0 where ignored): the `mean` denominator.
    pub wt: Vec<f64>,
}

impl<E: SoftmaxFloat> CrossEntropy<'_, E> {
    fn samples(&self) -> usize {
        self.n * self.inner
    }

    fn w(&self, class: usize) -> f64 {
        self.weight.map_or(1.0, |w| w[class].to_wide())
    }

    /// The first target that is neither ignored nor in `[0, c)`.
    pub fn bad_target(&self) -> Option<i64> {
        let c = self.c as i64;
        self.target
            .iter()
            .copied()
            .find(|&t| t != self.ignore_index && !(0..c).contains(&t))
    }

    /// Class of sample `i`, or None if ignored. Call `bad_target` first.
    fn class(&self, i: usize) -> Option<usize> {
        let t = self.target[i];
        (t != self.ignore_index && t >= 0 && (t as usize) < self.c).then_some(t as usize)
    }

    /// Index of element (sample i, class k) in `x`.
    fn at(&self, i: usize, k: usize) -> usize {
        let (b, pos) = (i / self.inner, i % self.inner);
        (b * self.c + k) * self.inner + pos
    }

    /// Per-sample losses. `x` must hold `n * c * inner` values and every target must
    /// be valid (`bad_target() == None`).
    pub fn forward(&self, cap: Capability, x: &[E]) -> Forward<E> {
        let m = self.samples();
        let mut lse = vec![E::ZERO; m];
        logsumexp(cap, x, &mut lse, (self.n, self.c, self.inner));
        let ls = self.label_smoothing;
        let total_w: f64 = (0..self.c).map(|k| self.w(k)).sum();
        let mut loss = vec![0.0; m];
        let mut wt = vec![0.0; m];
        for i in 0..m {
            let Some(t) = self.class(i) else { continue };
            let l = lse[i].to_wide();
            let w_t = self.w(t);
            let mut v = -(x[self.at(i, t)].to_wide() - l) * w_t;
            if ls > 0.0 {
                // -sum_k w_k log p_k = W lse - sum_k w_k x_k.
                let dot: f64 = (0..self.c)
                    .map(|k| self.w(k) * x[self.at(i, k)].to_wide())
                    .sum();
                v = (1.0 - ls) * v + ls / self.c as f64 * (total_w * l - dot);
            }
            loss[i] = v;
            wt[i] = w_t;
        }
        Forward { lse, loss, wt }
    }

    /// Input gradient given per-sample gradient multipliers `gi` (the output gradient,
    /// already divided by the denominator for `mean`): for a kept sample,
    /// `gi * ((1 - ls) w_t (p_k - [k = t]) + ls / C (p_k W - w_k))`, 0 for ignored ones.
    // The sample loop's `i` also selects the sample's class and row, not only `gi[i]`.
    #[allow(clippy::needless_range_loop)]
    pub fn backward(&self, cap: Capability, x: &[E], lse: &[E], gi: &[f64], out: &mut [E]) {
        let m = self.samples();
        let (c, ls) = (self.c, self.label_smoothing);
        let total_w: f64 = (0..c).map(|k| self.w(k)).sum();
        let smooth = ls / c as f64;
        let scale: Vec<f64> = (0..m)
            .map(|i| match self.class(i) {
                Some(t) => gi[i] * ((1.0 - ls) * self.w(t) + smooth * total_w),
                None => 0.0,
            })
            .collect();
        if self.inner == 1 {
            let sc: Vec<E> = scale.iter().map(|&v| E::from_wide(v)).collect();
            exp_scale_rows(cap, x, lse, &sc, out, c);
        } else {
            // Softmax over the classes (the middle axis, vectorised along the inner
            // positions: one scalar exp per element here took 80% of a (8, 21, 64, 64)
            // backward), then each position's scale along its class rows.
            softmax_middle(cap, x, out, (self.n, c, self.inner), false);
            let inner = self.inner;
            let scale_block = |b: usize, block: &mut [E]| {
                let s = &scale[b * inner..][..inner];
                for row in block.chunks_exact_mut(inner) {
                    for (o, &a) in row.iter_mut().zip(s) {
                        *o = E::from_wide(o.to_wide() * a);
                    }
                }
            };
            if out.len() >= super::GRAIN {
                super::par_chunks_mut(out, c * inner, &scale_block);
            } else {
                out.chunks_exact_mut(c * inner)
                    .enumerate()
                    .for_each(|(b, blk)| scale_block(b, blk));
            }
        }
        for i in 0..m {
            let Some(t) = self.class(i) else { continue };
            let j = self.at(i, t);
            out[j] = E::from_wide(out[j].to_wide() - gi[i] * (1.0 - ls) * self.w(t));
            if ls > 0.0 {
                let g = gi[i] * smooth;
                for k in 0..c {
                    let j = self.at(i, k);
                    out[j] = E::from_wide(out[j].to_wide() - g * self.w(k));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::math::capability;

    #[test]
    fn matches_a_direct_f64_computation() {
        let (n, c, inner) = (3, 5, 2);
        let x: Vec<f64> = (0..n * c * inner)
            .map(|i| ((i * 37) % 11) as f64 * 0.3 - 1.0)
            .collect();
        let target = vec![0, 4, -100, 2, 1, 3];
        let weight = vec![0.5, 1.0, 2.0, 1.5, 0.25];
        let p = CrossEntropy {
            n,
            c,
            inner,
            target: &target,
            weight: Some(&weight),
            ignore_index: -100,
            label_smoothing: 0.2,
        };
        assert_eq!(p.bad_target(), None);
        let f = p.forward(capability(), &x);
        for (i, &t) in target.iter().enumerate().take(n * inner) {
            let (b, pos) = (i / inner, i % inner);
            let xs: Vec<f64> = (0..c).map(|k| x[(b * c + k) * inner + pos]).collect();
            let lse = xs.iter().map(|v| v.exp()).sum::<f64>().ln();
            if t < 0 {
                assert_eq!(f.loss[i], 0.0);
                continue;
            }
            let t = t as usize;
            let nll = -weight[t] * (xs[t] - lse);
            let sm: f64 = -(0..c).map(|k| weight[k] * (xs[k] - lse)).sum::<f64>();
            let want = 0.8 * nll + 0.2 / c as f64 * sm;
            assert!((f.loss[i] - want).abs() < 1e-12);
        }
        let bad = [0, 5];
        let q = CrossEntropy { target: &bad, ..p };
        assert_eq!(q.bad_target(), Some(5));
    }
}
