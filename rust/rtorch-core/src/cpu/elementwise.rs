//! Elementwise loops: `out[i] = f(a[i], …)` over views of one shape (the op expands its
//! inputs to the output's shape first). Contiguous operands (or operands with one dense
//! permutation, such as a transposed output of a transposed input) take a flat loop the
//! compiler vectorises; others take the merged strided walk of `strided::Plan`, in
//! memory order.
//!
//! The op layer (`ops::map`) picks the backend and makes the views; these loops only
//! see typed views.

use super::copy_run::copy_run;
use super::strided::Plan;
use super::view::{View, ViewMut};
use super::{SendPtr, Task2, Task3, GRAIN};
use crate::element::Element;
use crate::layout::Layout;

/// Whether the layouts (of one shape) all walk their elements as one gap-free run of
/// `numel` slots from their base pointers, in the same order: all contiguous, or all the
/// same dense permutation (a transposed output of a transposed input). The flat loops
/// then apply unchanged.
#[inline]
pub fn runs_flat(layouts: &[&Layout]) -> bool {
    layouts.iter().all(|l| l.is_contiguous())
        || layouts.iter().all(|l| l.strides == layouts[0].strides)
            && layouts[0].is_non_overlapping_and_dense()
}

/// Splits `0..n` into GRAIN-sized chunks, in parallel when worth it.
#[inline(always)]
pub fn par_chunks(n: usize, f: impl Fn(usize, usize) + Sync) {
    par_chunks_dyn(n, &f)
}

/// `par_chunks` through a trait object, so that the small (sequential) and the large
/// (parallel) case call one copy of `f`'s loop instead of each inlining its own.
fn par_chunks_dyn(n: usize, f: &dyn Task2<usize, usize>) {
    if n < GRAIN {
        f.run(0, n);
    } else {
        super::par_for(n.div_ceil(GRAIN), &|c| {
            f.run(c * GRAIN, ((c + 1) * GRAIN).min(n))
        });
    }
}

/// Elements per block of a staged operand: an input that aliases the output, copied so
/// that the loops below see disjoint slices (one vectorised loop per op then serves
/// in-place calls too), and the gathered inputs and scattered outputs of strided rows.
/// Small because a block gathered down a column touches one cache line per element:
/// on `x.t() + y` (2048², Zen 3) blocks of 256 ran 25% slower than blocks of 64.
const STAGE: usize = 64;

/// A stack block holding up to `STAGE` copied elements.
struct Stage<T>([std::mem::MaybeUninit<T>; STAGE]);

impl<T: Element> Stage<T> {
    #[inline(always)]
    fn new() -> Self {
        Stage([const { std::mem::MaybeUninit::uninit() }; STAGE])
    }

    /// Elements `s..s + l` (`l <= STAGE`) of the row at `p` with stride `stride`: read
    /// in place when unit-stride and not the output `out`, else copied into the block;
    /// a broadcast row (stride 0) fills the block with its one value.
    ///
    /// # Safety
    /// The row's elements must be valid for reads.
    #[inline(always)]
    unsafe fn gather<O>(
        &mut self,
        p: *const T,
        stride: usize,
        s: usize,
        l: usize,
        out: *const O,
    ) -> &[T] {
        debug_assert!(l <= STAGE);
        let dst = self.0.as_mut_ptr().cast::<T>();
        // SAFETY: the caller guarantees the row; the block holds STAGE >= l slots, all
        // written here before they are viewed. A row read in place is not the output,
        // which is the only row written.
        unsafe {
            if stride == 1 && !std::ptr::eq(p as *const u8, out as *const u8) {
                return std::slice::from_raw_parts(p.add(s), l);
            }
            if stride == 0 {
                let v = *p;
                for i in 0..l {
                    dst.add(i).write(v);
                }
            } else {
                for i in 0..l {
                    dst.add(i).write(*p.add((s + i) * stride));
                }
            }
            std::slice::from_raw_parts(dst, l)
        }
    }
}

/// Calls `f(start, len)` for consecutive pieces of at most `size` elements of `0..n`
/// (blocks of `STAGE`, runs of `RUN`).
#[inline(always)]
fn each_piece(n: usize, size: usize, mut f: impl FnMut(usize, usize)) {
    let mut s = 0;
    while s < n {
        let l = size.min(n - s);
        f(s, l);
        s += l;
    }
}

/// Copies of a row repeated down rows shorter than this double their copies
/// (`repeat_row`) rather than a call per row.
const SHORT_COPY: usize = 64;

/// Elements per run of a row against a broadcast value (`broadcast`): long enough that
/// the calls into the vector loops cost little.
const RUN: usize = 512;

/// `v` in the first `min(len, RUN)` slots of `b`, as a slice: a stride-0 operand of a
/// row for the vector loops. (Filled in the caller's block: a block returned by value
/// was copied per row, which cost more than the row.)
#[inline(always)]
fn broadcast<T: Element>(b: &mut [std::mem::MaybeUninit<T>; RUN], v: T, len: usize) -> &[T] {
    let m = len.min(RUN);
    for slot in &mut b[..m] {
        slot.write(v);
    }
    // SAFETY: the first m slots were just written; MaybeUninit<T> has T's layout.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<T>(), m) }
}

/// `o[i] = f(x[i])`; never inlined, so that each op has one copy of its vector loop.
#[inline(never)]
fn zip1<A: Element, O: Element>(o: &mut [O], x: &[A], f: &impl Fn(A) -> O) {
    for (v, &xa) in o.iter_mut().zip(x) {
        *v = f(xa);
    }
}

/// `o[i] = f(x[i], y[i])`; never inlined, as `zip1`.
#[inline(never)]
fn zip2<A: Element, B: Element, O: Element>(o: &mut [O], x: &[A], y: &[B], f: &impl Fn(A, B) -> O) {
    for ((v, &xa), &yb) in o.iter_mut().zip(x).zip(y) {
        *v = f(xa, yb);
    }
}

/// `o[i] = f(x[i], y[i], z[i])`; never inlined, as `zip1`.
#[inline(never)]
fn zip3<A: Element, B: Element, C: Element, O: Element>(
    o: &mut [O],
    x: &[A],
    y: &[B],
    z: &[C],
    f: &impl Fn(A, B, C) -> O,
) {
    for (((v, &xa), &yb), &zc) in o.iter_mut().zip(x).zip(y).zip(z) {
        *v = f(xa, yb, zc);
    }
}

/// Whether `O` is `A`: a map whose output is its input's type can then run in place.
#[inline(always)]
fn same_type<A: Element, O: Element>() -> bool {
    std::any::TypeId::of::<A>() == std::any::TypeId::of::<O>()
}

/// `o[i] = f(o[i])` where `O` is `A` (`same_type`): the in-place form of `zip1`, each
/// element read just before it is written, so that an op on its own output needs no
/// staged copy (`x.mul_(0.9)` spent 60% of its time copying blocks of 64 for `zip1`).
#[inline(never)]
fn zip1_in_place<A: Element, O: Element>(o: &mut [A], f: &impl Fn(A) -> O) {
    assert!(same_type::<A, O>());
    for v in o.iter_mut() {
        let r = f(*v);
        // SAFETY: `O` is `A` (asserted above), so this is a plain copy of `r`.
        *v = unsafe { std::mem::transmute_copy::<O, A>(&r) };
    }
}

/// `o[i] = f(o[i], y[i])` where `O` is `A`: the in-place form of `zip2`, as
/// `zip1_in_place`.
#[inline(never)]
fn zip2_in_place<A: Element, B: Element, O: Element>(o: &mut [A], y: &[B], f: &impl Fn(A, B) -> O) {
    assert!(same_type::<A, O>());
    for (v, &yb) in o.iter_mut().zip(y) {
        let r = f(*v, yb);
        // SAFETY: `O` is `A` (asserted above).
        *v = unsafe { std::mem::transmute_copy::<O, A>(&r) };
    }
}

