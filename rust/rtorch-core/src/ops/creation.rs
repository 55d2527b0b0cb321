//! Creation functions that compute their values: `arange`, `range`, `linspace`,
//! `logspace`, `eye`, `empty_strided`.

use crate::cpu::elementwise::fill_indexed;
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{Dims, Layout};
use crate::tensor::Tensor;

/// The dtype `arange` infers: int64 when every bound is an integer, else the default
/// float dtype.
pub fn arange_dtype(values: &[Scalar]) -> DType {
    if values.iter().any(|v| matches!(v, Scalar::Float(_))) {
        crate::get_default_dtype()
    } else {
        DType::I64
    }
}

fn check_finite(v: f64, what: &str) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::Runtime(format!("unsupported range: {what} -> inf")));
    }
    Ok(())
}

/// A tensor of `n` values `value(i)` converted to `dtype`. The tensor is allocated
/// first, so a size that cannot exist is a RuntimeError before any work.
fn from_fn(n: usize, dtype: DType, value: impl Fn(usize) -> f64 + Sync) -> Result<Tensor> {
    let t = Tensor::uninit(&[n], dtype, crate::Device::Cpu)?;
    crate::dispatch_all!(dtype, T => {
        fill_indexed(t.cpu_view_mut::<T>()?, |i| T::cast_from_f64(value(i)))
    });
    Ok(t)
}

fn from_fn_i64(n: usize, dtype: DType, value: impl Fn(usize) -> i64 + Sync) -> Result<Tensor> {
    let t = Tensor::uninit(&[n], dtype, crate::Device::Cpu)?;
    crate::dispatch_all!(dtype, T => {
        fill_indexed(t.cpu_view_mut::<T>()?, |i| T::from_i64(value(i)))
    });
    Ok(t)
}

/// `arange(start, end, step)`: `ceil((end - start) / step)` values `start + i * step`.
pub fn arange(start: Scalar, end: Scalar, step: Scalar, dtype: Option<DType>) -> Result<Tensor> {
    let dtype = dtype.unwrap_or_else(|| arange_dtype(&[start, end, step]));
    let (s, e, st) = (start.to_f64(), end.to_f64(), step.to_f64());
    check_finite(s, "start")?;
    check_finite(e, "end")?;
    if st == 0.0 {
        return Err(Error::Runtime("step must be nonzero".into()));
    }
    if (st > 0.0 && e < s) || (st < 0.0 && e > s) {
        return Err(Error::Runtime(
            "upper bound and lower bound inconsistent with step sign".into(),
        ));
    }
    let all_int = !dtype.is_floating_point()
        && [start, end, step]
            .iter()
            .all(|v| !matches!(v, Scalar::Float(_)));
    if all_int {
        let (s, e, st) = (start.to_i64(), end.to_i64(), step.to_i64());
        let span = (e as i128 - s as i128) as f64;
        let n = (span / st as f64).ceil().max(0.0) as usize;
        return from_fn_i64(n, dtype, move |i| {
            s.wrapping_add((i as i64).wrapping_mul(st))
        });
    }
    let n = ((e - s) / st).ceil();
    if !(0.0..=(1u64 << 48) as f64).contains(&n) {
        return Err(Error::Runtime(format!(
            "invalid size, possible overflow? size: {n}"
        )));
    }
    let n = n as usize;
    if dtype.is_floating_point() {
        // (Through i64: n <= 2^48, so exact; converting a usize to f64 has no single
        // instruction before AVX-512 and cost most of a float arange's time.)
        from_fn(n, dtype, move |i| s + (i as i64) as f64 * st)
    } else {
        // Integer output from float bounds: PyTorch steps in the integer type after
        // truncating start and step.
        let (si, sti) = (s as i64, st as i64);
        from_fn_i64(n, dtype, move |i| {
            si.wrapping_add((i as i64).wrapping_mul(sti))
        })
    }
}

/// `range(start, end, step)` (deprecated): `end` included, default float dtype.
pub fn range(start: Scalar, end: Scalar, step: Scalar, dtype: Option<DType>) -> Result<Tensor> {
    let dtype = dtype.unwrap_or_else(crate::get_default_dtype);
    let (s, e, st) = (start.to_f64(), end.to_f64(), step.to_f64());
    check_finite(s, "start")?;
    check_finite(e, "end")?;
    if st == 0.0 {
        return Err(Error::Runtime("step must be nonzero".into()));
    }
    if (st > 0.0 && e < s) || (st < 0.0 && e > s) {
        return Err(Error::Runtime(
            "upper bound and lower bound inconsistent with step sign".into(),
        ));
    }
    let n = ((e - s) / st).floor() as usize + 1;
    from_fn(n, dtype, move |i| s + i as f64 * st)
}

fn check_steps(steps: i64) -> Result<usize> {
    usize::try_from(steps)
        .map_err(|_| Error::Runtime("number of steps must be non-negative".into()))
}

/// The `i`-th of `n` evenly spaced points from `s` to `e`, computed from both ends
/// (the second half counts back from `e`) as PyTorch does, so `e` is exact.
fn lin_point(s: f64, e: f64, n: usize, i: usize) -> f64 {
    if n == 1 {
        return s;
    }
    let step = (e - s) / (n - 1) as f64;
    if i < n / 2 {
        s + step * i as f64
    } else {
        e - step * (n - 1 - i) as f64
    }
}

