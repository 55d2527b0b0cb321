//! The index ops' kernels as named kinds: one type per kernel, carrying its name, its
//! parameters (fields) and its CPU function over typed views.
//!
//! `ops::index` validates indices, computes shapes, offsets and autograd, and hands a
//! kind to [`run`], the family's one dispatch on the device: the meta device computes
//! nothing, the CPU monomorphises the kind per dtype, and a GPU backend adds one arm
//! that launches the kernel called `NAME` (the fields are its parameters). Every other
//! index op (index_select, take, index_add/copy/fill, masked_select/scatter, ...) is
//! written on top of these, so it needs no kernel of its own.

use super::binary::Rhs;
use super::index::AdvPlan;
use crate::cpu::index as k;
use crate::device::Backend;
use crate::dtype::{DType, Scalar};
use crate::element::Arith;
use crate::error::Result;
use crate::tensor::Tensor;

pub use crate::cpu::index::ScatterReduce;

/// An index kernel: writes `out` from `inputs` (their roles are the kind's).
pub trait IndexKind {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    /// Whether the kernel only moves elements of `out`'s dtype (no arithmetic, no
    /// comparison): then it runs on their bits, one instance per element size (see
    /// `dispatch_bits!`), and reaches its data by `cpu_bits_view(_mut)`.
    const MOVES_ONLY: bool = false;
    /// The CPU kernel for data of dtype `T` (of its bits, for a kind that moves only).
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()>;
}

/// Runs the kind `k` on data of dtype `dtype`: the index family's one dispatch point.
pub fn run<K: IndexKind>(k: &K, dtype: DType, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
    match Backend::of(out, inputs)? {
        Backend::Meta => Ok(()),
        Backend::Cpu if K::MOVES_ONLY => crate::dispatch_bits!(dtype, T => k.cpu::<T>(out, inputs)),
        Backend::Cpu => crate::dispatch_all!(dtype, T => k.cpu::<T>(out, inputs)),
    }
}

/// Offsets of every element of a layout (shape, strides) in row-major order.
fn all_offsets(shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let n: usize = shape.iter().product();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    let nd = shape.len();
    let mut idx = vec![0usize; nd];
    let mut off = 0usize;
    for _ in 0..n {
        out.push(off);
        crate::layout::step_row_major(&mut idx, shape, strides, &mut off);
    }
    out
}

/// Advanced indexing, the gather direction (`t[indices]`): `out` (fresh, contiguous)
/// takes the rows of `inputs[0]` at the plan's offsets.
pub struct Index<'a> {
    pub(super) plan: &'a AdvPlan,
}

impl IndexKind for Index<'_> {
    const NAME: &'static str = "index";
    const MOVES_ONLY: bool = true;
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
        let plan = self.plan;
        let (dst_rest, db) = plan.result_strides();
        let soff = all_offsets(&plan.rest_shape, &plan.rest_strides);
        let doff = all_offsets(&plan.rest_shape, &dst_rest);
        let s = k::Rows {
            bases: &plan.offsets,
            step: 0,
            within: &soff,
        };
        let d = k::Rows {
            bases: &[],
            step: db,
            within: &doff,
        };
        let src = inputs[0].cpu_bits_view::<T>()?;
        k::gather_rows(src, &s, out.cpu_bits_view_mut()?, &d, plan.offsets.len());
        Ok(())
    }
}

/// Advanced indexing, the scatter direction (`index_put_`): the rows of `out` at the
/// plan's offsets take (or, with `accumulate`, add) the rows of `inputs[0]` (the values,
/// contiguous, of the indexing result's shape, not overlapping `out`), in order.
pub struct IndexPut<'a> {
    pub(super) plan: &'a AdvPlan,
    pub accumulate: bool,
}