/// `out[i] = f(a[i])`. `out` and `a` have the same shape; `out` may alias `a`
/// exactly (in-place ops) but must not partially overlap it.
pub fn unary_map<A: Element, O: Element>(
    out: ViewMut<'_, O>,
    a: View<'_, A>,
    f: impl Fn(A) -> O + Sync,
) {
    let po = SendPtr(out.ptr());
    let pa = SendPtr(a.ptr() as *mut A);
    // A run of `len` unit-stride elements at element offsets `[oo, oa]`: the vectorised
    // loops, called through one trait object by the contiguous case and by strided
    // plans with unit-stride rows, so that they are compiled once per instantiation.
    let unit = |[oo, oa]: [usize; 2], len: usize| {
        // SAFETY: the run lies inside both views (offsets from their layouts). An input
        // that is the output (exact alias) is mapped in place when the types agree (one
        // mutable slice), else read through a staged copy, so the slices handed to
        // `zip1` never overlap.
        unsafe {
            let (po, pa) = (po.get().add(oo), pa.get().add(oa));
            if std::ptr::eq(po as *const u8, pa as *const u8) && same_type::<A, O>() {
                zip1_in_place(std::slice::from_raw_parts_mut(pa, len), &f);
            } else if std::ptr::eq(po as *const u8, pa as *const u8) {
                each_piece(len, STAGE, |s, l| {
                    let mut xs = Stage::<A>::new();
                    let x = xs.gather(pa, 1, s, l, po);
                    zip1(std::slice::from_raw_parts_mut(po.add(s), l), x, &f);
                });
            } else {
                let o = std::slice::from_raw_parts_mut(po, len);
                zip1(o, std::slice::from_raw_parts(pa, len), &f);
            }
        }
    };
    let zip = |o: &mut [O], x: &[A]| zip1(o, x, &f);
    let row = |[oo, oa]: [usize; 2], [so, sa]: [usize; 2], len: usize| {
        // SAFETY: the offsets and strides come from the layouts, so every element the
        // row walks lies inside its view.
        unsafe { strided_row1((po.get().add(oo), so), (pa.get().add(oa), sa), len, &zip) }
    };
    walk([out.layout(), a.layout()], &unit, &row);
}

/// The walk over the elements that every map shares, compiled once per operand count
/// rather than once per op: `unit` takes the runs of unit-stride elements (the whole
/// range in chunks when the operands run flat, else the plan's unit-stride rows) and
/// `row` the strided rows, with their inner strides. Offsets are in elements from each
/// view's first element.
#[inline(never)]
fn walk<const N: usize>(
    layouts: [&Layout; N],
    unit: &dyn Task2<[usize; N], usize>,
    row: &dyn Task3<[usize; N], [usize; N], usize>,
) {
    if runs_flat(&layouts) {
        let n = layouts[0].numel();
        if n > 0 {
            par_chunks(n, |s, e| unit.run([s; N], e - s));
        }
        return;
    }
    let plan =
        Plan::new_memory_order(&layouts[0].shape, layouts.map(|l| &l.strides[..])).long_rows();
    let strides = plan.inner_strides();
    if strides == [1; N] {
        plan.par_for_rows(&|offs, len| unit.run(offs, len));
    } else {
        plan.par_for_rows(&|offs, len| row.run(offs, strides, len));
    }
}

/// One block of a map, `o[i] = f(x[i], …)`, as the strided rows call it.
type Zip1<'f, A, O> = dyn Fn(&mut [O], &[A]) + 'f;
type Zip3<'f, A, B, C, O> = dyn Fn(&mut [O], &[A], &[B], &[C]) + 'f;

/// One row of a strided unary walk in blocks of `STAGE`: the input is gathered into a
/// block (or filled from its one value when broadcast), the output written directly
/// when unit-stride, else from a block. Generic over the types only: every op of a
/// dtype shares it, and its one vector loop runs in `zip`.
///
/// # Safety
/// `len` elements at the given strides must be valid, the output's for writes.
unsafe fn strided_row1<A: Element, O: Element>(
    (po, so): (*mut O, usize),
    (pa, sa): (*const A, usize),
    len: usize,
    zip: &Zip1<A, O>,
) {
    let (mut xs, mut os) = (Stage::<A>::new(), Stage::<O>::new());
    each_piece(len, STAGE, |s, l| {
        // SAFETY: the caller guarantees the row; blocks stay inside it.
        unsafe {
            let x = xs.gather(pa, sa, s, l, po);
            write_block(&mut os, po, so, s, l, |o| zip(o, x));
        }
    });
}

/// As `strided_row1` for three inputs (`ternary_map`'s rows, unit-stride ones too).
///
/// # Safety
/// As `strided_row1`.
unsafe fn strided_row3<A: Element, B: Element, C: Element, O: Element>(
    (po, so): (*mut O, usize),
    (pa, sa): (*const A, usize),
    (pb, sb): (*const B, usize),
    (pc, sc): (*const C, usize),
    len: usize,
    zip: &Zip3<A, B, C, O>,
) {
    let (mut xs, mut ys, mut zs) = (Stage::<A>::new(), Stage::<B>::new(), Stage::<C>::new());
    let mut os = Stage::<O>::new();
    each_piece(len, STAGE, |s, l| {
        // SAFETY: the caller guarantees the row; blocks stay inside it.
        unsafe {
            let x = xs.gather(pa, sa, s, l, po);
            let y = ys.gather(pb, sb, s, l, po);
            let z = zs.gather(pc, sc, s, l, po);
            write_block(&mut os, po, so, s, l, |o| zip(o, x, y, z));
        }
    });
}

/// Runs `fill` on elements `s..s + l` of the row at `po` with stride `so`: in place when
/// unit-stride, else on a block that is then scattered.
///
/// # Safety
/// The row's elements must be valid for writes, and `fill` must not read them.
#[inline(always)]
unsafe fn write_block<O: Element>(
    os: &mut Stage<O>,
    po: *mut O,
    so: usize,
    s: usize,
    l: usize,
    fill: impl FnOnce(&mut [O]),
) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        if so == 1 {
            fill(std::slice::from_raw_parts_mut(po.add(s), l));
        } else {
            let o = std::slice::from_raw_parts_mut(os.0.as_mut_ptr().cast::<O>(), l);
            o.fill(O::zero());
            fill(o);
            for (i, &v) in o.iter().enumerate() {
                *po.add((s + i) * so) = v;
            }
        }
    }
}

/// A 16-bit float type that computes in float32 and rounds back once.
pub trait Half: Element {
    /// True for float32 alone (whose widening is a copy): its flat maps compute
    /// straight in the output (`direct_ok`).
    const IS_F32: bool = false;
    fn widen(self) -> f32;
    fn narrow(v: f32) -> Self;
    /// `dst = src` widened (vectorised conversion where the CPU has one).
    fn widen_slice(src: &[Self], dst: &mut [f32]);
    /// `dst = src` rounded to nearest even.
    fn narrow_slice(src: &[f32], dst: &mut [Self]);
    /// Sum in float32 of a block of at most `reduce_simd::SUM_BLOCK` values (the block
    /// kernel of `reduce::sum_half`).
    fn sum_block(x: &[Self]) -> f32;
}

macro_rules! impl_half {
    ($($t:ty => $widen:path, $narrow:path, $sum:path);*) => {$(
        impl Half for $t {
            #[inline(always)]
            fn widen(self) -> f32 {
                self.to_f32()
            }
            #[inline(always)]
            fn narrow(v: f32) -> Self {
                <$t>::from_f32(v)
            }
            #[inline(always)]
            fn widen_slice(src: &[Self], dst: &mut [f32]) {
                $widen(src, dst)
            }
            #[inline(always)]
            fn narrow_slice(src: &[f32], dst: &mut [Self]) {
                $narrow(src, dst)
            }
            fn sum_block(x: &[Self]) -> f32 {
                $sum(x)
            }
        }
    )*};
}
impl_half!(
    half::f16 => super::half_convert::f16_to_f32, super::half_convert::f32_to_f16,
        super::reduce_simd::sum_f16_block;
    half::bf16 => super::half_convert::bf16_to_f32, super::half_convert::f32_to_bf16,
        super::reduce_simd::sum_bf16_block
);

/// float32 itself, "widened" and "narrowed" by copying: strided float32 then runs through
/// the same block walk and float32 slice kernels as contiguous float32, so an op gives
/// one result per value whatever the layout.
impl Half for f32 {
    const IS_F32: bool = true;
    #[inline(always)]
    fn widen(self) -> f32 {
        self
    }
    #[inline(always)]
    fn narrow(v: f32) -> Self {
        v
    }
    #[inline(always)]
    fn widen_slice(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src)
    }
    #[inline(always)]
    fn narrow_slice(src: &[f32], dst: &mut [Self]) {
        dst.copy_from_slice(src)
    }
    fn sum_block(x: &[Self]) -> f32 {
        super::reduce_simd::sum_f32(x)
    }
}

/// Elements per float32 block of the half-precision map (a stack buffer).
const HALF_BLOCK: usize = 1024;

/// An uninitialised stack block of the half-precision map.
type Block = [std::mem::MaybeUninit<f32>; HALF_BLOCK];

/// A fresh stack block for the half-precision map.
#[inline(always)]
fn block() -> Block {
    [std::mem::MaybeUninit::uninit(); HALF_BLOCK]
}

/// The first `min(len, HALF_BLOCK)` floats of `b`, zeroed: only what a run of `len`
/// elements uses (a whole zeroed block per run cost a 4 KB memset per row of a strided
/// map, 13% of `x[:, 256:].sigmoid()` on 4096x512).
#[inline(always)]
fn zeroed(b: &mut Block, len: usize) -> &mut [f32] {
    let m = len.min(HALF_BLOCK);
    for slot in &mut b[..m] {
        slot.write(0.0);
    }
    // SAFETY: the first m slots were just written; MaybeUninit<f32> has f32's layout.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast::<f32>(), m) }
}