/// `linspace(start, end, steps)`; the default dtype unless given.
pub fn linspace(start: f64, end: f64, steps: i64, dtype: Option<DType>) -> Result<Tensor> {
    let n = check_steps(steps)?;
    let dtype = dtype.unwrap_or_else(crate::get_default_dtype);
    from_fn(n, dtype, move |i| lin_point(start, end, n, i))
}

/// `logspace(start, end, steps, base)`: `base ** linspace(start, end, steps)`.
pub fn logspace(
    start: f64,
    end: f64,
    steps: i64,
    base: f64,
    dtype: Option<DType>,
) -> Result<Tensor> {
    let n = check_steps(steps)?;
    let dtype = dtype.unwrap_or_else(crate::get_default_dtype);
    from_fn(n, dtype, move |i| base.powf(lin_point(start, end, n, i)))
}

/// `eye(n, m)`: ones on the main diagonal.
pub fn eye(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
    let t = Tensor::uninit(&[n, m], dtype, crate::Device::Cpu)?;
    crate::dispatch_all!(dtype, T => {
        fill_indexed(t.cpu_view_mut::<T>()?, |i| if i / m == i % m { T::one() } else { T::zero() })
    });
    Ok(t)
}

/// `eye` with PyTorch's argument checks.
pub fn eye_checked(n: i64, m: Option<i64>, dtype: DType) -> Result<Tensor> {
    if n < 0 {
        return Err(Error::Runtime(format!(
            "n must be greater or equal to 0, got {n}"
        )));
    }
    let m = m.unwrap_or(n);
    if m < 0 {
        return Err(Error::Runtime(format!(
            "m must be greater or equal to 0, got {m}"
        )));
    }
    eye(n as usize, m as usize, dtype)
}

/// `empty_strided(size, stride)`: zero-filled storage large enough for the layout.
pub fn empty_strided(
    size: &[usize],
    stride: &[usize],
    dtype: DType,
    device: crate::Device,
) -> Result<Tensor> {
    if size.len() != stride.len() {
        return Err(Error::Runtime(format!(
            "mismatch in length of strides and shape: {} != {}",
            size.len(),
            stride.len()
        )));
    }
    let extent = crate::layout::checked_extent(size, stride, 0)
        .ok_or_else(|| crate::layout::extent_overflow(size, Some(stride)))?;
    let base = Tensor::empty(&[extent], dtype, device)?;
    let layout = Layout {
        shape: size.into(),
        strides: stride.into(),
        offset: 0,
    };
    Ok(base.with_layout(layout))
}

/// PyTorch's `torch.memory_format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryFormat {
    /// Keep the input's strides when it is non-overlapping and dense.
    Preserve,
    Contiguous,
    /// NHWC order of a 4-d (N, C, H, W) tensor.
    ChannelsLast,
    /// NDHWC order of a 5-d tensor.
    ChannelsLast3d,
}

/// Strides of `shape` in the given format (`Preserve` means those of `like`).
pub fn format_strides(like: &Layout, fmt: MemoryFormat) -> Result<Dims> {
    let shape = &like.shape;
    let last = |rank: usize, name: &str| -> Result<Dims> {
        if shape.len() != rank {
            return Err(Error::Runtime(format!(
                "required rank {rank} tensor to use {name} format"
            )));
        }
        // Channels (dim 1) fastest, then the spatial dims from the last, then N.
        let mut order: Vec<usize> = vec![1];
        order.extend((2..rank).rev());
        order.push(0);
        let mut strides: Dims = smallvec::smallvec![0; rank];
        let mut s = 1usize;
        for &d in &order {
            strides[d] = s;
            s = s.saturating_mul(shape[d].max(1));
        }
        Ok(strides)
    };
    match fmt {
        MemoryFormat::Preserve => Ok(like.preserved_strides()),
        MemoryFormat::Contiguous => Ok(crate::layout::contiguous_strides(shape)),
        MemoryFormat::ChannelsLast => last(4, "channels_last"),
        MemoryFormat::ChannelsLast3d => last(5, "channels_last_3d"),
    }
}

/// A tensor of `like`'s shape and the given format's strides over the values of
/// `flat`, a contiguous 1-d tensor of as many elements (its values land in storage
/// order, as PyTorch's `*_like` and random fills do).
pub fn restride_flat(flat: &Tensor, like: &Layout, fmt: MemoryFormat) -> Result<Tensor> {
    let strides = format_strides(like, fmt)?;
    if strides == crate::layout::contiguous_strides(&like.shape) {
        return Ok(flat.with_layout(Layout::contiguous(&like.shape)));
    }
    Ok(flat.with_layout(Layout {
        shape: like.shape.clone(),
        strides,
        offset: flat.offset(),
    }))
}

/// An uninitialised-free (zero-filled) tensor shaped like `like` in format `fmt`.
pub fn empty_like_format(like: &Tensor, dtype: DType, fmt: MemoryFormat) -> Result<Tensor> {
    let flat = Tensor::zeros(&[like.numel()], dtype)?;
    restride_flat(&flat, like.layout(), fmt)
}
