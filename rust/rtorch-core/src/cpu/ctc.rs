//! CTC loss: the forward (alpha) recursion over the extended label sequence (blank,
//! l1, blank, l2, ..., blank) in log space, and the gradient from the backward (beta)
//! recursion, PyTorch's formulas. One task per batch element; float64 throughout (the
//! caller converts), so that a float32 loss is rounded once. Each time step is one pass
//! over the row of positions, vectorised (libm's `exp` and `log1p` per term were most
//! of the time).

use super::math::{
    at_widest_level, exp_f64, exp_f64_slice, exp_f64_slice_inplace, ln_f64_positive,
};
use super::{par_chunks_mut, par_chunks_mut2_by};

const NEG_INF: f64 = f64::NEG_INFINITY;

/// log(e^a + e^b + e^c) by the largest term, branch-free (loops over a row vectorise):
/// -inf for three -infs, NaN for any NaN.
#[inline(always)]
fn log_sum3(a: f64, b: f64, c: f64) -> f64 {
    let m = a.max(b).max(c);
    let sum = exp_f64(a - m) + exp_f64(b - m) + exp_f64(c - m);
    // (1 <= sum <= 3 for a finite m: a normal positive number, as `ln_f64_positive` asks.)
    let v = m + ln_f64_positive(sum);
    if a.is_nan() || b.is_nan() || c.is_nan() {
        f64::NAN
    } else if m.is_finite() {
        v
    } else {
        m
    }
}

/// `out[i] = log_sum3(a[i], b[i], c[i] or -inf where not use_c[i]) + emit[i]`: one time
/// step of either recursion, the sources lined up by the caller.
fn step_row((a, b, c): (&[f64], &[f64], &[f64]), use_c: &[bool], emit: &[f64], out: &mut [f64]) {
    at_widest_level(
        #[inline(always)]
        || {
            let terms = a.iter().zip(b).zip(c.iter().zip(use_c));
            for ((o, &e), ((&a, &b), (&c, &u))) in out.iter_mut().zip(emit).zip(terms) {
                *o = log_sum3(a, b, if u { c } else { NEG_INF }) + e;
            }
        },
    )
}

/// A batch of CTC problems, checked by the caller: every length within its bound,
/// every target and `blank` below `classes`.
pub struct Ctc<'a> {
    /// Log-probabilities, (T, N, C) contiguous.
    pub log_probs: &'a [f64],
    /// (T, N, C).
    pub dims: (usize, usize, usize),
    /// Padded targets, (N, S) contiguous.
    pub targets: &'a [i64],
    /// S.
    pub max_target: usize,
    pub input_lengths: &'a [usize],
    pub target_lengths: &'a [usize],
    pub blank: usize,
}