/// Reads `dst.len()` elements from `p + off` with stride `stride`, widened.
///
/// # Safety
/// Every element read must lie inside the view's storage.
#[inline]
unsafe fn widen_run<H: Half>(p: *const H, off: usize, stride: usize, dst: &mut [f32]) {
    if stride == 1 {
        H::widen_slice(std::slice::from_raw_parts(p.add(off), dst.len()), dst);
    } else if stride == 0 {
        // A broadcast operand: one value (the element loop below is a scalar gather).
        dst.fill((*p.add(off)).widen());
    } else {
        for (i, v) in dst.iter_mut().enumerate() {
            *v = (*p.add(off + i * stride)).widen();
        }
    }
}

/// Writes `src` rounded to `p + off` with stride `stride`.
///
/// # Safety
/// Every element written must lie inside the view's storage, and no slice of the
/// input may be alive over the written elements (the caller reads a block whole first).
#[inline]
unsafe fn narrow_run<H: Half>(src: &[f32], p: *mut H, off: usize, stride: usize) {
    if stride == 1 {
        H::narrow_slice(src, std::slice::from_raw_parts_mut(p.add(off), src.len()));
    } else {
        for (i, v) in src.iter().enumerate() {
            *p.add(off + i * stride) = H::narrow(*v);
        }
    }
}

/// `out[i] = round(f(widen(a[i])))` for a 16-bit float type: runs of elements are widened
/// into a float32 block, `f` maps the block in place (the op's float32 kernel) and every
/// result is rounded once, as PyTorch's CPU kernels compute half types. `f` is a trait
/// object: one copy of this walk serves every op (a generic one per op and half type
/// was ~0.3 MB of the extension). Same aliasing rules as `unary_map`: a block is read
/// whole before it is written.
pub fn unary_map_half<H: Half>(
    out: ViewMut<'_, H>,
    a: View<'_, H>,
    f: &(dyn Fn(&mut [f32]) + Sync),
) {
    let po = SendPtr(out.ptr());
    let pa = SendPtr(a.ptr() as *mut H);
    // One run: `len` elements from offsets (oo, oa) with strides (so, sa).
    let run = |oo: usize, so: usize, oa: usize, sa: usize, len: usize| {
        let mut store = block();
        let buf = zeroed(&mut store, len);
        for start in (0..len).step_by(HALF_BLOCK) {
            let b = &mut buf[..HALF_BLOCK.min(len - start)];
            // SAFETY: the offsets come from the layouts (or lie inside the contiguous
            // buffers), which stay inside their storage; the block is read whole
            // before it is written.
            unsafe {
                widen_run(pa.get(), oa + start * sa, sa, b);
                f(b);
                narrow_run(b, po.get(), oo + start * so, so);
            }
        }
    };
    if runs_flat(&[out.layout(), a.layout()]) {
        let n = out.numel();
        if n == 0 {
            return;
        }
        if direct_ok::<H>(po.get(), pa.get(), &[], n) {
            // SAFETY: as in `binary_map_half`.
            let (o, x) = (
                SendPtr(po.get().cast::<f32>()),
                SendPtr(pa.get().cast::<f32>()),
            );
            par_chunks(n, |s, e| unsafe {
                direct_blocks(o.get(), x.get(), [], (s, e), &|x, []| f(x))
            });
        } else {
            par_chunks(n, |s, e| run(s, 1, s, 1, e - s));
        }
        return;
    }
    let plan = Plan::new_memory_order(out.shape(), [out.strides(), a.strides()]).long_rows();
    let [so, sa] = plan.inner_strides();
    if let (true, 1, 1) = (H::IS_F32, so, sa) {
        // Rows of float32 computed in the output, as the flat case: `x[:, 256:].sigmoid()`
        // on 4096x512 through the blocks took 2.6x the contiguous op's time.
        plan.par_for_rows(&|[oo, oa], len| {
            // SAFETY: H is f32, so the casts keep the pointee type; the offsets come from
            // the layouts, both rows have unit stride, and each output row is written
            // by one thread only.
            let done = unsafe {
                let (o, x) = (
                    po.get().add(oo).cast::<f32>(),
                    pa.get().add(oa).cast::<f32>(),
                );
                direct_row_unary(o, x, len, f)
            };
            if !done {
                run(oo, so, oa, sa, len);
            }
        });
        return;
    }
    plan.par_for_rows(&|[oo, oa], len| run(oo, so, oa, sa, len));
}

/// One unit-stride row of a float32 unary map computed in the output (`direct_blocks`
/// on the row). Returns false, having written nothing, unless the output row is the
/// input's or shares no byte with it.
///
/// # Safety
/// `len` elements of each row are valid, the output's for writes; no other thread reads
/// or writes the output row, nor writes the input's.
unsafe fn direct_row_unary(
    o: *mut f32,
    x: *const f32,
    len: usize,
    f: &(dyn Fn(&mut [f32]) + Sync),
) -> bool {
    // (The rows exist, so their bytes fit in the address space.)
    let bytes = len * std::mem::size_of::<f32>();
    let (ou, xu) = (o as usize, x as usize);
    if !(ou == xu || apart(ou, bytes, xu, bytes)) {
        return false;
    }
    // SAFETY: the row is the input's or disjoint from it (checked above), the rest is
    // the caller's contract.
    unsafe { direct_blocks(o, x, [], (0, len), &|b, []| f(b)) };
    true
}

/// Whether the `pl` bytes at address `p` and the `ql` bytes at `q` share none.
#[inline(always)]
fn apart(p: usize, pl: usize, q: usize, ql: usize) -> bool {
    p.saturating_add(pl) <= q || q.saturating_add(ql) <= p
}

/// Whether a flat map of `n` elements may compute straight in the output: `H` is float32,
/// `out` is the first input or shares no byte with it, and it shares none with the
/// other inputs. Then each block of the first input is copied into `out` and mapped in
/// place there while the others are read where they lie: one copy where the buffered
/// walk made one per operand (for `x / y` on float32, a third of its time).
fn direct_ok<H: Half>(out: *const H, first: *const H, others: &[*const H], n: usize) -> bool {
    // (The tensors exist, so n elements' bytes fit in the address space.)
    let bytes = n * std::mem::size_of::<H>();
    let disjoint = |p: *const H, q: *const H| apart(p as usize, bytes, q as usize, bytes);
    H::IS_F32 && (out == first || disjoint(out, first)) && others.iter().all(|&p| disjoint(out, p))
}

/// A block kernel for `direct_blocks`: maps its first argument in place, reading the rest.
type DirectBlock<'a, const R: usize> = dyn Fn(&mut [f32], [&[f32]; R]) + 'a;

/// `out[s..e] = f(a, rest)` for flat float32 computed in `out` (see `direct_ok`), block by
/// block: `a`'s block copied into `out` (unless `out` is `a`), then `f` maps it in place
/// with the other inputs' blocks.
///
/// # Safety
/// `out`, `a` and each of `rest` point to at least `e` floats of live storage; `out` is
/// `a` or disjoint from it and disjoint from every one of `rest` over those elements;
/// no other thread reads or writes `out[s..e]`, nor writes the inputs' elements.
unsafe fn direct_blocks<const R: usize>(
    out: *mut f32,
    a: *const f32,
    rest: [*const f32; R],
    (s, e): (usize, usize),
    f: &DirectBlock<'_, R>,
) {
    for start in (s..e).step_by(HALF_BLOCK) {
        let n = HALF_BLOCK.min(e - start);
        // SAFETY: in bounds by the contract; the copy's ranges do not overlap (out is
        // a, skipped, or disjoint from it), and the slices below alias nothing mutable.
        unsafe {
            if !std::ptr::eq(out, a) {
                std::ptr::copy_nonoverlapping(a.add(start), out.add(start), n);
            }
            let x = std::slice::from_raw_parts_mut(out.add(start), n);
            f(x, rest.map(|p| std::slice::from_raw_parts(p.add(start), n)));
        }
    }
}

