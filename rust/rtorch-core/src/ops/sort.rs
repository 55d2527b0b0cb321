//! Sorting and order statistics: sort, argsort, topk, kthvalue, median, mode, unique.
//! Each lane (the dim moved last, contiguous) is ordered with a stable, NaN-aware sort
//! (NaN above every number, as in PyTorch). Value gradients scatter back to indices.

use super::reduce::{lane_shape, lanes, record_select, unlanes};
use crate::autograd::needs_grad;
use crate::cpu::math::at_widest_level;
use crate::dtype::DType;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{normalize_dim, Dims};
use crate::tensor::Tensor;

/// A lane's sort keys: `u64`s whose unsigned order is the lane's order (`descending`
/// reverses it), so that one non-generic sort serves every dtype (a comparison sort
/// per dtype and direction was a twentieth of the extension's code). Floats order as
/// numbers with every NaN above them all (PyTorch's rule) and -0.0 equal to 0.0;
/// integers and bools as their values. Ties keep index order (stability) because the
/// sorts below break them by index.
fn sort_keys<T: Element>(x: &[T], descending: bool) -> Vec<u64> {
    let mut keys = vec![0; x.len()];
    fill_sort_keys(x, descending, &mut keys);
    keys
}

/// `sort_keys` of `x` into `keys` (as long as `x`).
fn fill_sort_keys<T: Element>(x: &[T], descending: bool, keys: &mut [u64]) {
    let flip = if descending { u64::MAX } else { 0 };
    if T::DTYPE.is_floating_point() {
        for (k, v) in keys.iter_mut().zip(x) {
            *k = float_key(v.to_f64()) ^ flip;
        }
    } else {
        for (k, v) in keys.iter_mut().zip(x) {
            *k = int_key(v.to_i64()) ^ flip;
        }
    }
}

