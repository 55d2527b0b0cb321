//! `torch.histc` and `torch.bincount`: counts of values in equal bins, and of each value.

use crate::cpu;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Elements per parallel task. Each task counts into bins of its own; the counts are
/// integers, so their sum is the same for any thread count.
const GRAIN: usize = 1 << 16;

/// `bins` counts, in the input's dtype, of the values of `input` (float32 or float64,
/// on the CPU) in equal bins over `[lo, hi]` (`lo < hi`, settled by the caller): v
/// lands in bin `trunc((v - lo) * bins / (hi - lo))`, computed in the input's type as
/// PyTorch's kernel does, the value `hi` in the last bin; values outside and NaN are not
/// counted.
pub fn histc(input: &Tensor, bins: usize, lo: f64, hi: f64) -> Result<Tensor> {
    if bins == 0 || lo.is_nan() || hi.is_nan() || lo >= hi {
        return Err(Error::Value(format!(
            "histc: need bins > 0 and min < max, got bins={bins}, min={lo}, max={hi}"
        )));
    }
    let x = super::copy::contiguous(input)?;
    if !matches!(x.dtype(), DType::F32 | DType::F64) {
        return Err(super::unary::not_implemented("histogram_cpu", x.dtype()));
    }
    // The result first: a bin count no tensor can hold fails here, with PyTorch's
    // errors (storage size overflow, allocation failure), before any counting buffer is
    // sized by it.
    let out = Tensor::uninit(&[bins], x.dtype(), x.device())?;
    match x.dtype() {
        DType::F32 => fill::<f32>(&out, count(slice::<f32>(&x)?, bins, lo as f32, hi as f32)?)?,
        _ => fill::<f64>(&out, count(slice::<f64>(&x)?, bins, lo, hi)?)?,
    }
    Ok(out)
}

/// Writes the counts into the fresh result `out` (one value per bin).
fn fill<F: Binned + crate::element::Element>(out: &Tensor, counts: Vec<u64>) -> Result<()> {
    // SAFETY: `out` was just allocated by `histc` and nothing else references it.
    let dst = unsafe { out.cpu_slice_mut::<F>()? };
    for (d, c) in dst.iter_mut().zip(counts) {
        *d = F::from_count(c as usize);
    }
    Ok(())
}

fn slice<T: crate::element::Element>(x: &Tensor) -> Result<&[T]> {
    x.as_slice::<T>()
        .ok_or_else(|| Error::Runtime("histc: expected a contiguous CPU tensor".into()))
}

/// The float types histc counts in.
trait Binned: Copy + PartialOrd + Send + Sync {
    /// `n` in this type, as C++ converts the int64 in PyTorch's formula.
    fn from_count(n: usize) -> Self;
    /// `trunc((self - lo) * bins / (hi - lo))`, in this type, for `lo <= self <= hi`.
    fn bin(self, lo: Self, hi: Self, bins: Self) -> usize;
}

macro_rules! binned {
    ($($t:ty),*) => {$(
        impl Binned for $t {
            #[inline(always)]
            fn from_count(n: usize) -> $t {
                n as $t
            }
            #[inline(always)]
            fn bin(self, lo: $t, hi: $t, bins: $t) -> usize {
                // (A float to usize cast truncates, and saturates: never out of range.)
                ((self - lo) * bins / (hi - lo)) as usize
            }
        }
    )*};
}
binned!(f32, f64);

fn count<F: Binned>(x: &[F], bins: usize, lo: F, hi: F) -> Result<Vec<u64>> {
    let nb = F::from_count(bins);
    let parts = cpu::par_map_chunks(x, GRAIN, &|c: &[F]| {
        let mut h = zeroed(bins)?;
        for &v in c {
            // (NaN fails both comparisons.)
            if v >= lo && v <= hi {
                h[v.bin(lo, hi, nb).min(bins - 1)] += 1;
            }
        }
        Ok(h)
    });
    let mut total = zeroed(bins)?;
    for h in parts {
        for (t, c) in total.iter_mut().zip(h?) {
            *t += c;
        }
    }
    Ok(total)
}

/// `bins` zero counters, or an error where the memory cannot be had (a plain `vec!`
/// aborts the process).
fn zeroed(bins: usize) -> Result<Vec<u64>> {
    let mut v = Vec::new();
    v.try_reserve_exact(bins).map_err(|_| {
        Error::Runtime(format!(
            "histc: cannot allocate {bins} bin counters ({} bytes)",
            bins.saturating_mul(8)
        ))
    })?;
    v.resize(bins, 0);
    Ok(v)
}

/// PyTorch's message for a negative value or a wrong shape or type.
const BINCOUNT_MSG: &str = "bincount only supports 1-d non-negative integral inputs.";

/// `torch.bincount(input, minlength=minlength)` without weights: int64 counts of each
/// value of a 1-d integer tensor (the Python layer checks the dtype and the shape):
/// `max(max(input) + 1, minlength)` bins. Counting in fixed chunks of `GRAIN` values,
/// each into counters of its own, then summed: the same counts for any thread count.
pub fn bincount(input: &Tensor, minlength: usize) -> Result<Tensor> {
    if input.dim() != 1 || !input.dtype().is_integral() {
        return Err(Error::Runtime(BINCOUNT_MSG.into()));
    }
    let x = super::copy::contiguous(&super::cast_view(&input.detach(), DType::I64)?)?;
    let v: &[i64] = x
        .as_slice::<i64>()
        .ok_or_else(|| Error::Runtime("bincount: expected a contiguous CPU tensor".into()))?;
    let ranges = cpu::par_map_chunks(v, GRAIN, &|c: &[i64]| {
        c.iter()
            .fold((i64::MAX, -1i64), |(lo, hi), &x| (lo.min(x), hi.max(x)))
    });
    let (lo, hi) = ranges
        .into_iter()
        .fold((i64::MAX, -1i64), |(lo, hi), (a, b)| (lo.min(a), hi.max(b)));
    if lo < 0 {
        return Err(Error::Runtime(BINCOUNT_MSG.into()));
    }
    let top = usize::try_from(hi + 1).map_err(|_| Error::Runtime(BINCOUNT_MSG.into()))?;
    let bins = top.max(minlength);
    // The result first, as in `histc`.
    let out = Tensor::uninit(&[bins], DType::I64, input.device())?;
    let chunks = v.len().div_ceil(GRAIN);
    let counts = if chunks > 1 && bins <= GRAIN {
        let parts = cpu::par_map_chunks(v, GRAIN, &|c: &[i64]| {
            let mut h = zeroed(bins)?;
            for &x in c {
                h[x as usize] += 1;
            }
            Ok(h)
        });
        let mut total = zeroed(bins)?;
        for h in parts {
            for (t, c) in total.iter_mut().zip(h?) {
                *t += c;
            }
        }
        total
    } else {
        // Many bins next to the values: one pass into one set of counters.
        let mut h = zeroed(bins)?;
        for &x in v {
            h[x as usize] += 1;
        }
        h
    };
    // SAFETY: `out` was just allocated here and nothing else references it.
    let dst = unsafe { out.cpu_slice_mut::<i64>()? };
    for (d, c) in dst.iter_mut().zip(counts) {
        *d = c as i64;
    }
    Ok(out)
}