/// `out[i] = round(f(widen(a[i]), widen(b[i])))` for a 16-bit float type, in float32
/// blocks as `unary_map_half`: `f(x, y)` leaves its results in `x`. Same aliasing rules
/// as `binary_map`.
pub fn binary_map_half<H: Half>(
    out: ViewMut<'_, H>,
    a: View<'_, H>,
    b: View<'_, H>,
    f: &(dyn Fn(&mut [f32], &[f32]) + Sync),
) {
    let po = SendPtr(out.ptr());
    let pa = SendPtr(a.ptr() as *mut H);
    let pb = SendPtr(b.ptr() as *mut H);
    let run = |[oo, oa, ob]: [usize; 3], [so, sa, sb]: [usize; 3], len: usize| {
        let (mut xs, mut ys) = (block(), block());
        let (x, y) = (zeroed(&mut xs, len), zeroed(&mut ys, len));
        for start in (0..len).step_by(HALF_BLOCK) {
            let n = HALF_BLOCK.min(len - start);
            let (x, y) = (&mut x[..n], &mut y[..n]);
            // SAFETY: as in `unary_map_half`; both input blocks are read whole before
            // the output block is written.
            unsafe {
                widen_run(pa.get(), oa + start * sa, sa, x);
                widen_run(pb.get(), ob + start * sb, sb, y);
                f(x, y);
                narrow_run(x, po.get(), oo + start * so, so);
            }
        }
    };
    if runs_flat(&[out.layout(), a.layout(), b.layout()]) {
        let n = out.numel();
        if n == 0 {
            return;
        }
        if direct_ok::<H>(po.get(), pa.get(), &[pb.get()], n) {
            // SAFETY: H is f32 (`direct_ok`), so the casts keep the pointee type; flat
            // runs put every operand's n elements at its pointer; `direct_ok` checked
            // the overlaps and the chunks split `out` between the threads.
            let (o, x, y) = (
                po.get().cast::<f32>(),
                pa.get().cast::<f32>(),
                pb.get().cast::<f32>(),
            );
            let (o, x, y) = (SendPtr(o), SendPtr(x), SendPtr(y));
            par_chunks(n, |s, e| unsafe {
                direct_blocks(
                    o.get(),
                    x.get(),
                    [y.get().cast_const()],
                    (s, e),
                    &|x, [y]| f(x, y),
                )
            });
        } else {
            par_chunks(n, |s, e| run([s, s, s], [1, 1, 1], e - s));
        }
        return;
    }
    let plan =
        Plan::new_memory_order(out.shape(), [out.strides(), a.strides(), b.strides()]).long_rows();
    let strides = plan.inner_strides();
    if let (true, [1, 1, sb @ (0 | 1)]) = (H::IS_F32, strides) {
        let kernels = BlockKernels {
            in_place: f,
            apart: None,
            affine: None,
            by_value: None,
        };
        if short_rows_f32(
            &plan,
            [po.get(), pa.get(), pb.get()].map(|p| p.cast()),
            &kernels,
        ) {
            return;
        }
        // Rows of float32 computed in the output, as the flat case: `x / col`, `x - row`.
        plan.par_for_rows(&|[oo, oa, ob], len| {
            // SAFETY: H is f32, so the casts keep the pointee type; the offsets come from
            // the layouts, the rows have the strides given, and each row of `out` is
            // written by one thread only.
            let done = unsafe {
                let (o, x) = (
                    po.get().add(oo).cast::<f32>(),
                    pa.get().add(oa).cast::<f32>(),
                );
                direct_row(o, x, pb.get().add(ob).cast::<f32>(), sb, len, f)
            };
            if !done {
                run([oo, oa, ob], strides, len);
            }
        });
        return;
    }
    plan.par_for_rows(&|offs, len| run(offs, strides, len));
}

/// A float32 binary op's block kernels: `in_place(x, y)` leaves `op(x, y)` in `x`;
/// `apart(o, x, y)`, where the op has one, writes it to `o` (one pass where a copy into
/// `o` first made two: `x + row` 45 -> 25 us on 4096x64).
pub struct BlockKernels<'f> {
    pub in_place: &'f (dyn Fn(&mut [f32], &[f32]) + Sync),
    pub apart: Option<&'f ApartBlock>,
    /// The op against one value per row as `x * s + t`, where it is that exactly.
    pub affine: Option<RowAffine>,
    /// `by_value(o, x, vals)`: rows of `o.len() / vals.len()` elements, a multiple of 16
    /// (one row: any length), row r against the one value `vals[r]` (`x / col` without a
    /// block of the column's values: 41 -> 29 us on 16384x16; shorter tails ran one by
    /// one, slower than the block).
    pub by_value: Option<&'f ApartBlock>,
}

/// An op of a float32 element `x` and a value `v` that is `x * s + t` bit for bit, the
/// product and the sum rounded apart: `x + v` is `x * 1 + v`, `x - v` is `x * 1 + -v`
/// (IEEE subtraction), `x * v` is `x * v + -0.0` (the one sum that changes no value, a
/// zero's sign included). Rows against a column then run without a block of the column's
/// values (`affine_rows`).
#[derive(Clone, Copy)]
pub enum RowAffine {
    Add,
    Sub,
    Mul,
}

impl RowAffine {
    #[inline(always)]
    fn scale_shift(self, v: f32) -> (f32, f32) {
        match self {
            RowAffine::Add => (1.0, v),
            RowAffine::Sub => (1.0, -v),
            RowAffine::Mul => (v, -0.0),
        }
    }
}