/// `v`'s place in the order of float64 values with NaN above +inf, as a `u64`: the
/// sign-magnitude bits turned into an unsigned order (negatives reversed below the
/// positives). Every float type widens to float64 exactly.
#[inline]
fn float_key(v: f64) -> u64 {
    if v.is_nan() {
        return u64::MAX;
    }
    // `+ 0.0` turns -0.0 into 0.0 (they compare equal) and leaves every other value.
    let bits = (v + 0.0).to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// `v`'s place in the order of int64 values, as a `u64` (the sign bit flipped).
#[inline]
fn int_key(v: i64) -> u64 {
    (v as u64) ^ (1 << 63)
}

/// Stable order of one lane.
fn order<T: Element>(x: &[T], descending: bool) -> Vec<usize> {
    order_by_keys(&sort_keys(x, descending))
}

/// The positions of `keys` in ascending order, ties by position.
pub(crate) fn order_by_keys(keys: &[u64]) -> Vec<usize> {
    // (key, position) pairs are distinct, so an unstable sort gives the stable order.
    let mut pairs: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
    pairs.sort_unstable();
    pairs.into_iter().map(|(_, i)| i).collect()
}

/// The first `k` positions of `order(x, descending)` without sorting the rest: for `k`
/// below a quarter of the lane's length by one pass with a threshold
/// (`first_by_threshold`), except on short lanes with a `k` above a sixteenth of them,
/// where a selection of the k smallest (key, position) pairs is faster (k = 100 of
/// 1000: 2.6 ms for 1000 rows, 3.2 by threshold; of 1M, 18 ms against 10.5); else the
/// whole order, cut. Each gives the full sort's first `k`.
fn order_prefix<T: Element>(x: &[T], descending: bool, k: usize) -> Vec<usize> {
    if k == 0 || k.saturating_mul(4) >= x.len() {
        let mut o = order(x, descending);
        o.truncate(k);
        return o;
    }
    if x.len() <= 4096 && k * 16 >= x.len() {
        // (Pairs are distinct, so the k smallest are the stable order's first k.)
        let keys = sort_keys(x, descending);
        let mut pairs: Vec<(u64, usize)> = keys.into_iter().zip(0..).collect();
        pairs.select_nth_unstable(k - 1);
        pairs.truncate(k);
        pairs.sort_unstable();
        return pairs.into_iter().map(|(_, i)| i).collect();
    }
    first_by_threshold(x, descending, k)
}

/// Position `p` of `order_by_keys(keys)` (`p < keys.len()`) by selection, without
/// sorting: the (key, position) pairs are distinct, so the p-th smallest pair is the
/// stable order's p-th element.
fn nth_by_keys(keys: &[u64], p: usize) -> usize {
    let mut pairs: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
    pairs.select_nth_unstable(p).1 .1
}

/// `order_prefix` for `0 < k < x.len()`: one pass over the keys, made a block at a time
/// on the stack, that keeps as candidates the (key, position) pairs below a threshold,
/// the largest key among the `k` smallest pairs kept so far. A later position with a
/// key equal to it comes after all of those, so it can never enter: only keys strictly
/// below are candidates. When the candidates fill their buffer, a selection keeps the
/// `k` smallest and lowers the threshold; blocks of 16 with no key below it are passed
/// over by one vectorised test (nearly all of them, on data in no particular order).
/// Then the `k` kept pairs in order: the same positions as the full sort's first `k`.
/// (1M float32, k = 100: 14 ms -> 0.9 ms; the sort of (key, position) pairs it replaces
/// allocated and selected over 16 MB.)
fn first_by_threshold<T: Element>(x: &[T], descending: bool, k: usize) -> Vec<usize> {
    const KEYS: usize = 256;
    let mut keys = [0u64; KEYS];
    let mut kept = Candidates::new(k);
    for (c, chunk) in x.chunks(KEYS).enumerate() {
        let keys = &mut keys[..chunk.len()];
        fill_sort_keys(chunk, descending, keys);
        kept.admit(keys, c * KEYS);
    }
    kept.into_order()
}

/// Up to this k, `Candidates` keeps its pairs sorted (an insertion per entry).
const SMALL_K: usize = 32;

/// The candidate pairs of `first_by_threshold` and their threshold. Not generic: the
/// keys' dtype is gone, so one copy (at the widest SIMD level) serves every dtype.
struct Candidates {
    k: usize,
    /// Pairs kept: at most `cap` plus one block of keys (k when `k <= SMALL_K`).
    kept: Vec<(u64, usize)>,
    cap: usize,
    /// Keys strictly below this may enter (u64::MAX until `k` pairs are kept: until
    /// then every key enters, NaN's u64::MAX too).
    threshold: u64,
    full: bool,
}

impl Candidates {
    fn new(k: usize) -> Self {
        let cap = 4 * k.max(16);
        Candidates {
            k,
            kept: Vec::with_capacity(cap + 256),
            cap,
            threshold: u64::MAX,
            full: false,
        }
    }

    /// Takes in the keys of positions `base..base + keys.len()`.
    fn admit(&mut self, keys: &[u64], base: usize) {
        const BLOCK: usize = 16;
        let mut at = 0;
        if !self.full {
            // The first k pairs, unconditionally.
            let take = (self.k - self.kept.len()).min(keys.len());
            self.kept.extend(keys[..take].iter().copied().zip(base..));
            at = take;
            if self.kept.len() < self.k {
                return;
            }
            self.cut();
        }
        // The scan at the widest SIMD level (the test of a block of 16 keys is two
        // vector compares there).
        at_widest_level(
            #[inline(always)]
            || {
                for (b, block) in keys[at..].chunks(BLOCK).enumerate() {
                    let t = self.threshold;
                    if !block.iter().fold(false, |hit, &v| hit | (v < t)) {
                        continue;
                    }
                    let first = base + at + b * BLOCK;
                    for (j, &v) in block.iter().enumerate() {
                        if v < self.threshold {
                            self.enter((v, first + j));
                        }
                    }
                }
            },
        );
    }

    /// Takes in a pair below the threshold, after the first k. A small k keeps its k
    /// pairs sorted and the threshold exact at every entry (an insertion: the pair goes
    /// after every kept one with its key or less, as its position is the largest so
    /// far); a larger one collects candidates and cuts back when they fill `cap`.
    #[inline(always)]
    fn enter(&mut self, pair: (u64, usize)) {
        if self.k <= SMALL_K {
            let at = self.kept.partition_point(|p| p.0 <= pair.0);
            self.kept.insert(at, pair);
            self.kept.pop();
            self.threshold = self.kept[self.k - 1].0;
        } else {
            self.kept.push(pair);
            if self.kept.len() >= self.cap {
                self.cut();
            }
        }
    }

    /// Keeps the k smallest pairs (in order, for a small k); the threshold becomes the
    /// largest key among them. (Rare; out of line, so that the scan's copy at each SIMD
    /// level does not carry its own sort and selection.)
    #[inline(never)]
    fn cut(&mut self) {
        let k = self.k;
        if k <= SMALL_K {
            self.kept.sort_unstable();
        } else {
            self.kept.select_nth_unstable(k - 1);
        }
        self.kept.truncate(k);
        self.threshold = self.kept[k - 1].0;
        self.full = true;
    }

    /// The positions of the k smallest pairs, in order.
    fn into_order(mut self) -> Vec<usize> {
        self.cut();
        self.kept.sort_unstable();
        self.kept.into_iter().map(|(_, i)| i).collect()
    }
}

/// Which sorted positions of a lane are output.
enum Pick<'a> {
    /// The first `m` (sort: all of them; topk: `k`).
    First,
    /// The one at this position (kthvalue).
    At(usize),
    /// The lower middle one, or the first NaN when the lane has one (median).
    Median,
    /// Chosen from the lane's values in sorted order (median, mode).
    ByValues(&'a (dyn Fn(&[f64]) -> Vec<usize> + Sync)),
}

/// For every lane: its stable order, then the sorted positions that `pick` chooses
/// (`m` of them per lane). Returns lane-layout tensors (values, indices) of shape
/// `in_shape` without `dim` plus `m`. Not generic over the choice: this body is compiled
/// once per dtype.
fn pick_lanes(
    t: &Tensor,
    dim: usize,
    descending: bool,
    m: usize,
    pick: Pick<'_>,
) -> Result<(Tensor, Tensor)> {
    let (l, outer, n) = lanes(t, dim)?;
    let shape = if t.dim() == 0 {
        Dims::from_slice(&[m])
    } else {
        lane_shape(t.shape(), dim, m)
    };
    let vals = Tensor::uninit(&shape, t.dtype(), t.device())?;
    if !Tensor::has_values(&vals, &[&l])? {
        let idx = Tensor::empty(&shape, DType::I64, t.device())?;
        return Ok((vals, idx));
    }
    let mut idx = vec![0i64; outer * m];
    crate::dispatch_all!(t.dtype(), T => {
        let x: &[T] = l.cpu_slice::<T>()?;
        // SAFETY: `vals` is this op's fresh output; nothing else holds it yet.
        let vs: &mut [T] = unsafe { vals.cpu_slice_mut::<T>()? };
        let run = |o: usize, vo: &mut [T], ix: &mut [i64]| {
            let lane = &x[o * n..(o + 1) * n];
            // The chosen lane positions, computing only as much of the order as the
            // pick needs (topk a prefix, kthvalue and median one selected position).
            let chosen: Vec<usize> = match pick {
                Pick::First => order_prefix(lane, descending, m),
                Pick::At(p) => vec![nth_by_keys(&sort_keys(lane, descending), p)],
                Pick::Median => {
                    let keys = sort_keys(lane, false);
                    // NaN keys are u64::MAX (no number's key is, for float types).
                    let nan = match T::DTYPE.is_floating_point() {
                        true => keys.iter().filter(|&&k| k == u64::MAX).count(),
                        false => 0,
                    };
                    let p = if nan > 0 { n - nan } else { (n - 1) / 2 };
                    vec![nth_by_keys(&keys, p)]
                }
                Pick::ByValues(f) => {
                    let ord = order(lane, descending);
                    let sv: Vec<f64> = ord.iter().map(|&i| lane[i].to_f64()).collect();
                    f(&sv).into_iter().map(|p| ord[p]).collect()
                }
            };
            for (j, &i) in chosen.iter().enumerate().take(m) {
                ix[j] = i as i64;
                vo[j] = lane[i];
            }
        };
        if m > 0 {
            if outer * n >= crate::cpu::GRAIN && outer > 1 {
                crate::cpu::par_chunks_mut2(vs, &mut idx, m, &run);
            } else {
                for (o, (vo, ix)) in vs.chunks_mut(m).zip(idx.chunks_mut(m)).enumerate() {
                    run(o, vo, ix);
                }
            }
        }
    });
    let it = Tensor::from_vec(idx, &shape)?;
    Ok((vals, it))
}

/// `sort(dim, descending, stable)` → (values, indices). Always stable.
pub fn sort(t: &Tensor, dim: i64, descending: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, t.dim())?;
    let n = if t.dim() == 0 { 1 } else { t.shape()[d] };
    let (v, i) = pick_lanes(t, d, descending, n, Pick::First)?;
    let (v, i) = (unlanes(v, d, t.dim())?, unlanes(i, d, t.dim())?);
    if needs_grad(&[t]) {
        record_select("SortBackward0", t, &v, &i, d, true);
    }
    Ok((v, i))
}

