//! Views in autograd (PyTorch's "view + in-place" rules).
//!
//! A view op's result remembers its base: the tensor that owns the storage, never
//! itself a view. Two things follow:
//! - An in-place write through a view changes the base too, so it is recorded on the
//!   base as a `CopySlices` node ([`commit_inplace`]): the base's new value is its old
//!   value with the view's region replaced by the written values.
//! - A view's history goes stale when its storage is written after the view was made
//!   (through the base, or through another view). Every read of a view's history first
//!   compares the storage version with the one the history was derived at, and when they
//!   differ re-derives it from the base's current history (`AsStridedBackward0`).
//!
//! Gradients move between a base and a view through flat indices: the position in the
//! base (row-major over its shape) of every element of the view. Index ops are
//! differentiable, so these backward formulas support higher-order gradients.

use super::node::{BackwardFn, Edge, Node};
use super::{gradient_edge, is_grad_enabled};
use crate::dtype::Scalar;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::ops::binary::Rhs;
use crate::ops::copy::{clone_contiguous, contiguous};
use crate::ops::index::{index, index_put};
use crate::ops::random_ops::zero_;
use crate::ops::shape::{as_strided, reshape, reshape_to};
use crate::tensor::Tensor;
use smallvec::smallvec;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a view op's result keeps of where it came from.
pub struct ViewInfo {
    /// The tensor owning the storage (`_base` in PyTorch).
    pub base: Tensor,
    /// Made with grad mode on. Views made under `no_grad` cannot be written in place
    /// with grad mode on when that write would need recording.
    pub differentiable: bool,
    /// Storage version at which the view's history was last derived.
    version: AtomicU64,
}

impl ViewInfo {
    pub(crate) fn new(base: Tensor) -> ViewInfo {
        let version = base.storage().version();
        ViewInfo {
            base,
            differentiable: is_grad_enabled(),
            version: AtomicU64::new(version),
        }
    }

    /// True when the storage was written since the view's history was derived.
    #[inline]
    pub(crate) fn is_stale(&self, storage_version: u64) -> bool {
        self.differentiable && self.version.load(Ordering::Relaxed) != storage_version
    }
}

/// Re-derives the history of the view `t` from its base's current history.
pub(crate) fn rederive(t: &Tensor, info: &ViewInfo) {
    info.version.store(t.storage().version(), Ordering::Relaxed);
    if !info.base.requires_grad() {
        return;
    }
    let node = as_strided_node(&info.base, t);
    t.set_grad_fn(node, 0);
}

/// `AsStridedBackward0`: the view `view` as a function of `base`.
fn as_strided_node(base: &Tensor, view: &Tensor) -> std::sync::Arc<Node> {
    let (base_layout, view_layout) = (base.layout().clone(), view.layout().clone());
    let backward: BackwardFn = Box::new(move |_, grads| {
        let Some(g) = &grads[0] else {
            return Ok(vec![None]);
        };
        let idx = view_indices(&base_layout, &view_layout)?;
        let zeros = Tensor::empty(&[base_layout.numel()], g.dtype(), g.device())?;
        let flat = index_put(&zeros, &[Some(idx)], &Rhs::Tensor(g.clone()), true)?;
        Ok(vec![Some(reshape_to(&flat, &base_layout.shape)?)])
    });
    Node::function(
        "AsStridedBackward0",
        backward,
        smallvec![gradient_edge(base)],
        1,
    )
}

/// Refuses an in-place write into `t` that autograd could not record correctly.
/// `others_need_grad`: a value written into `t` requires grad.
/// Also refuses writes into a self-overlapping tensor ([`check_no_internal_overlap`]).
pub fn check_inplace(t: &Tensor, others_need_grad: bool) -> Result<()> {
    check_no_internal_overlap(t)?;
    check_inplace_autograd(t, others_need_grad)
}