/// `o[r][i] = x[r][i] * s_r + t_r` for `rows` rows of `len` (the output's and first
/// input's rows following each other; `x` None: in place) with `(s_r, t_r)` from the
/// value `col[r * step]`, compiled for the widest vector unit.
///
/// # Safety
/// `o` holds `rows * len` elements this thread alone writes, `x` as many to read, apart
/// from `o`; the column's values are valid reads outside the output.
unsafe fn affine_rows(
    o: *mut f32,
    x: Option<*const f32>,
    (col, step): (*const f32, usize),
    (len, rows): (usize, usize),
    kind: RowAffine,
) {
    super::math::at_widest_level(
        #[inline(always)]
        || {
            for r in 0..rows {
                // SAFETY: the caller's contract; the two slices (apart) or the one (in
                // place) cover row r.
                unsafe {
                    let (s, t) = kind.scale_shift(*col.add(r * step));
                    let or = std::slice::from_raw_parts_mut(o.add(r * len), len);
                    match x {
                        Some(x) => {
                            let xr = std::slice::from_raw_parts(x.add(r * len), len);
                            for (p, &a) in or.iter_mut().zip(xr) {
                                *p = a * s + t;
                            }
                        }
                        None => {
                            for p in or.iter_mut() {
                                *p = *p * s + t;
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `o = op(x, y)` over float32 blocks (`BlockKernels::apart`).
pub type ApartBlock = dyn Fn(&mut [f32], &[f32], &[f32]) + Sync;

/// `out[i] = f(a[i], b[i])` on float32 through `short_rows_f32` when it applies (not for
/// operands that run flat): true if it ran. For the arithmetic kinds whose generic map
/// pays a call per row (`x + row` on 4096x64: 3x PyTorch's time).
pub fn binary_short_rows_f32(
    out: ViewMut<'_, f32>,
    a: View<'_, f32>,
    b: View<'_, f32>,
    f: &BlockKernels,
) -> bool {
    let layouts = [out.layout(), a.layout(), b.layout()];
    if runs_flat(&layouts) {
        return false;
    }
    let plan =
        Plan::new_memory_order(&layouts[0].shape, layouts.map(|l| &l.strides[..])).long_rows();
    short_rows_f32(
        &plan,
        [out.ptr(), a.ptr() as *mut f32, b.ptr() as *mut f32],
        f,
    )
}

/// Groups of short float32 rows (at most HALF_BLOCK / 2 elements; any length for the
/// `by_value` kernel) that follow each other in the output and the first input, against
/// a row repeated (`x + row`) or a value per row (`x * col`) in the second, computed at
/// once (`direct_rows`): false, having done nothing, for other plans. `ptrs`: the
/// operands' first elements.
fn short_rows_f32(plan: &Plan<3>, ptrs: [*mut f32; 3], f: &BlockKernels) -> bool {
    let nd = plan.shape.len();
    let len = plan.inner_len();
    let [so, sa, sb] = plan.inner_strides();
    // Longer rows against a column too where the kind's one-pass `by_value` kernel takes
    // them (out of place; one row at a time, so of any length): `direct_row` otherwise
    // copies each row into the output and fills a block with its value (`x / col` on
    // 1024x1024: 2.4x PyTorch's time on a Zen 3, AVX2; 1000 wide 2.2x).
    let by_value = sb == 0 && f.by_value.is_some() && ptrs[0] != ptrs[1];
    let short = len <= HALF_BLOCK / 2 || by_value;
    if nd < 2 || !short || so != 1 || sa != 1 || sb > 1 || plan.numel() == 0 {
        return false;
    }
    let step = |k: usize| plan.strides[k][nd - 2];
    let sby = step(2);
    if step(0) != len || step(1) != len || (sb == 1 && sby != 0) {
        return false;
    }
    // The output is the first input exactly or shares no byte with it, and shares none
    // with the second: the groups can then be computed in the output (`direct_rows`).
    let extent = |k: usize| {
        let last: usize = plan
            .shape
            .iter()
            .zip(&plan.strides[k])
            .map(|(&n, &s)| (n - 1) * s)
            .sum();
        (ptrs[k] as usize, (last + 1) * std::mem::size_of::<f32>())
    };
    let ([o, a, b], same) = (
        [0, 1, 2].map(extent),
        ptrs[0] == ptrs[1] && plan.strides[0] == plan.strides[1],
    );
    if !((same || apart(o.0, o.1, a.0, a.1)) && apart(o.0, o.1, b.0, b.1)) {
        return false;
    }
    let [po, pa, pb] = ptrs.map(SendPtr);
    let group = (HALF_BLOCK / len).max(1);
    plan.par_for_row_ranges(&|range| {
        let mut ys = RowsBlock {
            block: block(),
            row_at: None,
        };
        for (r, rows) in plan.row_groups(range, group) {
            let [oo, oa, ob] = plan.row_offsets(r);
            // SAFETY: the offsets come from the layouts; the group's rows are `len`
            // apart in the output and first input (checked above) and `sby` apart in
            // the second; the overlaps were ruled out above; each output row is written
            // by one thread only.
            unsafe {
                let (o, x) = (po.get().add(oo), pa.get().add(oa).cast_const());
                let y = (pb.get().add(ob).cast_const(), sb, sby);
                direct_rows(o, x, y, (len, rows, group), &mut ys, f);
            }
        }
    });
    true
}

/// The block of second operands of `direct_rows`, kept across the groups of a task: a
/// row repeated is laid out once per row (`row_at`: its address, the block holding it
/// repeated for a whole group).
struct RowsBlock {
    block: Block,
    row_at: Option<usize>,
}

/// One row of a float32 binary map computed in the output, as `direct_blocks` does for
/// flat operands: the first input's row copied into the output's (both unit-stride,
/// unless they are the same row), then mapped there with the second input read in
/// place (unit stride) or from a block filled with its one value (stride 0; the
/// buffered walk gathered it element by element and copied both rows through blocks:
/// `x / x.norm(dim=1, keepdim=True)` ran at half PyTorch's speed). Returns false,
/// having written nothing, unless the output row is the first input's or shares no
/// byte with it and shares none with the second input's elements.
///
/// # Safety
/// `len` elements of each row are valid at their strides, the output's for writes; no
/// other thread reads or writes the output row, nor writes the inputs' elements.
unsafe fn direct_row(
    o: *mut f32,
    x: *const f32,
    y: *const f32,
    sy: usize,
    len: usize,
    f: &(dyn Fn(&mut [f32], &[f32]) + Sync),
) -> bool {
    // (The rows exist, so their bytes fit in the address space.)
    let bytes = len * std::mem::size_of::<f32>();
    let y_bytes = if sy == 1 {
        bytes
    } else {
        std::mem::size_of::<f32>()
    };
    let (ou, xu, yu) = (o as usize, x as usize, y as usize);
    if !((ou == xu || apart(ou, bytes, xu, bytes)) && apart(ou, bytes, yu, y_bytes)) {
        return false;
    }
    let mut fill = [std::mem::MaybeUninit::<f32>::uninit(); HALF_BLOCK];
    if sy == 0 {
        // SAFETY: y is valid for one read (the caller's contract).
        let v = unsafe { *y };
        for slot in fill.iter_mut().take(len.min(HALF_BLOCK)) {
            slot.write(v);
        }
    }
    for start in (0..len).step_by(HALF_BLOCK) {
        let n = HALF_BLOCK.min(len - start);
        // SAFETY: in bounds by the contract; the copy's ranges are the same row (skipped)
        // or disjoint (checked above), the output row shares no byte with y's elements,
        // and with sy = 0 the first n <= min(len, HALF_BLOCK) slots of `fill` are
        // written.
        unsafe {
            if !std::ptr::eq(o, x) {
                std::ptr::copy_nonoverlapping(x.add(start), o.add(start), n);
            }
            let ys = if sy == 1 {
                std::slice::from_raw_parts(y.add(start), n)
            } else {
                std::slice::from_raw_parts(fill.as_ptr().cast::<f32>(), n)
            };
            f(std::slice::from_raw_parts_mut(o.add(start), n), ys);
        }
    }
    true
}

/// `rows` consecutive rows of `len` float32 elements (at most `group` rows of
/// `group * len <= HALF_BLOCK` elements, or a row of any length that the `by_value`
/// kernel takes) computed in the output as `direct_row` computes one: the output's and
/// first input's rows follow each other, the second input `(y, sy, sry)` is a row
/// repeated (element stride `sy` 1, row stride `sry` 0), laid out in `ys` once for every
/// group against it, or one value per row (stride 0 along the row, `sry` between rows),
/// filled in per group.
///
/// # Safety
/// The rows are valid at these strides, the output's for writes by this thread alone;
/// the output rows are the first input's or share no byte with them, and share none
/// with the second input's elements; `ys` holds what this function left there, or no
/// row yet.
unsafe fn direct_rows(
    o: *mut f32,
    x: *const f32,
    (y, sy, sry): (*const f32, usize, usize),
    (len, rows, group): (usize, usize, usize),
    ys: &mut RowsBlock,
    f: &BlockKernels,
) {
    let n = len * rows;
    let block = &mut ys.block;
    // (Rows of fewer than 32 run faster through the block: one vector loop per group
    // rather than per row: `x * col` on 32768x8 34 -> 40 us that way.)
    if let (0, Some(kind), 32..) = (sy, f.affine, len) {
        // SAFETY: the caller's contract.
        let apart = (!std::ptr::eq(o, x)).then_some(x);
        unsafe { affine_rows(o, apart, (y, sry), (len, rows), kind) };
        return;
    }
    // (Rows of 16 or more: at most HALF_BLOCK / 16 of them.)
    let mut vals = [0.0f32; HALF_BLOCK / 16];
    if let (0, Some(g), false, true, true) = (
        sy,
        f.by_value,
        std::ptr::eq(o, x),
        len.is_multiple_of(16) || rows == 1,
        rows <= vals.len(),
    ) {
        for (r, v) in vals.iter_mut().take(rows).enumerate() {
            // SAFETY: the caller's rows hold these elements.
            *v = unsafe { *y.add(r * sry) };
        }
        // SAFETY: the caller's contract (the rows follow each other, apart from `o`).
        unsafe {
            g(
                std::slice::from_raw_parts_mut(o, n),
                std::slice::from_raw_parts(x, n),
                &vals[..rows],
            )
        };
        return;
    }
    // SAFETY (reads of y): the caller's rows hold these elements.
    if sy == 0 {
        for (r, row) in block[..n].chunks_exact_mut(len).enumerate() {
            let v = unsafe { *y.add(r * sry) };
            row.iter_mut().for_each(|slot| {
                slot.write(v);
            });
        }
    } else if ys.row_at != Some(y as usize) {
        let row = unsafe { std::slice::from_raw_parts(y, len) };
        for (slot, &v) in block.iter_mut().zip(row) {
            slot.write(v);
        }
        let (mut filled, full) = (len, len * group);
        while filled < full {
            let c = filled.min(full - filled);
            block.copy_within(..c, filled);
            filled += c;
        }
        ys.row_at = Some(y as usize);
    }
    // SAFETY: the first n slots are written (above, or for the same row before: a
    // whole group's); MaybeUninit<f32> has f32's layout; the copy's ranges are the
    // same (skipped) or disjoint (the caller's contract).
    unsafe {
        let ys = std::slice::from_raw_parts(block.as_ptr().cast::<f32>(), n);
        match (std::ptr::eq(o, x), f.apart) {
            (false, Some(g)) => {
                g(
                    std::slice::from_raw_parts_mut(o, n),
                    std::slice::from_raw_parts(x, n),
                    ys,
                );
            }
            (same, _) => {
                if !same {
                    std::ptr::copy_nonoverlapping(x, o, n);
                }
                (f.in_place)(std::slice::from_raw_parts_mut(o, n), ys);
            }
        }
    }
}

/// A block kernel of three float32 inputs that leaves its results in the first.
pub type Block3 = dyn Fn(&mut [f32], &[f32], &[f32]) + Sync;

/// `out[i] = round(f(widen(a[i]), widen(b[i]), widen(c[i])))` for a 16-bit float type
/// (or float32, whose widening is a copy), in float32 blocks as `binary_map_half`:
/// `f(x, y, z)` leaves its results in `x`. Same aliasing rules as `ternary_map`: a
/// block is read whole before it is written.
pub fn ternary_map_half<H: Half>(
    out: ViewMut<'_, H>,
    a: View<'_, H>,
    b: View<'_, H>,
    c: View<'_, H>,
    f: &Block3,
) {
    let po = SendPtr(out.ptr());
    let (pa, pb, pc) = (
        SendPtr(a.ptr() as *mut H),
        SendPtr(b.ptr() as *mut H),
        SendPtr(c.ptr() as *mut H),
    );
    let run = |[oo, oa, ob, oc]: [usize; 4], [so, sa, sb, sc]: [usize; 4], len: usize| {
        let (mut xs, mut ys, mut zs) = (block(), block(), block());
        let (x, y, z) = (
            zeroed(&mut xs, len),
            zeroed(&mut ys, len),
            zeroed(&mut zs, len),
        );
        for start in (0..len).step_by(HALF_BLOCK) {
            let n = HALF_BLOCK.min(len - start);
            let (x, y, z) = (&mut x[..n], &mut y[..n], &mut z[..n]);
            // SAFETY: as in `unary_map_half`; the three input blocks are read whole
            // before the output block is written.
            unsafe {
                widen_run(pa.get(), oa + start * sa, sa, x);
                widen_run(pb.get(), ob + start * sb, sb, y);
                widen_run(pc.get(), oc + start * sc, sc, z);
                f(x, y, z);
                narrow_run(x, po.get(), oo + start * so, so);
            }
        }
    };
    let layouts = [out.layout(), a.layout(), b.layout(), c.layout()];
    if runs_flat(&layouts) {
        let n = out.numel();
        if n == 0 {
            return;
        }
        if direct_ok::<H>(po.get(), pa.get(), &[pb.get(), pc.get()], n) {
            // SAFETY: as in `binary_map_half`.
            let (o, x) = (
                SendPtr(po.get().cast::<f32>()),
                SendPtr(pa.get().cast::<f32>()),
            );
            let (y, z) = (
                SendPtr(pb.get().cast::<f32>()),
                SendPtr(pc.get().cast::<f32>()),
            );
            par_chunks(n, |s, e| unsafe {
                let rest = [y.get().cast_const(), z.get().cast_const()];
                direct_blocks(o.get(), x.get(), rest, (s, e), &|x, [y, z]| f(x, y, z))
            });
        } else {
            par_chunks(n, |s, e| run([s; 4], [1; 4], e - s));
        }
        return;
    }
    let plan = Plan::new_memory_order(
        out.shape(),
        [out.strides(), a.strides(), b.strides(), c.strides()],
    )
    .long_rows();
    let strides = plan.inner_strides();
    plan.par_for_rows(&|offs, len| run(offs, strides, len));
}

/// `out = src` widened from a 16-bit float: contiguous runs through the vectorised
/// conversion, other layouts element by element.
pub fn widen_half<H: Half>(out: ViewMut<'_, f32>, src: View<'_, H>) {
    if !runs_flat(&[out.layout(), src.layout()]) {
        return unary_map(out, src, H::widen);
    }
    let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut H));
    par_chunks(out.numel(), |s, e| {
        // SAFETY: s..e lies inside both flat buffers. Views of different element sizes
        // cannot alias exactly, and no caller passes overlapping ones: `copy_` refuses
        // every overlap that is not exact, and the ops' internal casts write fresh
        // tensors.
        unsafe {
            H::widen_slice(
                std::slice::from_raw_parts(ps.get().add(s), e - s),
                std::slice::from_raw_parts_mut(po.get().add(s), e - s),
            )
        }
    });
}

/// `out = src` rounded to a 16-bit float (as `widen_half`).
pub fn narrow_half<H: Half>(out: ViewMut<'_, H>, src: View<'_, f32>) {
    if !runs_flat(&[out.layout(), src.layout()]) {
        return unary_map(out, src, H::narrow);
    }
    let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut f32));
    par_chunks(out.numel(), |s, e| {
        // SAFETY: as in `widen_half`.
        unsafe {
            H::narrow_slice(
                std::slice::from_raw_parts(ps.get().add(s), e - s),
                std::slice::from_raw_parts_mut(po.get().add(s), e - s),
            )
        }
    });
}

/// `out[i] = f(a[i], b[i])`, same aliasing rules as `unary_map`.
pub fn binary_map<A: Element, B: Element, O: Element>(
    out: ViewMut<'_, O>,
    a: View<'_, A>,
    b: View<'_, B>,
    f: impl Fn(A, B) -> O + Sync,
) {
    let po = SendPtr(out.ptr());
    let pa = SendPtr(a.ptr() as *mut A);
    let pb = SendPtr(b.ptr() as *mut B);
    // A run of `len` unit-stride elements at element offsets `[oo, oa, ob]`, shared by
    // the contiguous case and unit-stride rows as in `unary_map`.
    let unit = |[oo, oa, ob]: [usize; 3], len: usize| {
        // SAFETY: the run lies inside all three views. A first input that is the output
        // (exact alias), of its type, with the other input elsewhere (no partial
        // overlaps: the op's contract) is mapped in place through one mutable slice;
        // other aliases are read through staged copies, as in `unary_map`.
        unsafe {
            let (po, pa, pb) = (po.get().add(oo), pa.get().add(oa), pb.get().add(ob));
            let alias_a = std::ptr::eq(po as *const u8, pa as *const u8);
            let alias_b = std::ptr::eq(po as *const u8, pb as *const u8);
            if alias_a && !alias_b && same_type::<A, O>() {
                let y = std::slice::from_raw_parts(pb, len);
                zip2_in_place(std::slice::from_raw_parts_mut(pa, len), y, &f);
                return;
            }
            if !alias_a && !alias_b {
                let o = std::slice::from_raw_parts_mut(po, len);
                let (x, y) = (
                    std::slice::from_raw_parts(pa, len),
                    std::slice::from_raw_parts(pb, len),
                );
                zip2(o, x, y, &f);
                return;
            }
            each_piece(len, STAGE, |s, l| {
                let (mut xs, mut ys) = (Stage::<A>::new(), Stage::<B>::new());
                let x = xs.gather(pa, 1, s, l, po);
                let y = ys.gather(pb, 1, s, l, po);
                zip2(std::slice::from_raw_parts_mut(po.add(s), l), x, y, &f);
            });
        }
    };
    // Strided rows keep direct loops per op, unlike `unary_map`: a number on one side
    // (`x * 2`, `1 - x`, `x > 0`: a stride-0 operand) is the most common strided row,
    // and both inputs moving along it is `x.t() + y`. Gathering them into blocks ran
    // 15-35% slower on both (16M scalar ops, 2048² transposed add, Zen 3).
    let row = |[oo, oa, ob]: [usize; 3], [so, sa, sb]: [usize; 3], len: usize| {
        let (po, pa, pb) = (po.get(), pa.get(), pb.get());
        // SAFETY (all branches): the offsets and strides come from the layouts, a
        // broadcast operand is read at its row offset, and an output that is also an
        // input reads each element before writing it. The slices are pieces of the
        // unit-stride rows; an output row at the first input's address is that row
        // exactly (the op's contract rules out partial overlaps) and is then the one
        // slice, and otherwise shares no element with a row viewed beside it.
        unsafe {
            let (o, x, y) = (po.add(oo), pa.add(oa), pb.add(ob));
            let in_place = std::ptr::eq(o as *const u8, x as *const u8) && same_type::<A, O>();
            let out_is_y = std::ptr::eq(o as *const u8, y as *const u8);
            if so == 1 && sa == 1 && sb == 0 && in_place {
                // In place (`x.div_(col)`) the pointer loop below stays scalar (LLVM's
                // overlap check fails: 6x PyTorch's time on 2048x256): the vector loop
                // of unit runs against a block of the one value instead.
                let mut block = [const { std::mem::MaybeUninit::uninit() }; RUN];
                let ys = broadcast(&mut block, *y, len);
                each_piece(len, RUN, |s, l| {
                    let xo = std::slice::from_raw_parts_mut(x.add(s), l);
                    zip2_in_place(xo, &ys[..l], &f);
                });
            } else if so == 1 && sa == 1 && sb == 0 {
                let bv = *y;
                for i in 0..len {
                    *o.add(i) = f(*x.add(i), bv);
                }
            } else if so == 1 && sa == 0 && sb == 1 && !out_is_y {
                // (Through `zip2` too: slice loops of their own per op and dtype, here and
                // in place, made the extension 36 KB larger.)
                let mut block = [const { std::mem::MaybeUninit::uninit() }; RUN];
                let xs = broadcast(&mut block, *x, len);
                each_piece(len, RUN, |s, l| {
                    let os = std::slice::from_raw_parts_mut(o.add(s), l);
                    zip2(os, &xs[..l], std::slice::from_raw_parts(y.add(s), l), &f);
                });
            } else {
                for i in 0..len {
                    *po.add(oo + i * so) = f(*pa.add(oa + i * sa), *pb.add(ob + i * sb));
                }
            }
        }
    };
    walk([out.layout(), a.layout(), b.layout()], &unit, &row);
}

/// `out[i] = f(a[i], b[i], c[i])` (where, lerp, addcmul, clamp with tensor bounds).
pub fn ternary_map<A: Element, B: Element, C: Element, O: Element>(
    out: ViewMut<'_, O>,
    a: View<'_, A>,
    b: View<'_, B>,
    c: View<'_, C>,
    f: impl Fn(A, B, C) -> O + Sync,
) {
    let po = SendPtr(out.ptr());
    let pa = SendPtr(a.ptr() as *mut A);
    let pb = SendPtr(b.ptr() as *mut B);
    let pc = SendPtr(c.ptr() as *mut C);
    let zip = |o: &mut [O], x: &[A], y: &[B], z: &[C]| zip3(o, x, y, z, &f);
    // Strided rows, and unit-stride runs with an input at the output's address, go
    // through blocks (staged inputs): ternary ops are rare enough that one loop per op
    // is the better trade there.
    let row = |[oo, oa, ob, oc]: [usize; 4], [so, sa, sb, sc]: [usize; 4], len: usize| {
        let (po, pa, pb, pc) = (po.get(), pa.get(), pb.get(), pc.get());
        // SAFETY: the offsets and strides come from the layouts; `strided_row3` gathers
        // an input at the output's address before writing the block, as `unary_map`.
        unsafe {
            strided_row3(
                (po.add(oo), so),
                (pa.add(oa), sa),
                (pb.add(ob), sb),
                (pc.add(oc), sc),
                len,
                &zip,
            )
        }
    };
    let unit = |offs: [usize; 4], len: usize| {
        let [oo, oa, ob, oc] = offs;
        let (po, pa, pb, pc) = (po.get(), pa.get(), pb.get(), pc.get());
        // SAFETY: the run lies inside all four views; with no input at the output's
        // address the slices are disjoint (partial overlaps are ruled out by the op).
        unsafe {
            let o = po.add(oo);
            let (x, y, z) = (pa.add(oa), pb.add(ob), pc.add(oc));
            let at_out = |p: *const u8| std::ptr::eq(p, o as *const u8);
            if at_out(x as _) || at_out(y as _) || at_out(z as _) {
                row(offs, [1; 4], len);
            } else {
                zip3(
                    std::slice::from_raw_parts_mut(o, len),
                    std::slice::from_raw_parts(x, len),
                    std::slice::from_raw_parts(y, len),
                    std::slice::from_raw_parts(z, len),
                    &f,
                );
            }
        }
    };
    walk(
        [out.layout(), a.layout(), b.layout(), c.layout()],
        &unit,
        &row,
    );
}

/// Fills every element of `out` (any layout) with `v`.
pub fn fill<T: Element>(out: ViewMut<'_, T>, v: T) {
    let po = SendPtr(out.ptr());
    if runs_flat(&[out.layout()]) {
        par_chunks(out.numel(), |s, e| {
            // SAFETY: s..e < numel of the flat layout; chunks are disjoint across threads.
            let o = unsafe { std::slice::from_raw_parts_mut(po.get().add(s), e - s) };
            // (The baseline's 16-byte stores filled 1M floats at a third of PyTorch's
            // speed.)
            super::math::at_widest_level(
                #[inline(always)]
                || {
                    for p in o.iter_mut() {
                        *p = v;
                    }
                },
            );
        });
        return;
    }
    let plan = Plan::new_memory_order(out.shape(), [out.strides()]);
    let [so] = plan.inner_strides();
    plan.par_for_rows(&|[oo], len| {
        let po = po.get();
        for i in 0..len {
            // SAFETY: offsets come from the layout.
            unsafe { *po.add(oo + i * so) = v };
        }
    });
}

/// `out[i] = cast(a[i])` (`cast`'s rules). Flat layouts on disjoint storage run
/// compiled for the widest vector unit, where the float-to-integer truncation
/// vectorises (the baseline converted one float at a time: float32 to int64 at 2.4x
/// PyTorch's time); other layouts through `unary_map`.
pub fn cast_map<A: Element, O: Element>(out: ViewMut<'_, O>, a: View<'_, A>) {
    let n = out.numel();
    let (ob, ab) = (out.ptr() as usize, a.ptr() as usize);
    let disjoint = apart(
        ob,
        n * std::mem::size_of::<O>(),
        ab,
        n * std::mem::size_of::<A>(),
    );
    if !(disjoint && runs_flat(&[out.layout(), a.layout()])) {
        return unary_map(out, a, cast::<A, O>);
    }
    let (po, pa) = (SendPtr(out.ptr()), SendPtr(a.ptr() as *mut A));
    par_chunks(n, |s, e| {
        // SAFETY: both flat layouts hold n elements from their pointers at the same
        // offsets; the buffers are disjoint and chunks are disjoint across threads.
        let (o, x) = unsafe {
            (
                std::slice::from_raw_parts_mut(po.get().add(s), e - s),
                std::slice::from_raw_parts(pa.get().add(s) as *const A, e - s),
            )
        };
        super::math::at_widest_level(
            #[inline(always)]
            || {
                for (p, &v) in o.iter_mut().zip(x) {
                    *p = cast::<A, O>(v);
                }
            },
        );
    });
}

/// Converts one element between dtypes with PyTorch's casting rules.
#[inline(always)]
pub fn cast<A: Element, O: Element>(v: A) -> O {
    use crate::dtype::DType;
    // Integers convert straight to the target (an int64 through float64 to float32
    // would round twice); floats through float64, which holds every float exactly.
    if A::DTYPE.is_floating_point() || O::DTYPE == DType::Bool {
        O::cast_from_f64(v.to_f64())
    } else {
        O::from_i64(v.to_i64())
    }
}

/// `out[...] = src[...]` for one element type, any layouts of one shape; `out` may
/// alias `src` exactly. Contiguous pairs are a memmove.
pub fn copy<T: Element>(out: ViewMut<'_, T>, src: View<'_, T>) {
    if runs_flat(&[out.layout(), src.layout()]) {
        let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut T));
        par_chunks(out.numel(), |s, e| {
            // SAFETY: both ranges lie inside their contiguous buffers; `copy_run`
            // tolerates an exact alias.
            unsafe { copy_run(po.get().add(s), ps.get().add(s), e - s) };
        });
        return;
    }
    let plan = Plan::new_memory_order(out.shape(), [out.strides(), src.strides()]);
    // (A source broadcast along the output's rows is filled below, not transposed: the
    // tiles took 400 us on a column expanded to 29127x9.)
    if plan.inner_strides()[1] != 0 && super::reorder::copy_transposing(&out, &src) {
        return;
    }
    let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut T));
    if plan.inner_strides() == [1, 1] {
        // A row repeated (a row broadcast copied); else unit-stride rows on both sides
        // (a permutation of outer dims, as attention's head transposes): one memmove per
        // row.
        let bytes = (
            SendPtr(po.get().cast::<u8>()),
            SendPtr(ps.get().cast::<u8>()),
        );
        let short = plan.inner_len() < SHORT_COPY;
        if !(short && repeat_row(&plan, bytes.0, bytes.1, std::mem::size_of::<T>())) {
            plan.par_for_rows(&|[oo, os], len| {
                // SAFETY: the row's offsets come from the layouts, inside both storages;
                // `copy_run` tolerates the exact alias the contract allows.
                unsafe { copy_run(po.get().add(oo), ps.get().add(os), len) }
            });
        }
        return;
    }
    if plan.inner_strides() == [1, 0] {
        // A broadcast source (an expanded value or column, such as a sum's gradient):
        // each output row is one value (the element walk took 4x PyTorch's time).
        let bytes = (
            SendPtr(po.get().cast::<u8>()),
            SendPtr(ps.get().cast::<u8>()),
        );
        let short = plan.inner_len() < SHORT_COPY;
        if short && fill_rows(&plan, bytes.0, bytes.1, std::mem::size_of::<T>()) {
            return;
        }
        plan.par_for_rows(&|[oo, os], len| {
            // SAFETY: the row's offsets come from the layouts, inside both storages; the
            // output row is unit-stride, written by this thread only, and cannot hold
            // the source's element (an exact alias has one layout, copied flat above).
            unsafe {
                let v = *ps.get().add(os);
                std::slice::from_raw_parts_mut(po.get().add(oo), len).fill(v)
            }
        });
        return;
    }
    // Short output rows (pixel_shuffle's factor, a channels-last image's 3 channels)
    // along a dim the source steps through, while the source's own unit-stride dim is
    // long: walk in the source's memory order instead, each row a contiguous read and a
    // write with a small stride (rows of 2 elements cost a call each; 16x32x32x32
    // pixel_shuffle 2.7 -> 0.3 ms).
    let by_src = (plan.inner_len() < 8)
        .then(|| Plan::new_memory_order(out.shape(), [src.strides(), out.strides()]))
        .filter(|p| p.inner_len() >= 16 && p.inner_strides()[0] == 1);
    if let Some(by_src) = by_src {
        let step = by_src.inner_strides()[1];
        let (po, ps) = (SendPtr(out.ptr()), SendPtr(src.ptr() as *mut T));
        by_src.par_for_rows(&|[os, oo], len| {
            for i in 0..len {
                // SAFETY: the row's offsets come from the layouts, inside both storages;
                // `out` does not overlap `src` (an exact alias has one layout, copied
                // flat above), and rows write disjoint elements.
                unsafe { *po.get().add(oo + i * step) = *ps.get().add(os + i) };
            }
        });
        return;
    }
    unary_map(out, src, |v: T| v);
}