pub fn argsort(t: &Tensor, dim: i64, descending: bool) -> Result<Tensor> {
    Ok(sort(&t.detach(), dim, descending)?.1)
}

/// `topk(k, dim, largest, sorted)` (results are always sorted).
pub fn topk(t: &Tensor, k: i64, dim: i64, largest: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, t.dim())?;
    let n = if t.dim() == 0 { 1 } else { t.shape()[d] };
    if k < 0 || k as usize > n {
        return Err(Error::Runtime("selected index k out of range".into()));
    }
    let k = k as usize;
    let (v, i) = pick_lanes(t, d, largest, k, Pick::First)?;
    let (v, i) = (unlanes(v, d, t.dim())?, unlanes(i, d, t.dim())?);
    if needs_grad(&[t]) {
        record_select("TopkBackward0", t, &v, &i, d, true);
    }
    Ok((v, i))
}

/// Finishes a one-per-lane selection: drops the lane dim unless `keepdim`.
fn finish_one(
    t: &Tensor,
    v: Tensor,
    i: Tensor,
    d: usize,
    keepdim: bool,
    name: &'static str,
) -> Result<(Tensor, Tensor)> {
    let nd = t.dim();
    let (mut v, mut i) = (unlanes(v, d, nd)?, unlanes(i, d, nd)?);
    if !keepdim && nd > 0 {
        let s = super::reduce::reduced_shape(t.shape(), &[d], false);
        v = super::shape::reshape_to(&v, &s)?;
        i = super::shape::reshape_to(&i, &s)?;
    }
    if needs_grad(&[t]) {
        record_select(name, t, &v, &i, d, keepdim);
    }
    Ok((v, i))
}