impl IndexKind for IndexPut<'_> {
    const NAME: &'static str = "index_put";
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
        let plan = self.plan;
        let (val_rest, vb) = plan.result_strides();
        let doff = all_offsets(&plan.rest_shape, &plan.rest_strides);
        let voff = all_offsets(&plan.rest_shape, &val_rest);
        let d = k::Rows {
            bases: &plan.offsets,
            step: 0,
            within: &doff,
        };
        let v = k::Rows {
            bases: &[],
            step: vb,
            within: &voff,
        };
        // A contiguous destination has no element at two positions: its positions can
        // be written from several threads.
        let disjoint = out.is_contiguous();
        let (dst, values) = (out.cpu_view_mut::<T>()?, inputs[0].cpu_view()?);
        let nb = plan.offsets.len();
        k::scatter_rows(dst, &d, values, &v, nb, self.accumulate, disjoint);
        Ok(())
    }
}

/// `gather` along `dim`: `out[i][j][k] = inputs[0][i][inputs[1][i][j][k]][k]` (for dim
/// 1); `inputs[1]` is the int64 index, of `out`'s shape.
pub struct Gather {
    pub dim: usize,
}

impl IndexKind for Gather {
    const NAME: &'static str = "gather";
    const MOVES_ONLY: bool = true;
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
        let (src, index) = (inputs[0].cpu_bits_view::<T>()?, inputs[1].cpu_view()?);
        k::gather::<T>(src, self.dim, index, out.cpu_bits_view_mut()?)
    }
}

/// `scatter` along `dim` into `out` in place: `out[i][inputs[0][i][j][k]][k] (op)=
/// src[i][j][k]` (for dim 1), in index order; the source is `inputs[1]` when `src` is
/// a tensor, else the number.
pub struct Scatter {
    pub dim: usize,
    pub src: Option<Scalar>,
    pub reduce: ScatterReduce,
}

impl Scatter {
    /// The kind for a source given as a tensor or a number.
    pub fn new(dim: usize, src: &Rhs, reduce: ScatterReduce) -> Scatter {
        let src = match src {
            Rhs::Scalar(s) => Some(*s),
            Rhs::Tensor(_) => None,
        };
        Scatter { dim, src, reduce }
    }
}

impl IndexKind for Scatter {
    const NAME: &'static str = "scatter";
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
        let src = match self.src {
            Some(Scalar::Int(i)) => k::Source::Scalar(T::from_i64(i)),
            Some(v) => k::Source::Scalar(T::cast_from_f64(v.to_f64())),
            None => k::Source::Tensor(inputs[1].cpu_view()?),
        };
        k::scatter(
            out.cpu_view_mut()?,
            self.dim,
            inputs[0].cpu_view()?,
            src,
            self.reduce,
        )
    }
}

/// `nonzero`: `out` (int64, `[count, ndim]`, count from `count_nonzero`) takes the
/// row-major indices of the non-zero elements of `inputs[0]` (contiguous).
pub struct Nonzero;

impl IndexKind for Nonzero {
    const NAME: &'static str = "nonzero";
    // Over the elements' bits (`k::nonzero_indices`).
    const MOVES_ONLY: bool = true;
    fn cpu<T: Arith>(&self, out: &Tensor, inputs: &[&Tensor]) -> Result<()> {
        let x = inputs[0].cpu_bits_slice::<T>()?;
        // A floating dtype's -0.0: its sign bit alone (T is a signed integer type of
        // the element's size, 2 to 8 bytes for the floating dtypes).
        let bits = 8 * std::mem::size_of::<T>() as u32;
        let sign = T::from_i64(i64::MIN >> (64 - bits));
        let float = inputs[0].dtype().is_floating_point();
        let zeros = [T::zero(), if float { sign } else { T::zero() }];
        // SAFETY: `out` is the op's fresh output; nothing else holds it yet.
        let dst = unsafe { out.cpu_slice_mut::<i64>()? };
        k::nonzero_indices(x, zeros, inputs[0].shape(), dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_walk_row_major() {
        assert_eq!(all_offsets(&[2, 3], &[1, 2]), vec![0, 2, 4, 1, 3, 5]);
        assert_eq!(all_offsets(&[0, 3], &[3, 1]), Vec::<usize>::new());
        assert_eq!(all_offsets(&[], &[]), vec![0]);
        assert_eq!(Index::NAME, "index");
        assert_eq!(Scatter::NAME, "scatter");
    }
}
