//! Shape, strides and storage offset: how a tensor's elements sit in its storage.
//!
//! Invariants: `shape.len() == strides.len()`; strides are in elements and never
//! negative (PyTorch has no negative strides: `flip` copies); every index reachable
//! through the layout lies inside the storage (checked when a view is made).

use crate::error::{Error, Result};
use smallvec::SmallVec;

/// Small inline vector for shapes and strides: most tensors have at most 6 dims.
/// Dims kept inline (without a heap allocation).
const INLINE_DIMS: usize = 6;
pub type Dims = SmallVec<[usize; INLINE_DIMS]>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Dims,
    pub strides: Dims,
    pub offset: usize,
}

/// An element offset a row-major walk moves by strides: `usize` for layouts, `isize`
/// for walks with negated strides (`flip`).
pub trait WalkOffset: Copy + std::ops::AddAssign + std::ops::SubAssign {
    /// `stride` times `n`: the distance one whole run of a dim covers.
    fn times(stride: Self, n: usize) -> Self;
}

impl WalkOffset for usize {
    #[inline(always)]
    fn times(stride: usize, n: usize) -> usize {
        stride * n
    }
}

impl WalkOffset for isize {
    #[inline(always)]
    fn times(stride: isize, n: usize) -> isize {
        stride * n as isize
    }
}

/// One step of a row-major walk over `shape` (last dim fastest): bumps the
/// multi-index `idx` and moves `off` by `strides`, carrying into earlier dims (an
/// odometer). Past the last element both wrap to the start.
#[inline(always)]
pub fn step_row_major<S: WalkOffset>(
    idx: &mut [usize],
    shape: &[usize],
    strides: &[S],
    off: &mut S,
) {
    for d in (0..idx.len()).rev() {
        idx[d] += 1;
        *off += strides[d];
        if idx[d] < shape[d] {
            return;
        }
        *off -= S::times(strides[d], shape[d]);
        idx[d] = 0;
    }
}

/// Row-major strides for `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Dims {
    // Up to Dims' inline size, filled in a plain array and wrapped once: building the
    // SmallVec element by element and moving it out cost more than the arithmetic on
    // the per-op path of small tensors.
    if shape.len() <= INLINE_DIMS {
        let mut buf = [0usize; INLINE_DIMS];
        let mut acc = 1usize;
        for i in (0..shape.len()).rev() {
            buf[i] = acc;
            acc *= shape[i].max(1);
        }
        return Dims::from_buf_and_len(buf, shape.len());
    }
    let mut strides: Dims = smallvec::smallvec![0; shape.len()];
    let mut acc = 1usize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1);
    }
    strides
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Wraps a possibly negative dim into `0..ndim` (IndexError as PyTorch otherwise).
/// A 0-dim tensor accepts dims -1 and 0, as in PyTorch.
pub fn normalize_dim(dim: i64, ndim: usize) -> Result<usize> {
    let n = ndim.max(1) as i64;
    if dim < -n || dim >= n {
        return Err(Error::Index(format!(
            "Dimension out of range (expected to be in range of [{}, {}], but got {})",
            -n,
            n - 1,
            dim
        )));
    }
    Ok(if dim < 0 {
        (dim + n) as usize
    } else {
        dim as usize
    })
}

/// One past the largest storage index `offset + Σ (size - 1) * stride` reaches (0 when
/// a size is 0), in checked arithmetic: None when it overflows. Every extent computed
/// from user-given sizes and strides goes through here.
pub fn checked_extent(shape: &[usize], strides: &[usize], offset: usize) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape
        .iter()
        .zip(strides)
        .try_fold(offset.checked_add(1)?, |acc, (&d, &s)| {
            acc.checked_add((d - 1).checked_mul(s)?)
        })
}

/// PyTorch's error for a size/stride combination whose storage size overflows.
pub fn extent_overflow(shape: &[usize], strides: Option<&[usize]>) -> Error {
    match strides {
        Some(s) => Error::Runtime(format!(
            "Storage size calculation overflowed with sizes={} and strides={}",
            fmt_shape(shape),
            fmt_shape(s)
        )),
        None => Error::Runtime(format!(
            "Storage size calculation overflowed with sizes={}",
            fmt_shape(shape)
        )),
    }
}