/// `kthvalue(k, dim, keepdim)`: the k-th smallest (1-based).
/// PyTorch's error for the order statistics it does not define on bool.
fn no_bool(t: &Tensor, kernel: &str) -> Result<()> {
    if t.dtype() == crate::dtype::DType::Bool {
        return Err(super::unary::not_implemented(kernel, t.dtype()));
    }
    Ok(())
}

pub fn kthvalue(t: &Tensor, k: i64, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
    no_bool(t, "kthvalue_cpu")?;
    let d = normalize_dim(dim, t.dim())?;
    let n = if t.dim() == 0 { 1 } else { t.shape()[d] };
    if n == 0 {
        return Err(Error::Index(format!(
            "kthvalue(): Expected reduction dim {d} to have non-zero size."
        )));
    }
    if k < 1 || k as usize > n {
        return Err(Error::Runtime(format!(
            "kthvalue(): selected number k out of range for dimension {d}"
        )));
    }
    let p = k as usize - 1;
    let (v, i) = pick_lanes(&t.detach(), d, false, 1, Pick::At(p))?;
    finish_one(t, v, i, d, keepdim, "KthvalueBackward0")
}

/// `median(dim, keepdim)`: the lower middle value; NaN if the lane has a NaN.
pub fn median_dim(t: &Tensor, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
    no_bool(t, "median_out")?;
    let d = normalize_dim(dim, t.dim())?;
    if t.dim() > 0 && t.shape()[d] == 0 {
        return Err(Error::Index(format!(
            "median(): Expected reduction dim {d} to have non-zero size."
        )));
    }
    let (v, i) = pick_lanes(&t.detach(), d, false, 1, Pick::Median)?;
    finish_one(t, v, i, d, keepdim, "MedianBackward1")
}

/// `median()` of all elements (NaN for an empty tensor).
pub fn median_all(t: &Tensor) -> Result<Tensor> {
    no_bool(t, "median_cpu")?;
    if t.numel() == 0 {
        return Tensor::full(&[], crate::dtype::Scalar::Float(f64::NAN), t.dtype());
    }
    let flat = super::shape::reshape_to(t, &[t.numel()])?;
    Ok(median_dim(&flat, 0, false)?.0)
}

/// `mode(dim, keepdim)`: most frequent value (smallest among ties) and its last index.
pub fn mode(t: &Tensor, dim: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
    let d = normalize_dim(dim, t.dim())?;
    if t.numel() == 0 && t.shape().get(d).is_none_or(|&n| n == 0) {
        return Err(Error::Index(format!(
            "mode(): Expected reduction dim {d} to have non-zero size."
        )));
    }
    let pick = |sv: &[f64]| {
        let (mut best, mut best_len, mut start) = (0usize, 0usize, 0usize);
        for i in 1..=sv.len() {
            if i == sv.len() || sv[i] != sv[start] {
                if i - start > best_len {
                    best_len = i - start;
                    best = i - 1;
                }
                start = i;
            }
        }
        vec![best]
    };
    let (v, i) = pick_lanes(&t.detach(), d, false, 1, Pick::ByValues(&pick))?;
    finish_one(t, v, i, d, keepdim, "ModeBackward0")
}