impl Ctc<'_> {
    /// Length of an alpha row: 2 S + 1.
    pub fn width(&self) -> usize {
        2 * self.max_target + 1
    }

    /// Label `s` of element `n`'s extended sequence.
    #[inline]
    fn label(&self, n: usize, s: usize) -> usize {
        if s.is_multiple_of(2) {
            self.blank
        } else {
            self.targets[n * self.max_target + s / 2] as usize
        }
    }

    /// log p(class c at time t) of element n.
    #[inline]
    fn lp(&self, t: usize, n: usize, c: usize) -> f64 {
        let (_, batch, classes) = self.dims;
        self.log_probs[(t * batch + n) * classes + c]
    }

    /// Element `n`'s extended labels and, for each position, whether it may be
    /// reached from two places back (skipping a blank: a label unlike the one there).
    fn sequence(&self, n: usize) -> (Vec<usize>, Vec<bool>) {
        let w = 2 * self.target_lengths[n] + 1;
        let ext: Vec<usize> = (0..w).map(|s| self.label(n, s)).collect();
        let skip = (0..w)
            .map(|s| s >= 2 && s % 2 == 1 && ext[s] != ext[s - 2])
            .collect();
        (ext, skip)
    }

    /// `e[s] = lp(t, n, ext[s])`.
    fn emissions(&self, t: usize, n: usize, ext: &[usize], e: &mut [f64]) {
        for (e, &c) in e.iter_mut().zip(ext) {
            *e = self.lp(t, n, c);
        }
    }

    /// Element `n`'s negative log-likelihood, its alphas in `alpha` (T rows of
    /// `width()`; rows from its input length on, and positions past its sequence, stay
    /// -inf).
    fn forward_one(&self, n: usize, alpha: &mut [f64]) -> f64 {
        let steps = self.input_lengths[n];
        let (ext, skip) = self.sequence(n);
        let (row, w) = (self.width(), ext.len());
        alpha.fill(NEG_INF);
        if steps == 0 {
            // An empty input explains only an empty target.
            return if w == 1 { 0.0 } else { f64::INFINITY };
        }
        let mut e = vec![0.0; w];
        self.emissions(0, n, &ext, &mut e);
        let first = w.min(2);
        alpha[..first].copy_from_slice(&e[..first]);
        for t in 1..steps {
            self.emissions(t, n, &ext, &mut e);
            let (before, now) = alpha.split_at_mut(t * row);
            let (prev, now) = (&before[(t - 1) * row..][..w], &mut now[..w]);
            now[0] = prev[0] + e[0];
            if w > 1 {
                now[1] = log_sum3(prev[1], prev[0], NEG_INF) + e[1];
            }
            if w > 2 {
                let sources = (&prev[2..], &prev[1..w - 1], &prev[..w - 2]);
                step_row(sources, &skip[2..], &e[2..], &mut now[2..]);
            }
        }
        let last = &alpha[(steps - 1) * row..][..w];
        let end_label = if w > 1 { last[w - 2] } else { NEG_INF };
        -log_sum3(last[w - 1], end_label, NEG_INF)
    }

    /// Every element's negative log-likelihood into `nll` (N), its alphas into `alpha`
    /// (N, T, width()).
    pub fn forward(&self, nll: &mut [f64], alpha: &mut [f64]) {
        let per = self.dims.0 * self.width();
        par_chunks_mut2_by((alpha, per), (nll, 1), &|n, a, l| {
            l[0] = self.forward_one(n, a);
        });
    }

    /// Element `n`'s gradient rows (T, C) for upstream gradient `g`:
    /// `(e^lp - e^(lcab + nll - lp)) g`, lcab the log of the summed alpha beta of the
    /// positions labelled with that class (PyTorch's formula: the gradient through a
    /// log_softmax that produced the log-probabilities, folded in); zero from the input
    /// length on, and everywhere for an infinite loss under `zero_infinity`.
    fn backward_one(&self, n: usize, (g, nll): (f64, f64), alpha: &[f64], out: &mut [f64]) {
        let steps = self.input_lengths[n];
        let (_, batch, classes) = self.dims;
        let (ext, skip) = self.sequence(n);
        let (row, w) = (self.width(), ext.len());
        out.fill(0.0);
        if steps == 0 {
            return;
        }
        let mut beta = vec![NEG_INF; steps * w];
        let mut e = vec![0.0; w];
        let end = (steps - 1) * w;
        self.emissions(steps - 1, n, &ext, &mut e);
        let from = w.saturating_sub(2);
        beta[end + from..end + w].copy_from_slice(&e[from..]);
        for t in (0..steps - 1).rev() {
            self.emissions(t, n, &ext, &mut e);
            let (now, after) = beta.split_at_mut((t + 1) * w);
            let (now, next) = (&mut now[t * w..], &after[..w]);
            now[w - 1] = next[w - 1] + e[w - 1];
            if w > 1 {
                now[w - 2] = log_sum3(next[w - 2], next[w - 1], NEG_INF) + e[w - 2];
            }
            if w > 2 {
                let sources = (&next[..w - 2], &next[1..w - 1], &next[2..]);
                step_row(sources, &skip[2..], &e[..w - 2], &mut now[..w - 2]);
            }
        }
        // e^(lcab + nll - lp) for class c is the sum over the positions labelled c of
        // e^(alpha + beta + nll - lp): each term a posterior (at most 1), summed directly.
        let mut posterior = vec![0.0; w];
        let mut occupancy = vec![0.0; classes];
        for (t, grad) in out.chunks_exact_mut(classes).take(steps).enumerate() {
            self.emissions(t, n, &ext, &mut e);
            let (a, b) = (&alpha[t * row..][..w], &beta[t * w..][..w]);
            for (p, ((&a, &b), &e)) in posterior.iter_mut().zip(a.iter().zip(b).zip(&e)) {
                *p = a + b + nll - e;
            }
            exp_f64_slice_inplace(&mut posterior);
            occupancy.fill(0.0);
            for (&c, &p) in ext.iter().zip(&posterior) {
                occupancy[c] += p;
            }
            let lp = &self.log_probs[(t * batch + n) * classes..][..classes];
            exp_f64_slice(lp, grad);
            for (o, &q) in grad.iter_mut().zip(&occupancy) {
                *o = (*o - q) * g;
            }
        }
    }

    /// The gradient of the log-probabilities into `grad`, laid out (N, T, C), from the
    /// upstream gradients `g` (N), the losses and alphas of `forward`.
    pub fn backward(
        &self,
        (g, nll, alpha): (&[f64], &[f64], &[f64]),
        zero_infinity: bool,
        grad: &mut [f64],
    ) {
        let (steps, _, classes) = self.dims;
        let per = steps * self.width();
        par_chunks_mut(grad, steps * classes, &|n, out| {
            if zero_infinity && nll[n] == f64::INFINITY {
                out.fill(0.0);
                return;
            }
            let alpha = &alpha[n * per..(n + 1) * per];
            self.backward_one(n, (g[n], nll[n]), alpha, out);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss by brute force: every alignment of `t` frames (collapse repeats, drop
    /// blanks) that gives `target`, probabilities summed.
    fn brute_force(lp: &[Vec<f64>], target: &[usize], blank: usize) -> f64 {
        let (t, c) = (lp.len(), lp[0].len());
        let mut total = 0.0;
        for code in 0..c.pow(t as u32) {
            let path: Vec<usize> = (0..t).map(|i| code / c.pow(i as u32) % c).collect();
            let mut out = vec![];
            for (i, &k) in path.iter().enumerate() {
                if k != blank && (i == 0 || path[i - 1] != k) {
                    out.push(k);
                }
            }
            if out == target {
                total += path
                    .iter()
                    .enumerate()
                    .map(|(i, &k)| lp[i][k].exp())
                    .product::<f64>();
            }
        }
        -total.ln()
    }

    /// Forward against brute force; backward against finite differences of the loss
    /// through a log_softmax (the gradient PyTorch's formula gives for the logits).
    #[test]
    fn ctc_matches_brute_force_and_finite_differences() {
        let (steps, classes) = (5, 3);
        let logits: Vec<f64> = (0..steps * 2 * classes)
            .map(|i| ((i * 7 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let log_softmax = |z: &[f64]| -> Vec<f64> {
            z.chunks(classes)
                .flat_map(|r| {
                    let m = r.iter().fold(NEG_INF, |a, &b| a.max(b));
                    let s = r.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
                    r.iter().map(move |v| v - m - s)
                })
                .collect()
        };
        // Element 0: target [1, 1] over 5 frames; element 1: [2] over 4 frames.
        let targets = [1i64, 1, 2, 0];
        let (in_lens, tgt_lens) = ([5usize, 4], [2usize, 1]);
        let run = |z: &[f64]| {
            let lp = log_softmax(z);
            let ctc = Ctc {
                log_probs: &lp,
                dims: (steps, 2, classes),
                targets: &targets,
                max_target: 2,
                input_lengths: &in_lens,
                target_lengths: &tgt_lens,
                blank: 0,
            };
            let (mut nll, mut alpha) = (vec![0.0; 2], vec![0.0; 2 * steps * ctc.width()]);
            ctc.forward(&mut nll, &mut alpha);
            let mut grad = vec![0.0; 2 * steps * classes];
            ctc.backward((&[1.0, 1.0], &nll, &alpha), false, &mut grad);
            (lp, nll, grad)
        };
        let (lp, nll, grad) = run(&logits);
        for (n, target) in [(0, vec![1, 1]), (1, vec![2])] {
            let rows: Vec<Vec<f64>> = (0..in_lens[n])
                .map(|t| lp[(t * 2 + n) * classes..][..classes].to_vec())
                .collect();
            let want = brute_force(&rows, &target, 0);
            assert!(
                (nll[n] - want).abs() < 1e-12 * want.abs(),
                "{} vs {want}",
                nll[n]
            );
        }
        let h = 1e-6;
        for i in 0..logits.len() {
            let (t, n, c) = (i / (2 * classes), i / classes % 2, i % classes);
            let (mut up, mut down) = (logits.clone(), logits.clone());
            up[i] += h;
            down[i] -= h;
            let fd = (run(&up).1[n] - run(&down).1[n]) / (2.0 * h);
            // `grad` is laid out (N, T, C); the log_softmax's backward of a gradient
            // with e^lp folded in is the gradient itself minus e^lp times its row sum,
            // and PyTorch's rows sum to zero, so it passes unchanged.
            let got = grad[(n * steps + t) * classes + c];
            assert!((got - fd).abs() < 1e-6, "t{t} n{n} c{c}: {got} vs {fd}");
        }
    }
}
