//! Reflect, replicate and circular padding of the last one to three dims, and its
//! gradient. The tensor is viewed as `(outer, D, H, W)` (absent dims of size 1) and each
//! padded axis has an [`AxisMap`]: the input index every output index reads. An output
//! row is its source row's middle copied in one run and its borders gathered; the
//! gradient of an input row adds up, in output order, the rows that read it, each
//! folded back through the last axis's map. Every gradient row is written by one task,
//! so the result does not depend on the thread count.

use super::copy_run::copy_run;
use super::GRAIN;

/// How an axis is padded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PadMode {
    Reflect,
    Replicate,
    Circular,
}

/// Where each output index along one axis reads from.
#[derive(Clone, Debug)]
pub struct AxisMap {
    /// The input index read by each output index.
    src: Vec<usize>,
    /// Output indices `direct.0..direct.1` read consecutive inputs from `src[direct.0]`.
    direct: (usize, usize),
    n_in: usize,
}

impl AxisMap {
    /// The map of an axis of `n_in >= 1` values padded by `left` and `right` (negative
    /// amounts crop). `None` where an index would leave the input: reflect padding of
    /// `n_in` or more, circular padding of more than `n_in`, or no output at all.
    pub fn new(n_in: usize, left: i64, right: i64, mode: PadMode) -> Option<AxisMap> {
        let n = i64::try_from(n_in).ok().filter(|&n| n >= 1)?;
        let n_out = n.checked_add(left)?.checked_add(right)?;
        if n_out <= 0 {
            return None;
        }
        // Circular padding crops first and wraps around what is left (PyTorch's
        // order): `kept` values from `cropped`, each side padded at most once around.
        let cropped = 0i64.saturating_sub(left).max(0);
        let kept = n - cropped - 0i64.saturating_sub(right).max(0);
        let fits = match mode {
            PadMode::Reflect => left < n && right < n,
            PadMode::Replicate => true,
            PadMode::Circular => kept >= 1 && left <= kept && right <= kept,
        };
        if !fits {
            return None;
        }
        let mut src = Vec::new();
        src.try_reserve_exact(n_out as usize).ok()?;
        src.extend((0..n_out).map(|o| {
            let i = o - left;
            let s = match mode {
                PadMode::Reflect if i < 0 => -i,
                PadMode::Reflect if i >= n => 2 * (n - 1) - i,
                PadMode::Replicate => i.clamp(0, n - 1),
                PadMode::Circular => cropped + (i - cropped).rem_euclid(kept),
                PadMode::Reflect => i,
            };
            s as usize
        }));
        let start = left.clamp(0, n_out);
        let end = (left + n).clamp(start, n_out);
        Some(AxisMap {
            src,
            direct: (start as usize, end as usize),
            n_in,
        })
    }

    /// An unpadded axis of one value (the absent dims of the 1-D and 2-D cases).
    pub fn unit() -> AxisMap {
        AxisMap {
            src: vec![0],
            direct: (0, 1),
            n_in: 1,
        }
    }

    pub fn n_out(&self) -> usize {
        self.src.len()
    }

    /// For each input index, the output indices that read it, ascending: `(starts,
    /// outputs)` with input `i`'s outputs at `outputs[starts[i]..starts[i + 1]]`.
    fn inverse(&self) -> (Vec<usize>, Vec<usize>) {
        let mut starts = vec![0usize; self.n_in + 1];
        for &s in &self.src {
            starts[s + 1] += 1;
        }
        for i in 0..self.n_in {
            starts[i + 1] += starts[i];
        }
        let mut next = starts.clone();
        let mut outputs = vec![0usize; self.src.len()];
        for (o, &s) in self.src.iter().enumerate() {
            outputs[next[s]] = o;
            next[s] += 1;
        }
        (starts, outputs)
    }
}

/// `(outer, D, H, W)` maps of a padded tensor: `[depth, height, width]`.
pub type Maps = [AxisMap; 3];

/// Rows of `len` values per task, about `GRAIN` values in all.
fn rows_per_task(len: usize) -> usize {
    (GRAIN / len.max(1)).max(1)
}