/// Formats a shape as PyTorch prints `torch.Size`: `[2, 3]`.
pub fn fmt_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Broadcasts two shapes with PyTorch's rule and error message.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Dims> {
    if a == b {
        return Ok(Dims::from_slice(a));
    }
    let n = a.len().max(b.len());
    let mut out: Dims = smallvec::smallvec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Runtime(format!(
                "The size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton dimension {i}"
            )));
        };
    }
    Ok(out)
}

/// Resolves one `-1` in a requested shape against `numel` (as `view`/`reshape` do).
pub fn infer_size(requested: &[i64], numel: usize) -> Result<Dims> {
    let mut out: Dims = Dims::with_capacity(requested.len());
    let mut infer_at = None;
    let mut known = 1usize;
    for (i, &d) in requested.iter().enumerate() {
        if d == -1 {
            if infer_at.is_some() {
                return Err(Error::Runtime("only one dimension can be inferred".into()));
            }
            infer_at = Some(i);
            out.push(0);
        } else if d < 0 {
            return Err(Error::Runtime(format!("invalid shape dimension {d}")));
        } else {
            // Wrapping products would accept shapes whose numel overflows: saturate, so
            // they can never match the input's size.
            known = known.saturating_mul(d as usize);
            out.push(d as usize);
        }
    }
    let shape_str = || {
        let parts: Vec<String> = requested.iter().map(|d| d.to_string()).collect();
        format!("[{}]", parts.join(", "))
    };
    match infer_at {
        Some(i) => {
            if known == 0 || !numel.is_multiple_of(known) {
                return Err(Error::Runtime(format!(
                    "shape '{}' is invalid for input of size {numel}",
                    shape_str()
                )));
            }
            out[i] = numel / known;
        }
        None => {
            if known != numel {
                return Err(Error::Runtime(format!(
                    "shape '{}' is invalid for input of size {numel}",
                    shape_str()
                )));
            }
        }
    }
    Ok(out)
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Layout {
        Layout {
            shape: shape.into(),
            strides: contiguous_strides(shape),
            offset: 0,
        }
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    #[inline]
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Row-major contiguous (size-1 dims may have any stride, as in PyTorch).
    #[inline]
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1usize;
        for i in (0..self.shape.len()).rev() {
            let d = self.shape[i];
            if d == 0 {
                return true;
            }
            if d != 1 {
                if self.strides[i] != expected {
                    return false;
                }
                expected *= d;
            }
        }
        true
    }

    /// Every element has its own storage slot and the slots fill one gap-free range
    /// (any permutation of a contiguous layout): PyTorch's `is_non_overlapping_and_dense`.
    pub fn is_non_overlapping_and_dense(&self) -> bool {
        let n = self.shape.len();
        if n == 0 {
            return true;
        }
        if n == 1 {
            return self.shape[0] < 2 || self.strides[0] == 1;
        }
        let mut perm: Dims = (0..n).collect();
        // Size-1 dims sort last; the others by stride (stable). An insertion sort: the
        // dims are few, and the library's stable sort was 9 KB of the extension.
        let key = |i: usize| (self.shape[i] < 2, self.strides[i]);
        for j in 1..n {
            let mut k = j;
            while k > 0 && key(perm[k - 1]) > key(perm[k]) {
                perm.swap(k - 1, k);
                k -= 1;
            }
        }
        let mut require = 1usize;
        for &i in perm.iter() {
            let d = self.shape[i];
            if d < 2 {
                return true;
            }
            if self.strides[i] != require {
                return false;
            }
            require = match require.checked_mul(d) {
                Some(r) => r,
                None => return false,
            };
        }
        true
    }

    /// Strides of a new dense tensor laid out like this one (PyTorch's
    /// `preserve_format`): the same strides when this layout is non-overlapping and
    /// dense, row-major contiguous strides otherwise.
    pub fn preserved_strides(&self) -> Dims {
        if self.is_non_overlapping_and_dense() && !self.shape.contains(&0) {
            self.strides.clone()
        } else {
            contiguous_strides(&self.shape)
        }
    }

    /// One past the largest storage index this layout touches (0 when empty).
    pub fn storage_extent(&self) -> usize {
        if self.shape.contains(&0) {
            return 0;
        }
        self.offset
            + 1
            + self
                .shape
                .iter()
                .zip(&self.strides)
                .map(|(&d, &s)| (d - 1) * s)
                .sum::<usize>()
    }

    pub fn dim(&self, dim: i64) -> Result<usize> {
        normalize_dim(dim, self.ndim())
    }

    pub fn transpose(&self, d0: usize, d1: usize) -> Layout {
        let mut l = self.clone();
        if l.ndim() > 0 {
            l.shape.swap(d0, d1);
            l.strides.swap(d0, d1);
        }
        l
    }

    /// `dims` must already be a validated permutation of `0..ndim`.
    pub fn permute(&self, dims: &[usize]) -> Layout {
        Layout {
            shape: dims.iter().map(|&d| self.shape[d]).collect(),
            strides: dims.iter().map(|&d| self.strides[d]).collect(),
            offset: self.offset,
        }
    }

    pub fn narrow(&self, dim: usize, start: usize, len: usize) -> Layout {
        let mut l = self.clone();
        if len > 0 {
            l.offset += start * l.strides[dim];
        }
        l.shape[dim] = len;
        l
    }

    /// `start..end` with `step` along `dim`, bounds already clamped by the caller.
    pub fn slice(&self, dim: usize, start: usize, end: usize, step: usize) -> Layout {
        let mut l = self.clone();
        let len = if end > start {
            (end - start).div_ceil(step)
        } else {
            0
        };
        if len > 0 {
            l.offset += start * l.strides[dim];
        }
        l.shape[dim] = len;
        l.strides[dim] *= step;
        l
    }

    pub fn select(&self, dim: usize, index: usize) -> Layout {
        let mut l = self.clone();
        l.offset += index * l.strides[dim];
        l.shape.remove(dim);
        l.strides.remove(dim);
        l
    }

    pub fn unsqueeze(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        let stride = if dim < l.ndim() {
            l.strides[dim] * l.shape[dim]
        } else {
            1
        };
        l.shape.insert(dim, 1);
        l.strides.insert(dim, stride);
        l
    }

    pub fn squeeze_dim(&self, dim: usize) -> Layout {
        let mut l = self.clone();
        if l.ndim() > 0 && l.shape[dim] == 1 {
            l.shape.remove(dim);
            l.strides.remove(dim);
        }
        l
    }

    /// Broadcast view to `shape` (PyTorch's `expand`): new leading dims and size-1 dims
    /// get stride 0.
    pub fn expand(&self, shape: &[usize]) -> Result<Layout> {
        if shape.len() < self.ndim() {
            return Err(Error::Runtime(format!(
                "expand: the number of sizes provided ({}) must be greater or equal to the number of dimensions in the tensor ({})",
                shape.len(),
                self.ndim()
            )));
        }
        let lead = shape.len() - self.ndim();
        let mut strides: Dims = smallvec::smallvec![0; shape.len()];
        for i in 0..shape.len() {
            if i < lead {
                continue;
            }
            let (d, s) = (self.shape[i - lead], self.strides[i - lead]);
            if d == shape[i] {
                strides[i] = s;
            } else if d != 1 {
                return Err(Error::Runtime(format!(
                    "The expanded size of the tensor ({}) must match the existing size ({}) at non-singleton dimension {}.  Target sizes: {}.  Tensor sizes: {}",
                    shape[i],
                    d,
                    i,
                    fmt_shape(shape),
                    fmt_shape(&self.shape)
                )));
            }
        }
        Ok(Layout {
            shape: shape.into(),
            strides,
            offset: self.offset,
        })
    }

    /// Strides for viewing this layout as `new_shape` without a copy, if possible
    /// (PyTorch's `computeStride`): each run of merged dims must be contiguous.
    pub fn view(&self, new_shape: &[usize]) -> Option<Layout> {
        let numel = self.numel();
        if numel == 0 || self.ndim() == 0 {
            return Some(Layout {
                shape: new_shape.into(),
                strides: contiguous_strides(new_shape),
                offset: self.offset,
            });
        }
        let mut new_strides: Dims = smallvec::smallvec![0; new_shape.len()];
        let mut view_d = new_shape.len() as isize - 1;
        let mut chunk_base_stride = *self.strides.last()?;
        let mut tensor_numel = 1usize;
        let mut view_numel = 1usize;
        for tensor_d in (0..self.ndim()).rev() {
            tensor_numel *= self.shape[tensor_d];
            let boundary = tensor_d == 0
                || (self.shape[tensor_d - 1] != 1
                    && self.strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
            if boundary {
                while view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d as usize] == 1)
                {
                    new_strides[view_d as usize] = view_numel * chunk_base_stride;
                    view_numel *= new_shape[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if tensor_d > 0 {
                    chunk_base_stride = self.strides[tensor_d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        Some(Layout {
            shape: new_shape.into(),
            strides: new_strides,
            offset: self.offset,
        })
    }

    /// The diagonal `offset` of dims `d1`, `d2`, appended as the last dim.
    pub fn diagonal(&self, diag_offset: i64, d1: usize, d2: usize) -> Layout {
        let (n1, n2) = (self.shape[d1] as i64, self.shape[d2] as i64);
        let (len, start) = if diag_offset >= 0 {
            (
                (n1.min(n2 - diag_offset)).max(0) as usize,
                diag_offset as usize * self.strides[d2],
            )
        } else {
            (
                (n2.min(n1 + diag_offset)).max(0) as usize,
                (-diag_offset) as usize * self.strides[d1],
            )
        };
        let stride = self.strides[d1] + self.strides[d2];
        let mut shape = Dims::new();
        let mut strides = Dims::new();
        for i in 0..self.ndim() {
            if i != d1 && i != d2 {
                shape.push(self.shape[i]);
                strides.push(self.strides[i]);
            }
        }
        shape.push(len);
        strides.push(stride);
        Layout {
            shape,
            strides,
            offset: self.offset + if len > 0 { start } else { 0 },
        }
    }
}

/// The strides of an elementwise op's new output of `shape`, in its inputs' memory order
/// as PyTorch's TensorIterator lays it out: `x.t().exp()` is transposed like `x.t()`, and
/// `x.t() + y` follows `x.t()`. Dims are ordered innermost-first by the first input whose
/// strides tell them apart (a broadcast dim, stride 0, tells nothing; equal strides put
/// the smaller size inside); where no input decides, row-major order stays. Inputs are
/// broadcast to `shape` (aligned on the right). `None` means row-major: the common answer,
/// found without sorting when every input is contiguous.
pub fn elementwise_strides(shape: &[usize], inputs: &[&Layout]) -> Option<Dims> {
    let n = shape.len();
    if n < 2 || inputs.iter().all(|l| l.is_contiguous()) || shape.contains(&0) {
        return None;
    }
    if let Some(first) = inputs.first() {
        // All of the output's shape with one dense layout: keep it (PyTorch's fast setup).
        if inputs
            .iter()
            .all(|l| l.shape[..] == *shape && l.strides == first.strides)
            && first.is_non_overlapping_and_dense()
        {
            return Some(first.strides.clone());
        }
    }
    let stride = |l: &Layout, d: usize| -> usize {
        match (d + l.shape.len()).checked_sub(n) {
            Some(j) if !(l.shape[j] == 1 && shape[d] != 1) => l.strides[j],
            _ => 0,
        }
    };
    // Ordering of dims a and b: Greater when a belongs outside b.
    let compare = |a: usize, b: usize| -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        for l in inputs {
            let (sa, sb) = (stride(l, a), stride(l, b));
            if sa == 0 || sb == 0 {
                continue;
            }
            if sa != sb {
                return sa.cmp(&sb);
            }
            if shape[a] > shape[b] {
                return Greater;
            }
        }
        Equal
    };
    // perm[0] is the innermost dim. Insertion sort that leaves undecided pairs in place.
    let mut perm: Dims = (0..n).rev().collect();
    for i in 1..n {
        let mut moving = i;
        for j in (0..i).rev() {
            match compare(perm[j], perm[moving]) {
                std::cmp::Ordering::Greater => {
                    perm.swap(j, moving);
                    moving = j;
                }
                std::cmp::Ordering::Less => break,
                std::cmp::Ordering::Equal => {}
            }
        }
    }
    let mut strides: Dims = smallvec::smallvec![0; n];
    let mut acc = 1usize;
    for &d in &perm {
        strides[d] = acc;
        acc = acc.saturating_mul(shape[d]);
    }
    (strides != contiguous_strides(shape)).then_some(strides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_contiguity() {
        let l = Layout::contiguous(&[2, 3, 4]);
        assert_eq!(&l.strides[..], &[12, 4, 1]);
        assert!(l.is_contiguous());
        assert!(!l.transpose(0, 2).is_contiguous());
        assert_eq!(l.storage_extent(), 24);
    }

    #[test]
    fn elementwise_output_follows_the_inputs_memory_order() {
        let c = Layout::contiguous(&[4, 3]);
        let t = Layout::contiguous(&[3, 4]).transpose(0, 1); // (4, 3), strides (1, 4)
        assert_eq!(elementwise_strides(&[4, 3], &[&c, &t]), None);
        assert_eq!(elementwise_strides(&[4, 3], &[&t, &c]).unwrap()[..], [1, 4]);
        // A broadcast row (stride 0 in dim 0) decides nothing; the transposed input does.
        let row = Layout::contiguous(&[1, 3]);
        assert_eq!(
            elementwise_strides(&[4, 3], &[&row, &t]).unwrap()[..],
            [1, 4]
        );
        // Not dense: a dense output in the input's dim order.
        let sliced = Layout::contiguous(&[4, 6])
            .slice(1, 0, 6, 2)
            .transpose(0, 1);
        assert_eq!(&sliced.strides[..], &[2, 6]);
        assert_eq!(
            elementwise_strides(&[3, 4], &[&sliced]).unwrap()[..],
            [1, 3]
        );
        // 3-d permutation, and inputs with fewer dims aligned on the right.
        let p = Layout::contiguous(&[2, 3, 4]).permute(&[2, 0, 1]);
        assert_eq!(
            elementwise_strides(&[4, 2, 3], &[&p]).unwrap()[..],
            [1, 12, 4]
        );
        let v = Layout::contiguous(&[3]);
        assert_eq!(
            elementwise_strides(&[4, 2, 3], &[&v, &p]).unwrap()[..],
            [1, 12, 4]
        );
        // Empty and 1-d outputs stay row-major.
        assert_eq!(
            elementwise_strides(&[0, 3], &[&Layout::contiguous(&[3, 0]).transpose(0, 1)]),
            None
        );
        assert_eq!(
            elementwise_strides(&[5], &[&Layout::contiguous(&[5])]),
            None
        );
    }

    #[test]
    fn broadcasting() {
        assert_eq!(&broadcast_shapes(&[3, 1], &[4]).unwrap()[..], &[3, 4]);
        assert_eq!(&broadcast_shapes(&[], &[2, 2]).unwrap()[..], &[2, 2]);
        let e = broadcast_shapes(&[2, 3], &[2, 4]).unwrap_err();
        assert!(e.to_string().contains("tensor a (3)"));
    }

    #[test]
    fn view_of_transposed_fails() {
        let t = Layout::contiguous(&[2, 3]).transpose(0, 1);
        assert!(t.view(&[6]).is_none());
        let l = Layout::contiguous(&[2, 3, 4]);
        let v = l.view(&[6, 4]).unwrap();
        assert_eq!(&v.strides[..], &[4, 1]);
        // Splitting a dim of a permuted layout is fine.
        let p = l.permute(&[2, 0, 1]);
        let v = p.view(&[2, 2, 6]).unwrap();
        assert_eq!(&v.strides[..], &[2, 1, 4]);
    }

    #[test]
    fn infer() {
        assert_eq!(&infer_size(&[-1, 4], 12).unwrap()[..], &[3, 4]);
        assert!(infer_size(&[-1, 5], 12).is_err());
        assert!(infer_size(&[-1, -1], 12).is_err());
    }

    #[test]
    fn dims() {
        assert_eq!(normalize_dim(-1, 3).unwrap(), 2);
        assert!(normalize_dim(3, 3).is_err());
        assert_eq!(normalize_dim(-1, 0).unwrap(), 0);
    }

    #[test]
    fn slicing_and_diagonal() {
        let l = Layout::contiguous(&[10]);
        let s = l.slice(0, 1, 10, 3);
        assert_eq!((s.shape[0], s.strides[0], s.offset), (3, 3, 1));
        let m = Layout::contiguous(&[3, 4]);
        let d = m.diagonal(1, 0, 1);
        assert_eq!((d.shape[0], d.strides[0], d.offset), (3, 5, 1));
    }
}