/// `unique(sorted, return_inverse, return_counts)` over all elements:
/// (values, inverse with the input's shape, counts).
pub fn unique(t: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
    let flat = super::copy::clone_contiguous(&t.detach())?;
    let n = flat.numel();
    let mut inverse = vec![0i64; n];
    let mut counts: Vec<i64> = Vec::new();
    let vals = crate::dispatch_all!(t.dtype(), T => {
        let x: &[T] = flat.cpu_slice::<T>()?;
        let ord = order(x, false);
        let mut vals: Vec<T> = Vec::new();
        for &i in &ord {
            // NaN equals nothing, itself included: each NaN is its own value, as in
            // PyTorch (numpy merges them).
            let same = vals.last().is_some_and(|&l: &T| l == x[i]);
            if !same {
                vals.push(x[i]);
                counts.push(0);
            }
            inverse[i] = vals.len() as i64 - 1;
            *counts.last_mut().expect("pushed above") += 1;
        }
        let m = vals.len();
        Tensor::from_vec(vals, &[m])?
    });
    let m = counts.len();
    let inv = Tensor::from_vec(inverse, t.shape())?;
    let cnt = Tensor::from_vec(counts, &[m])?;
    Ok((vals, inv, cnt))
}

/// `unique(x)` when the inverse is not asked for: the values and how often each occurs.
/// The sort keys alone are sorted by their bytes (`cpu::radix`), not (key, position)
/// pairs by comparison; one value per run of equal keys. Each NaN stays its own value
/// and of 0.0 and -0.0 the first in `t` stands for both, as in `unique`.
pub fn unique_counts(t: &Tensor) -> Result<(Tensor, Tensor)> {
    let flat = super::copy::contiguous(&t.detach())?;
    let n = flat.numel();
    // The keys and the sort's second buffer as a tensor's memory: the block cache
    // reuses it from call to call (two fresh 8 MB vectors per million elements faulted
    // their pages in each time: most of the time).
    let scratch = Tensor::uninit(&[n.saturating_mul(2)], DType::I64, crate::Device::Cpu)?;
    // SAFETY: `scratch` is this function's own fresh buffer of 2n int64s; u64 has
    // int64's size and alignment and every bit pattern is valid for both.
    let (keys, tmp) = unsafe {
        let p = scratch.cpu_slice_mut::<i64>()?.as_mut_ptr() as *mut u64;
        std::slice::from_raw_parts_mut(p, 2 * n).split_at_mut(n)
    };
    let mut counts: Vec<i64> = Vec::new();
    let vals = crate::dispatch_all!(t.dtype(), T => {
        let x: &[T] = flat.cpu_slice::<T>()?;
        fill_sort_keys(x, false, keys);
        let keys = crate::cpu::radix::sort_u64(keys, tmp);
        let float = T::DTYPE.is_floating_point();
        let value = |k: u64| -> T {
            if float {
                T::cast_from_f64(float_of_key(k))
            } else {
                T::from_i64((k ^ (1 << 63)) as i64)
            }
        };
        let zero = float_key(0.0);
        let mut vals: Vec<T> = Vec::new();
        let mut last = None;
        for &k in keys {
            // (The NaN key: every NaN is distinct, as NaN != NaN.)
            if last != Some(k) || (float && k == u64::MAX) {
                // (A zero's key came from a zero of x: the search finds one.)
                let first_zero = || x.iter().copied().find(|v| v.to_f64() == 0.0);
                vals.push(if float && k == zero {
                    first_zero().unwrap_or_else(|| value(k))
                } else {
                    value(k)
                });
                counts.push(0);
                last = Some(k);
            }
            *counts.last_mut().expect("pushed above") += 1;
        }
        let m = vals.len();
        Tensor::from_vec(vals, &[m])?
    });
    let m = counts.len();
    Ok((vals, Tensor::from_vec(counts, &[m])?))
}