/// `out = src` for a plan of one short row of `src` repeated down consecutive rows of
/// `out` (a row broadcast copied, `row.expand(n, 16).contiguous()`), elements of
/// `size` bytes: each task copies the row once, then doubles its copies (a call per
/// row of 16 took 4x PyTorch's time). Returns false, copying nothing, for other plans.
/// (On bytes: one copy of the function for every dtype.)
fn repeat_row(plan: &Plan<2>, po: SendPtr<u8>, ps: SendPtr<u8>, size: usize) -> bool {
    let [rows, len] = plan.shape[..] else {
        return false;
    };
    if plan.strides[0][0] != len || plan.strides[1][0] != 0 || len == 0 {
        return false;
    }
    let per = (GRAIN / len).max(1);
    let row = len * size;
    super::par_for(rows.div_ceil(per), &|t| {
        let (r0, r1) = (t * per, ((t + 1) * per).min(rows));
        let total = (r1 - r0) * row;
        // SAFETY: rows r0..r1 of `out` are consecutive (row stride `len`), inside its
        // storage and this task's alone; the source row is `len` elements of `src`,
        // which does not overlap `out` (its rows are all one row, `out`'s are not).
        unsafe {
            let dst = po.get().add(r0 * row);
            std::ptr::copy_nonoverlapping(ps.get(), dst, row);
            let mut done = row;
            while done < total {
                let n = done.min(total - done);
                std::ptr::copy_nonoverlapping(dst, dst.add(done), n);
                done += n;
            }
        }
    });
    true
}