/// Runs `body(first_row, rows)` over `out` cut in rows of `len`, in parallel above
/// `GRAIN` values.
fn over_rows<T: Send>(out: &mut [T], len: usize, body: &(impl Fn(usize, &mut [T]) + Sync)) {
    let per = rows_per_task(len);
    if out.len() < GRAIN {
        body(0, out);
    } else {
        super::par_chunks_mut(out, per * len, &|c, chunk| body(c * per, chunk));
    }
}

/// `out[s, d, h, w] = x[s, md[d], mh[h], mw[w]]` for `x` of `outer` contiguous
/// `(D, H, W)` blocks of elements of `size` bytes (any dtype: values are only moved,
/// as bytes, so one copy of this code serves them all).
pub fn pad_forward(x: &[u8], out: &mut [u8], size: usize, maps: &Maps) {
    let [md, mh, mw] = maps;
    let (d_in, h_in, w_in) = (md.n_in, mh.n_in, mw.n_in);
    let (d_out, h_out, w_out) = (md.n_out(), mh.n_out(), mw.n_out());
    let (a, b) = mw.direct;
    let (row_in, row_out) = (w_in * size, w_out * size);
    over_rows(out, row_out, &|first, rows| {
        for (k, o) in rows.chunks_mut(row_out).enumerate() {
            let r = first + k;
            let (s, d, h) = (r / (d_out * h_out), r / h_out % d_out, r % h_out);
            let at = ((s * d_in + md.src[d]) * h_in + mh.src[h]) * row_in;
            let row = &x[at..at + row_in];
            // The borders element by element (a few per row), the middle in one run.
            for (j, &i) in mw
                .src
                .iter()
                .enumerate()
                .take(a)
                .chain(mw.src.iter().enumerate().skip(b))
            {
                o[j * size..(j + 1) * size].copy_from_slice(&row[i * size..(i + 1) * size]);
            }
            if a < b {
                let from = &row[mw.src[a] * size..(mw.src[a] + b - a) * size];
                let to = &mut o[a * size..b * size];
                // SAFETY: `from` and `to` are slices of the same length in different
                // buffers (the input and the fresh output).
                unsafe { copy_run(to.as_mut_ptr(), from.as_ptr(), to.len()) };
            }
        }
    });
}