/// The float64 whose `float_key` is `k` (u64::MAX: a NaN).
fn float_of_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Where `v` goes in the sorted `row`: the first position whose element is not below
/// `v` (`right`: not at or below it). PyTorch's comparisons, `!(s >= v)` and `!(s > v)`,
/// which put a NaN value after every element and treat the NaNs at a sorted row's end
/// as above every number.
#[inline]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // the negations are the NaN rule
fn insertion_point<T: PartialOrd + Copy>(row: &[T], v: T, right: bool) -> usize {
    // PyTorch's probe sequence (so rows with NaNs answer alike), with both bounds
    // updated by selects: random queries would mispredict a branch at every step.
    let (mut lo, mut hi) = (0, row.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let before = if right {
            !(row[mid] > v)
        } else {
            !(row[mid] >= v)
        };
        lo = if before { mid + 1 } else { lo };
        hi = if before { hi } else { mid };
    }
    lo
}

/// `searchsorted(seq, values, right)`: for each value, its insertion index (int64, the
/// shape of `values`) into the innermost dim of the sorted `seq`: its one row when
/// `seq` is 1-d, else the row with the value's leading indices. A binary search per
/// value. `seq` and `values` share a dtype (the caller promotes them).
pub fn searchsorted(seq: &Tensor, values: &Tensor, right: bool) -> Result<Tensor> {
    if seq.dim() == 0 {
        return Err(Error::Runtime(
            "torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 dimension".into(),
        ));
    }
    if seq.dtype() != values.dtype() {
        return Err(Error::Runtime(format!(
            "searchsorted: boundaries and values have different dtypes ({} and {})",
            seq.dtype().name(),
            values.dtype().name()
        )));
    }
    let nd = seq.dim();
    let leading = &seq.shape()[..nd - 1];
    if nd > 1 && (values.dim() != nd || &values.shape()[..nd - 1] != leading) {
        return Err(Error::Runtime(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries tensor and input value tensor must match".into(),
        ));
    }
    let n = seq.shape()[nd - 1];
    let rows: usize = leading.iter().product();
    let per_row = if nd == 1 {
        values.numel()
    } else {
        values.shape().last().copied().unwrap_or(1)
    };
    let out = Tensor::uninit(values.shape(), DType::I64, values.device())?;
    if !Tensor::has_values(&out, &[seq, values])? || out.numel() == 0 {
        return Ok(out);
    }
    let (s, v) = (
        super::copy::contiguous(seq)?,
        super::copy::contiguous(values)?,
    );
    // SAFETY: `out` is this op's fresh output; nothing else holds it yet.
    let o: &mut [i64] = unsafe { out.cpu_slice_mut::<i64>()? };
    crate::dispatch_all!(seq.dtype(), T => {
        let (sx, vx) = (s.cpu_slice::<T>()?, v.cpu_slice::<T>()?);
        let find = |i: usize, slot: &mut i64| {
            let r = if nd == 1 { 0 } else { (i / per_row).min(rows.saturating_sub(1)) };
            *slot = insertion_point(&sx[r * n..(r + 1) * n], vx[i], right) as i64;
        };
        if o.len() >= crate::cpu::GRAIN / 8 {
            crate::cpu::par_each_mut(o, &find);
        } else {
            o.iter_mut().enumerate().for_each(|(i, slot)| find(i, slot));
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::insertion_point;

    #[test]
    fn insertion_points_follow_pytorch_comparisons() {
        let row = [1.0f64, 2.0, 2.0, 3.0, f64::NAN];
        let left: Vec<usize> = [0.5, 2.0, 2.5, f64::INFINITY, f64::NAN]
            .iter()
            .map(|&v| insertion_point(&row, v, false))
            .collect();
        // PyTorch 2.15 answers these (a probe that meets the NaN moves right, so a row
        // with NaNs is not searched as a sorted one): the same probes give the same.
        assert_eq!(left, [0, 1, 5, 5, 5]);
        let right: Vec<usize> = [0.5, 2.0, 3.0, f64::NAN]
            .iter()
            .map(|&v| insertion_point(&row, v, true))
            .collect();
        assert_eq!(right, [0, 5, 5, 5]);
        let clean = [1.0f32, 2.0, 2.0, 3.0];
        let got: Vec<usize> = [0.5f32, 2.0, 2.5, 9.0]
            .iter()
            .map(|&v| insertion_point(&clean, v, false))
            .collect();
        assert_eq!(got, [0, 1, 3, 4]);
        assert_eq!(insertion_point::<i32>(&[], 7, false), 0);
    }
}