/// `out = src` for a plan of two dims whose source rows are one value each (a column
/// broadcast copied, `col.expand(n, 5).contiguous()`), elements of `size` bytes: the
/// rows of a task in one loop (a call per row of 5 took 8x PyTorch's time). Returns
/// false, copying nothing, for other plans. (On bytes, as `repeat_row`.)
fn fill_rows(plan: &Plan<2>, po: SendPtr<u8>, ps: SendPtr<u8>, size: usize) -> bool {
    let [rows, len] = plan.shape[..] else {
        return false;
    };
    if !matches!(size, 1 | 2 | 4 | 8) || len == 0 {
        return false;
    }
    let (so, ss) = (plan.strides[0][0] * size, plan.strides[1][0] * size);
    let per = (GRAIN / len).max(1);
    super::par_for(rows.div_ceil(per), &|t| {
        for r in t * per..((t + 1) * per).min(rows) {
            // SAFETY: row r's offsets come from the layouts, inside both storages; the
            // output row (`len` unit-stride elements) is this task's alone and does not
            // hold the source's element; both are aligned for their element type,
            // whose size selects the arm.
            unsafe {
                let (o, v) = (po.get().add(r * so), ps.get().add(r * ss));
                match size {
                    1 => fill_run(o, *v, len),
                    2 => fill_run(o.cast::<u16>(), *v.cast::<u16>(), len),
                    4 => fill_run(o.cast::<u32>(), *v.cast::<u32>(), len),
                    _ => fill_run(o.cast::<u64>(), *v.cast::<u64>(), len),
                }
            }
        }
    });
    true
}