/// The autograd half of [`check_inplace`] alone (for `t[key] = value`, whose written
/// region is the indexed part of `t`, not all of it).
pub fn check_inplace_autograd(t: &Tensor, others_need_grad: bool) -> Result<()> {
    if !is_grad_enabled() {
        return Ok(());
    }
    if t.requires_grad() && t.is_leaf() {
        return Err(Error::Runtime(
            "a leaf Variable that requires grad is being used in an in-place operation.".into(),
        ));
    }
    let Some(info) = t.view_info() else {
        return Ok(());
    };
    let base = &info.base;
    if !info.differentiable {
        if base.requires_grad() || others_need_grad {
            return Err(Error::Runtime(
                "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace either both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the inplace to be tracked).".into(),
            ));
        }
    } else if base.requires_grad() && base.is_leaf() {
        return Err(Error::Runtime(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
                .into(),
        ));
    }
    Ok(())
}

/// Refuses writes into a tensor where several elements share one memory location (a
/// zero stride over a dimension longer than one, as `expand` makes): the result would
/// depend on the order of the writes, and parallel kernels would race. PyTorch's rule
/// and message.
pub fn check_no_internal_overlap(t: &Tensor) -> Result<()> {
    let l = t.layout();
    // An empty tensor has no element to share a location (PyTorch: contiguous, so no
    // overlap).
    if l.shape.contains(&0) {
        return Ok(());
    }
    if l.shape
        .iter()
        .zip(&l.strides)
        .any(|(&d, &s)| s == 0 && d > 1)
    {
        return Err(Error::Runtime(
            "unsupported operation: more than one element of the written-to tensor refers to a single memory location. Please clone() the tensor before performing the operation.".into(),
        ));
    }
    Ok(())
}

/// Refuses a write into `written` that reads `input` when the two share only part of
/// their memory (PyTorch's `assert_no_partial_overlap`). As PyTorch, it only decides
/// when both are non-overlapping and dense; the same tensor, or the same range with
/// the same strides, is a full overlap and allowed.
pub fn check_no_partial_overlap(written: &Tensor, input: &Tensor) -> Result<()> {
    if written.same(input)
        || written.numel() == 0
        || input.numel() == 0
        || !written.storage().same(input.storage())
    {
        return Ok(());
    }
    let (lw, li) = (written.layout(), input.layout());
    if !lw.is_non_overlapping_and_dense() || !li.is_non_overlapping_and_dense() {
        return Ok(());
    }
    let (wb, we) = byte_range(written);
    let (ib, ie) = byte_range(input);
    let partial = if (wb, we) == (ib, ie) {
        lw.strides != li.strides || written.dtype().size() != input.dtype().size()
    } else {
        wb < ie && ib < we
    };
    if partial {
        return Err(overlap_error());
    }
    Ok(())
}

/// Refuses a write into `written` that reads `input` when the two share any memory,
/// the same tensor included (PyTorch's `assert_no_overlap`, which the in-place
/// `index_add_` and `scatter_add_` make). As PyTorch, it only decides when both are
/// non-overlapping and dense; otherwise it lets the write through.
pub fn check_no_overlap(written: &Tensor, input: &Tensor) -> Result<()> {
    if written.numel() == 0
        || input.numel() == 0
        || !written.storage().same(input.storage())
        || !written.layout().is_non_overlapping_and_dense()
        || !input.layout().is_non_overlapping_and_dense()
    {
        return Ok(());
    }
    let ((wb, we), (ib, ie)) = (byte_range(written), byte_range(input));
    if wb < ie && ib < we {
        return Err(overlap_error());
    }
    Ok(())
}

/// The bytes a non-overlapping and dense tensor spans in its storage (views of one
/// storage may differ in dtype).
fn byte_range(t: &Tensor) -> (usize, usize) {
    let sz = t.dtype().size();
    let begin = t.offset().saturating_mul(sz);
    (begin, begin.saturating_add(t.numel().saturating_mul(sz)))
}

fn overlap_error() -> Error {
    Error::Runtime(
        "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location. Please clone() the tensor before performing the operation.".into(),
    )
}