/// The gradient of `pad_forward`: `gx[s, i, j, k]` is the sum of `g` over the output
/// positions that read it, added in output order.
pub fn pad_backward<T>(g: &[T], gx: &mut [T], maps: &Maps)
where
    T: Copy + Default + Send + Sync + std::ops::Add<Output = T>,
{
    let [md, mh, mw] = maps;
    let (d_in, h_in, w_in) = (md.n_in, mh.n_in, mw.n_in);
    let (d_out, h_out, w_out) = (md.n_out(), mh.n_out(), mw.n_out());
    let ((ds, dv), (hs, hv)) = (md.inverse(), mh.inverse());
    let (a, b) = mw.direct;
    over_rows(gx, w_in, &|first, rows| {
        for (k, o) in rows.chunks_mut(w_in).enumerate() {
            let r = first + k;
            let (s, i, j) = (r / (d_in * h_in), r / h_in % d_in, r % h_in);
            o.fill(T::default());
            for &d in &dv[ds[i]..ds[i + 1]] {
                for &h in &hv[hs[j]..hs[j + 1]] {
                    let at = ((s * d_out + d) * h_out + h) * w_out;
                    let row = &g[at..at + w_out];
                    if a < b {
                        let to = &mut o[mw.src[a]..mw.src[a] + (b - a)];
                        for (v, &gv) in to.iter_mut().zip(&row[a..b]) {
                            *v = *v + gv;
                        }
                    }
                    for (&gv, &i) in row[..a].iter().zip(&mw.src[..a]) {
                        o[i] = o[i] + gv;
                    }
                    for (&gv, &i) in row[b..].iter().zip(&mw.src[b..]) {
                        o[i] = o[i] + gv;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference map: numpy's `pad` modes written out per index, negative amounts
    /// cropping the output (reflect, replicate) or, for circular, the input first.
    fn reference(n: i64, left: i64, right: i64, mode: PadMode) -> Vec<usize> {
        if mode == PadMode::Circular {
            let (c0, c1) = ((-left).max(0), (-right).max(0));
            let kept: Vec<i64> = (c0..n - c1).collect();
            let m = kept.len() as i64;
            return (-left.max(0)..m + right.max(0))
                .map(|i| kept[(((i % m) + m) % m) as usize] as usize)
                .collect();
        }
        (-left..n + right)
            .map(|i| match mode {
                PadMode::Reflect => {
                    let mut i = i;
                    while i < 0 || i >= n {
                        i = if i < 0 { -i } else { 2 * (n - 1) - i };
                    }
                    i as usize
                }
                PadMode::Replicate => i.max(0).min(n - 1) as usize,
                PadMode::Circular => (((i % n) + n) % n) as usize,
            })
            .collect()
    }

    #[test]
    fn maps_read_the_reference_indices_and_refuse_what_leaves_the_input() {
        use PadMode::*;
        for mode in [Reflect, Replicate, Circular] {
            for n in 1..6i64 {
                for left in -3..6i64 {
                    for right in -3..6i64 {
                        let m = AxisMap::new(n as usize, left, right, mode);
                        let ok = n + left + right > 0
                            && match mode {
                                Reflect => left < n && right < n,
                                Replicate => true,
                                Circular => {
                                    let kept = n - (-left).max(0) - (-right).max(0);
                                    kept >= 1 && left <= kept && right <= kept
                                }
                            };
                        assert_eq!(m.is_some(), ok, "{mode:?} n {n} pads {left} {right}");
                        let Some(m) = m else { continue };
                        assert_eq!(m.src, reference(n, left, right, mode));
                        // The direct range reads consecutive inputs.
                        let (a, b) = m.direct;
                        for o in a..b {
                            assert_eq!(m.src[o] as i64, o as i64 - left);
                        }
                    }
                }
            }
        }
        assert!(AxisMap::new(0, 1, 1, Replicate).is_none());
        assert!(AxisMap::new(5, i64::MAX, 1, Replicate).is_none());
        assert!(AxisMap::new(5, i64::MIN, i64::MAX, Circular).is_none());
    }

    /// Forward against direct indexing and backward against a scatter-add in float64,
    /// for the 2-D case with rows long and short enough for both the serial and the
    /// parallel paths.
    #[test]
    fn forward_and_backward_match_direct_indexing() {
        for (outer, h, w, pads) in [
            (3usize, 4usize, 5usize, (2i64, 1i64, -1i64, 3i64)),
            (8, 40, 300, (3, 3, 2, 2)),
        ] {
            for mode in [PadMode::Reflect, PadMode::Replicate, PadMode::Circular] {
                let maps = [
                    AxisMap::unit(),
                    AxisMap::new(h, pads.0, pads.1, mode).unwrap(),
                    AxisMap::new(w, pads.2, pads.3, mode).unwrap(),
                ];
                let (ho, wo) = (maps[1].n_out(), maps[2].n_out());
                let x: Vec<f64> = (0..outer * h * w).map(|i| (i * 7 % 13) as f64).collect();
                let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_ne_bytes()).collect();
                let mut out_bytes = vec![0u8; outer * ho * wo * 8];
                pad_forward(&bytes, &mut out_bytes, 8, &maps);
                let out: Vec<f64> = out_bytes
                    .chunks(8)
                    .map(|c| f64::from_ne_bytes(c.try_into().unwrap()))
                    .collect();
                let g: Vec<f64> = (0..out.len()).map(|i| (i % 11) as f64 - 5.0).collect();
                let mut want_gx = vec![0.0; x.len()];
                for s in 0..outer {
                    for i in 0..ho {
                        for j in 0..wo {
                            let src = (s * h + maps[1].src[i]) * w + maps[2].src[j];
                            let o = (s * ho + i) * wo + j;
                            assert_eq!(out[o], x[src]);
                            want_gx[src] += g[o];
                        }
                    }
                }
                let mut gx = vec![f64::NAN; x.len()];
                pad_backward(&g, &mut gx, &maps);
                assert_eq!(gx, want_gx, "{mode:?}");
            }
        }
    }
}