/// `len` copies of `v` at `o`.
///
/// # Safety
/// `o` must be valid and aligned for `len` writes of `U`.
#[inline(always)]
unsafe fn fill_run<U: Copy>(o: *mut U, v: U, len: usize) {
    for i in 0..len {
        *o.add(i) = v;
    }
}

/// A vectorised slice kernel over contiguous chunks: `f(a_chunk, out_chunk)`, or
/// `fi(out_chunk)` when `out` is `a` (in place). Both views of one shape run flat
/// (`runs_flat`): contiguous, or one dense permutation.
pub fn slice_map<T: Element>(
    out: ViewMut<'_, T>,
    a: View<'_, T>,
    f: &(dyn Fn(&[T], &mut [T]) + Sync),
    fi: &(dyn Fn(&mut [T]) + Sync),
) {
    debug_assert!(runs_flat(&[out.layout(), a.layout()]));
    let n = out.numel();
    let (po, pa) = (SendPtr(out.ptr()), SendPtr(a.ptr() as *mut T));
    let alias = std::ptr::eq(po.0, pa.0);
    par_chunks(n, |s, e| {
        // SAFETY: s..e lies inside both contiguous buffers of n elements; chunks are
        // disjoint across threads, and when the views alias exactly only the mutable
        // slice is made.
        unsafe {
            let o = std::slice::from_raw_parts_mut(po.get().add(s), e - s);
            if alias {
                fi(o)
            } else {
                f(std::slice::from_raw_parts(pa.get().add(s), e - s), o)
            }
        }
    });
}

/// `out[i] = f(i)` over a contiguous `out` (creation ops: arange, linspace, eye). `out`
/// may be uninitialised memory: elements are written, never read.
pub fn fill_indexed<T: Element>(out: ViewMut<'_, T>, f: impl Fn(usize) -> T + Sync) {
    debug_assert!(out.is_contiguous());
    let p = SendPtr(out.ptr());
    // In chunks over the threads (`arange(1 << 20)` on one thread: 2.3x PyTorch's time on
    // a Zen 3); each value depends on its index alone.
    par_chunks(out.numel(), |s, e| {
        for i in s..e {
            // SAFETY: i < numel of the contiguous view, each index in one chunk; `write`
            // does not read the old value.
            unsafe { p.get().add(i).write(f(i)) };
        }
    });
}

/// Reads `buf.len()` elements of a contiguous buffer of `A` from element `start` as
/// float64 bits (`via_f64`) or int64 values: the first half of a staged cast.
pub type LoadWide = unsafe fn(src: *const u8, start: usize, via_f64: bool, buf: &mut [u64]);

/// Writes `buf` (float64 bits or int64 values) to a contiguous buffer of `O` from
/// element `start`: the second half of a staged cast.
pub type StoreWide = unsafe fn(dst: *mut u8, start: usize, via_f64: bool, buf: &[u64]);

/// [`LoadWide`] for `A`.
///
/// # Safety
/// `src` points to a live contiguous buffer of `A` holding `start + buf.len()` elements.
pub unsafe fn load_wide<A: Element>(src: *const u8, start: usize, via_f64: bool, buf: &mut [u64]) {
    // SAFETY: the caller's contract.
    let x = unsafe { std::slice::from_raw_parts((src as *const A).add(start), buf.len()) };
    if via_f64 {
        for (b, v) in buf.iter_mut().zip(x) {
            *b = v.to_f64().to_bits();
        }
    } else {
        for (b, v) in buf.iter_mut().zip(x) {
            *b = v.to_i64() as u64;
        }
    }
}

/// [`StoreWide`] for `O`.
///
/// # Safety
/// `dst` points to a live contiguous buffer of `O` holding `start + buf.len()`
/// elements, which nothing else accesses during the call.
pub unsafe fn store_wide<O: Element>(dst: *mut u8, start: usize, via_f64: bool, buf: &[u64]) {
    // SAFETY: the caller's contract.
    let o = unsafe { std::slice::from_raw_parts_mut((dst as *mut O).add(start), buf.len()) };
    if via_f64 {
        for (d, &b) in o.iter_mut().zip(buf) {
            *d = O::cast_from_f64(f64::from_bits(b));
        }
    } else {
        for (d, &b) in o.iter_mut().zip(buf) {
            *d = O::from_i64(b as i64);
        }
    }
}

/// `cast` over `n` contiguous elements in two halves through a block of float64 bits
/// or int64 values (`via_f64`, as `cast` picks), so that each dtype needs one loader
/// and one storer instead of a loop per (source, target) pair. The same values as
/// `cast`, which goes through float64 or int64 itself. A block is read whole before
/// it is written, so `dst` may be `src`'s bytes exactly.
///
/// # Safety
/// `load` and `store` are the instantiations for the buffers' element types; `src` and
/// `dst` hold `n` elements each (contiguous, live, `dst` written by nobody else) and
/// overlap exactly or not at all.
pub unsafe fn cast_staged(
    n: usize,
    load: LoadWide,
    src: *const u8,
    store: StoreWide,
    dst: *mut u8,
    via_f64: bool,
) {
    const BLOCK: usize = 256;
    let (src, dst) = (SendPtr(src as *mut u8), SendPtr(dst));
    par_chunks(n, |s, e| {
        let mut buf = [0u64; BLOCK];
        let mut b = s;
        while b < e {
            let len = BLOCK.min(e - b);
            // SAFETY: b..b + len lies inside both buffers (the caller's contract).
            unsafe {
                load(src.get(), b, via_f64, &mut buf[..len]);
                store(dst.get(), b, via_f64, &buf[..len]);
            }
            b += len;
        }
    });
}