/// Gives `t` the history of an in-place write, after its values were written and its
/// storage version bumped. `new` is where the written values' gradient goes (None when
/// they need none). For a view, the base gets a `CopySlices` node and the view's
/// history is re-derived from it.
pub fn commit_inplace(t: &Tensor, new: Option<Edge>) {
    if !is_grad_enabled() {
        return;
    }
    let info = match t.view_info() {
        Some(info) if info.differentiable => info,
        _ => {
            if let Some(e) = new {
                t.set_grad_fn(e.node, e.input_nr);
            }
            return;
        }
    };
    let base = &info.base;
    if new.is_some() || base.requires_grad() {
        let node = copy_slices_node(base, t, new);
        base.set_grad_fn(node, 0);
    }
    rederive(t, info);
}

/// `CopySlices`: the base after a write through the view `view`. Its gradient splits
/// into the old base's (zero on the region) and the written values' (the region).
fn copy_slices_node(base: &Tensor, view: &Tensor, new: Option<Edge>) -> std::sync::Arc<Node> {
    let (base_layout, view_layout) = (base.layout().clone(), view.layout().clone());
    let backward: BackwardFn = Box::new(move |ctx, grads| {
        let Some(g) = &grads[0] else {
            return Ok(vec![None, None]);
        };
        let wants = (
            ctx.node.next_edges[0].is_some(),
            ctx.node.next_edges[1].is_some(),
        );
        if let Some(at) = box_in(&base_layout, &view_layout) {
            return copy_slices_strided(g, (&base_layout, &view_layout), at, wants);
        }
        let idx = view_indices(&base_layout, &view_layout)?;
        let flat = reshape(g, &[-1])?;
        let old = match ctx.node.next_edges[0] {
            Some(_) => {
                let zeroed = index_put(
                    &flat,
                    &[Some(idx.clone())],
                    &Rhs::Scalar(Scalar::Int(0)),
                    false,
                )?;
                Some(reshape_to(&zeroed, &base_layout.shape)?)
            }
            None => None,
        };
        let region = match ctx.node.next_edges[1] {
            Some(_) => Some(index(&flat, &[Some(idx)])?),
            None => None,
        };
        Ok(vec![old, region])
    });
    Node::function(
        "CopySlices",
        backward,
        smallvec![gradient_edge(base), new],
        1,
    )
}

/// Where the view starts within a contiguous base (in elements from the base's first),
/// when every element of the view lies inside the base: then the view's own strides
/// address a contiguous tensor of the base's shape the same way, and the gradient's
/// region is a strided view of it instead of a list of indices (whose construction and
/// gathers took a tenth of a 3-D convolution's backward, through its padding).
fn box_in(base: &Layout, view: &Layout) -> Option<usize> {
    if !base.is_contiguous() {
        return None;
    }
    let start = view.offset.checked_sub(base.offset)?;
    if view.numel() == 0 {
        return Some(start);
    }
    let last = view
        .shape
        .iter()
        .zip(&view.strides)
        .try_fold(start, |acc, (&n, &s)| {
            acc.checked_add((n - 1).checked_mul(s)?)
        })?;
    (last < base.numel()).then_some(start)
}

/// `CopySlices`'s gradients when the view is a box of a contiguous base (`box_in`): the
/// old base's (the gradient with the view's elements zeroed) and the written values'
/// (the view's elements), each when `wants` says its input needs one.
fn copy_slices_strided(
    g: &Tensor,
    (base, view): (&Layout, &Layout),
    at: usize,
    wants: (bool, bool),
) -> Result<Vec<Option<Tensor>>> {
    let region_of = |t: &Tensor| as_strided(t, &view.shape, &view.strides, Some(t.offset() + at));
    let region = match (wants.1, sub_box(base, view, at)) {
        // Read straight from `g`, whatever its layout (the expanded gradient of a sum
        // was made contiguous first: F.pad of 32x64x28x28 by 2, backward 690 -> 290 us).
        (true, Some(starts)) => {
            let offset = g.offset()
                + starts
                    .iter()
                    .zip(g.strides())
                    .map(|(s, t)| s * t)
                    .sum::<usize>();
            Some(contiguous(&as_strided(
                g,
                &view.shape,
                g.strides(),
                Some(offset),
            )?)?)
        }
        (true, None) => Some(contiguous(&region_of(&contiguous(g)?)?)?),
        (false, _) => None,
    };
    let old = match wants.0 {
        true => {
            let z = clone_contiguous(g)?;
            zero_(&region_of(&z)?)?;
            Some(z)
        }
        false => None,
    };
    Ok(vec![old, region])
}

/// Where the view starts along each dim, when it is a box of the (contiguous) base cut
/// by slicing alone: the base's own strides, starting `at` elements in.
fn sub_box(base: &Layout, view: &Layout, at: usize) -> Option<Vec<usize>> {
    if view.shape.len() != base.shape.len() || view.strides != base.strides {
        return None;
    }
    let mut rest = at;
    let mut starts = Vec::with_capacity(base.shape.len());
    for ((&n, &v), &st) in base.shape.iter().zip(&view.shape).zip(&base.strides) {
        let s = rest.checked_div(st).unwrap_or(0);
        rest -= s * st;
        if s + v > n {
            return None;
        }
        starts.push(s);
    }
    (rest == 0).then_some(starts)
}

/// The flat position in the base (row-major over its shape) of every element of the
/// view, shaped like the view. Both layouts address the same storage.
fn view_indices(base: &Layout, view: &Layout) -> Result<Tensor> {
    let mut out = Vec::with_capacity(view.numel());
    if base.is_contiguous() {
        for_each_offset(view, |off| out.push(off as i64 - base.offset as i64));
    } else {
        // Storage offset -> flat base position, for the base's own (strided) layout.
        let lo = base.offset;
        let mut pos = vec![-1i64; base.storage_extent().saturating_sub(lo)];
        let mut k = 0i64;
        for_each_offset(base, |off| {
            pos[off - lo] = k;
            k += 1;
        });
        for_each_offset(view, |off| {
            out.push(
                off.checked_sub(lo)
                    .and_then(|i| pos.get(i))
                    .copied()
                    .unwrap_or(-1),
            )
        });
    }
    if out
        .iter()
        .any(|&i| i < 0 || i as usize >= base.numel().max(1))
    {
        return Err(Error::Runtime(
            "internal error: a view reaches outside its base tensor".into(),
        ));
    }
    Tensor::from_vec(out, &view.shape)
}

/// Calls `f` with the storage offset of every element of `layout`, in row-major order.
pub(crate) fn for_each_offset(layout: &Layout, mut f: impl FnMut(usize)) {
    let n = layout.numel();
    if n == 0 {
        return;
    }
    let nd = layout.ndim();
    let mut idx = vec![0usize; nd];
    let mut off = layout.offset;
    for _ in 0..n {
        f(off);
        crate::layout::step_row_major(&mut idx, &layout.shape, &layout.strides, &mut off);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(shape: &[usize], strides: &[usize], offset: usize) -> Layout {
        Layout {
            shape: shape.into(),
            strides: strides.into(),
            offset,
        }
    }

    fn indices(base: &Layout, view: &Layout) -> Vec<i64> {
        view_indices(base, view).unwrap().to_vec::<i64>().unwrap()
    }

    #[test]
    fn offsets_follow_row_major_order() {
        let mut seen = Vec::new();
        for_each_offset(&layout(&[2, 3], &[1, 2], 5), |o| seen.push(o));
        assert_eq!(seen, vec![5, 7, 9, 6, 8, 10]);
        for_each_offset(&layout(&[0, 3], &[3, 1], 0), |_| panic!("empty"));
    }

    #[test]
    fn view_of_a_contiguous_base_with_an_offset() {
        // base: rows 1..3 of a 4x3 buffer; view: its column 1.
        let base = layout(&[2, 3], &[3, 1], 3);
        let view = layout(&[2], &[3], 4);
        assert_eq!(indices(&base, &view), vec![1, 4]);
    }

    #[test]
    fn view_of_a_transposed_base() {
        // base: a 2x3 tensor stored column-major; view: its row 1.
        let base = layout(&[2, 3], &[1, 2], 0);
        let view = layout(&[3], &[2], 1);
        assert_eq!(indices(&base, &view), vec![3, 4, 5]);
    }

    #[test]
    fn view_outside_the_base_is_an_error() {
        let base = layout(&[2], &[2], 0);
        let view = layout(&[1], &[1], 1);
        assert!(view_indices(&base, &view).is_err());
    }
}
