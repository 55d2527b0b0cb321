//! Matrix-product kernels.
//!
//! - float32 at the AVX2 level goes to our own packed GEMM (`cpu::sgemm`); float32 at
//!   AVX-512 and float64 go to the `gemm` crate, which reads any row and column strides
//!   (transposed operands need no copy) and picks its AVX2 or AVX-512 kernels at run
//!   time (the workspace enables its `x86-v4` feature).
//! - bfloat16 uses AMX tiles (`tdpbf16ps`) where the CPU has them and the OS grants
//!   them, else AVX512-BF16 (`vdpbf16ps`) on the same packed operands, chosen once per
//!   process; elsewhere, and for float16 (no float16 product accumulates in float32 on
//!   these CPUs), the operands are converted to float32 blocks and the float32 kernel
//!   runs. Both accumulate in
//!   float32 and round once per output element, as PyTorch's CPU kernels do.
//! - Batches: many small products run in parallel over the batch (one single-threaded
//!   product per matrix); few large ones run one after another, each parallel inside.
//!
//! Every output element is computed by the same sequence of operations whatever the
//! thread count (threads only split the output), so results are bitwise identical for
//! any `set_num_threads`.
//!
//! `RTORCH_DISABLE_AMX=1` turns the AMX path off; `RTORCH_CPU_CAPABILITY=avx2` also turns
//! off the AVX512-BF16 one (to test the fallbacks on machines that have them).

use super::SendPtr;
use crate::element::{Arith, Element};

/// Products with fewer multiply-adds than this run single-threaded.
pub const PAR_FLOPS: usize = 1 << 20;

/// Column-slab width for a product whose B is transposed (unit row stride: Linear's
/// `x @ w.t()`, attention's `q @ k.transpose(-2, -1)`), if it is split into slabs.
///
/// The `gemm` crate's own parallel mode packs such a B up to 3x slower than a
/// row-major one (2 threads, 64x784 @ 784x128: 126 us against 41 for a row-major B),
/// while single-threaded calls on column slabs cost what one call does. So these
/// products always run as slabs of this many columns, each slab one single-threaded
/// call, spread over the pool when it has threads. The slabs depend on the shape
/// alone, so the bits do not depend on the thread count. Each slab of B is first copied
/// row-major (see `crate_gemm`).
///
/// Only with a row-major A (a transposed A is packed again for every slab: 1024^3 on
/// one thread went 11.6 -> 17.7 ms) and m <= 2n (784x64 @ 64x128 on 2 threads went
/// 45 -> 68 us as two slabs, as fast as one on a single thread).
fn nt_slab_width(
    m: usize,
    n: usize,
    k: usize,
    a_cs: isize,
    b_rs: isize,
    b_cs: isize,
) -> Option<usize> {
    let nt = a_cs == 1 && b_rs == 1 && b_cs > 1;
    let width = (n / 8).div_ceil(16).max(4) * 16;
    // A slab's row-major copy of B (k x width) stays within NT_SCRATCH_BYTES.
    let fits = (NT_SCRATCH_BYTES / 8 / k.max(1)) / 16 * 16;
    (nt && n >= 128 && m <= 2 * n && m.saturating_mul(n).saturating_mul(k) >= PAR_FLOPS)
        .then(|| width.min(fits).max(16))
}

/// The most bytes of B one slab of a transposed-B product copies row-major (at
/// float64; float32 copies half); larger products take narrower slabs.
const NT_SCRATCH_BYTES: usize = 4 << 20;

thread_local! {
    /// This thread's row-major copy of a transposed B's slab, kept between calls (a
    /// fresh multi-megabyte buffer faults its pages in on every call).
    static NT_SCRATCH: std::cell::Cell<Vec<f64>> = const { std::cell::Cell::new(Vec::new()) };
}

/// How a threaded product with a row-major `dst` is cut into one single-threaded crate
/// call per thread, when it is (`None`: the crate's own parallel mode).
///
/// The crate hands its threads whole micro-panels of 48 output columns (16 for float64)
/// in equal counts, so 392 columns (a 7x7 image's conv on 8 samples) went in panels of
/// 5 against 4, the last one of 8 columns costing a whole one; and it meets its threads
/// at every cache block. 2 threads, float32, crate / slabs: 512x4608 @ 4608x392
/// 180 / 208 GFLOP/s, 300^3 106-181 / 198-210, 256x256 @ 256x784 195 / 218, 4608x512 @
/// 512x392 190 / 204-211, 1024^3 215-219 / 222-223.
///
/// Each slab packs the operand it shares whole, so the cut goes where that operand is
/// cheap to pack: columns (sharing `a`) for a row-major `a`, else rows (sharing `b`) for
/// a row-major `b`. Both transposed stays with the crate (128x2304 @ 2304x1568, both
/// transposed: 150 / 132 as rows). Slabs are multiples of 16 and at least 64 wide.
///
/// The bits do not depend on the cut: the crate sums every output element over `k` in
/// blocks whose size depends on `k` alone (with the other dimension above 64, as both
/// are here), in order, the same whichever slab holds the element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cut {
    /// Slabs of this many columns.
    Cols(usize),
    /// Slabs of this many rows.
    Rows(usize),
}

fn thread_cut(
    m: usize,
    n: usize,
    k: usize,
    dst_cs: isize,
    a_cs: isize,
    b_cs: isize,
    threads: usize,
) -> Option<Cut> {
    let big = m.saturating_mul(n).saturating_mul(k) >= 4 * PAR_FLOPS;
    if threads <= 1 || !big || dst_cs != 1 {
        return None;
    }
    let width = |len: usize| Some((len / threads).div_ceil(16) * 16).filter(|&w| w >= 64);
    if a_cs == 1 && m >= 128 {
        width(n).map(Cut::Cols)
    } else if b_cs == 1 && n >= 128 {
        width(m).map(Cut::Rows)
    } else {
        None
    }
}

/// One operand of a product as the `gemm` crate takes it: its pointer, column stride
/// and row stride (in elements).
pub(super) type Operand<P> = (P, isize, isize);

/// `dst (m, n) = a (m, k) @ b (k, n)`, operands as the crate takes them.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Strided<T> {
    m: usize,
    n: usize,
    k: usize,
    dst: Operand<*mut T>,
    a: Operand<*const T>,
    b: Operand<*const T>,
}

/// The `gemm` crate's own call, `dst = dst + a @ b` (`read_dst`) or `a @ b`, strides in
/// its order (column stride first). The crate picks its AVX-512 kernels on a CPU that
/// has them and offers no switch; where `RTORCH_CPU_CAPABILITY` holds rtorch at AVX2
/// on such a CPU, its float64 AVX2 (FMA) kernels are called directly instead, through
/// the same generic driver the crate's dispatch calls, so that level is run and tested
/// too (float32 at that level is `sgemm`'s).
///
/// # Safety
/// As `gemm::gemm`.
pub(super) unsafe fn crate_call<T: Element>(
    (m, n, k): (usize, usize, usize),
    (dst, dst_cs, dst_rs): Operand<*mut T>,
    read_dst: bool,
    (a, a_cs, a_rs): Operand<*const T>,
    (b, b_cs, b_rs): Operand<*const T>,
    par: gemm::Parallelism,
) {
    /// The crate's AVX2 path for one element type: its FMA micro-kernels and its AVX2
    /// SIMD token, as `gemm_common::gemm_def!` instantiates them for its dispatch
    /// (`$lanes`: the type's lanes in a 256-bit vector, the kernels' private `N`), on
    /// the product as [`orient`] gives it.
    #[cfg(target_arch = "x86_64")]
    macro_rules! fma_path {
        ($t:ty, $lanes:literal, $kern:path, $oriented:expr) => {{
            use gemm_common::simd::{MixedSimd, V3};
            use $kern as kern;
            let Strided {
                m,
                n,
                k,
                dst: (dst, dst_cs, dst_rs),
                a: (a, a_cs, a_rs),
                b: (b, b_cs, b_rs),
            } = $oriented;
            if let Some(simd) = <V3 as MixedSimd<$t, $t, $t, $t>>::try_new() {
                // SAFETY: T is $t (the match below is on its DTYPE), so the casts keep
                // every pointer's element type; the rest is the caller's contract for
                // `gemm::gemm`, whose dispatch calls this same driver.
                unsafe {
                    gemm_common::gemm::gemm_basic_generic::<
                        V3,
                        $t,
                        $lanes,
                        { kern::MR_DIV_N * $lanes },
                        { kern::NR },
                        { kern::MR_DIV_N },
                        { kern::H_M },
                        { kern::H_N },
                    >(
                        simd,
                        m,
                        n,
                        k,
                        dst as *mut $t,
                        dst_cs,
                        dst_rs,
                        read_dst,
                        a as *const $t,
                        a_cs,
                        a_rs,
                        b as *const $t,
                        b_cs,
                        b_rs,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        |x, y, z| x * y + z,
                        &kern::UKR,
                        &kern::H_UKR,
                        false,
                        par,
                    )
                };
                return;
            }
        }};
    }
    #[cfg(target_arch = "x86_64")]
    if held_to_avx2() {
        let o = orient(Strided {
            m,
            n,
            k,
            dst: (dst, dst_cs, dst_rs),
            a: (a, a_cs, a_rs),
            b: (b, b_cs, b_rs),
        });
        // (float32 at this level never comes here: `crate_gemm` sends it to `sgemm`.)
        if T::DTYPE == crate::dtype::DType::F64 {
            fma_path!(f64, 4, gemm_f64::microkernel::fma::f64, o)
        }
    }
    // SAFETY: the caller's contract.
    unsafe {
        gemm::gemm::<T>(
            m,
            n,
            k,
            dst,
            dst_cs,
            dst_rs,
            read_dst,
            a,
            a_cs,
            a_rs,
            b,
            b_cs,
            b_rs,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        )
    }
}

/// The product in the orientation the crate's generic driver expects, as `gemm::gemm`
/// prepares it before its dispatch: a `dst` with the smaller stride along its rows is
/// computed as its transpose (`dst^T = b^T a^T`: the micro-kernels write columns), and
/// negative strides are walked from the other end. Called directly, the driver stored
/// a row-major 1024x1024 result element by element (74 GFLOP/s on one thread against
/// 103 once transposed).
#[cfg(target_arch = "x86_64")]
fn orient<T>(p: Strided<T>) -> Strided<T> {
    fn t<P>((ptr, cs, rs): Operand<P>) -> Operand<P> {
        (ptr, rs, cs)
    }
    let mut p = if p.dst.1.abs() < p.dst.2.abs() {
        Strided {
            m: p.n,
            n: p.m,
            k: p.k,
            dst: t(p.dst),
            a: t(p.b),
            b: t(p.a),
        }
    } else {
        p
    };
    // Wrapping offsets: pointer arithmetic only, to the first element each operand
    // reaches (inside it, by the caller's contract) when walked backwards.
    let last = |len: usize, stride: isize| (len.max(1) - 1) as isize * stride;
    if p.dst.2 < 0 {
        p.dst.0 = p.dst.0.wrapping_offset(last(p.m, p.dst.2));
        p.a.0 = p.a.0.wrapping_offset(last(p.m, p.a.2));
        (p.dst.2, p.a.2) = (-p.dst.2, -p.a.2);
    }
    if p.dst.1 < 0 {
        p.dst.0 = p.dst.0.wrapping_offset(last(p.n, p.dst.1));
        p.b.0 = p.b.0.wrapping_offset(last(p.n, p.b.1));
        (p.dst.1, p.b.1) = (-p.dst.1, -p.b.1);
    }
    if p.a.1 < 0 {
        p.a.0 = p.a.0.wrapping_offset(last(p.k, p.a.1));
        p.b.0 = p.b.0.wrapping_offset(last(p.k, p.b.2));
        (p.a.1, p.b.2) = (-p.a.1, -p.b.2);
    }
    p
}

/// rtorch is held below AVX-512 on a CPU that has it: only there does the crate's own
/// choice of kernels differ from rtorch's level. Read once.
#[cfg(target_arch = "x86_64")]
fn held_to_avx2() -> bool {
    use super::math::{capability, Capability};
    static HELD: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HELD.get_or_init(|| {
        capability() == Capability::Avx2 && std::arch::is_x86_feature_detected!("avx512f")
    })
}

/// `dst (m, n) = [dst +] a (m, k) @ b (k, n)` through the `gemm` crate, strides in
/// elements as the crate takes them (column stride first), over `threads` threads.
///
/// # Safety
/// As [`product`], with signed strides.
#[allow(clippy::too_many_arguments)]
unsafe fn crate_gemm<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_cs: isize,
    dst_rs: isize,
    accumulate: bool,
    a: *const T,
    a_cs: isize,
    a_rs: isize,
    b: *const T,
    b_cs: isize,
    b_rs: isize,
    threads: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if T::DTYPE == crate::dtype::DType::F32
        && super::math::capability() == super::math::Capability::Avx2
    {
        // SAFETY: T is f32 (its DTYPE), so the casts keep the element type; AVX2 and FMA
        // are present at that level; the rest is the caller's contract.
        return unsafe {
            super::sgemm::product(
                (m, n, k),
                (dst.cast(), dst_cs, dst_rs),
                accumulate,
                (a.cast(), a_cs, a_rs),
                (b.cast(), b_cs, b_rs),
                threads,
            )
        };
    }
    let (pd, pa, pb) = (SendPtr(dst), SendPtr(a as *mut T), SendPtr(b as *mut T));
    // Rows i0..i0+rows, columns j0..j0+cols of the product, with B's columns j0.. at
    // `b` (B itself, or a slab's row-major copy).
    let block = |i0: usize, rows: usize, j0: usize, cols: usize, b: Operand<*const T>, par| {
        // SAFETY: a block of the product (all of it when i0 = j0 = 0, rows = m and
        // cols = n) under the caller's contract; blocks write disjoint elements.
        unsafe {
            crate_call::<T>(
                (rows, cols, k),
                (
                    pd.get().offset(i0 as isize * dst_rs + j0 as isize * dst_cs),
                    dst_cs,
                    dst_rs,
                ),
                accumulate,
                (pa.get().offset(i0 as isize * a_rs), a_cs, a_rs),
                b,
                par,
            )
        }
    };
    // B's columns from j0 on.
    let b_at = |j0: usize| -> Operand<*const T> {
        (pb.get().wrapping_offset(j0 as isize * b_cs), b_cs, b_rs)
    };
    let call =
        |j0: usize, cols: usize, par: gemm::Parallelism| block(0, m, j0, cols, b_at(j0), par);
    let nt_width = nt_slab_width(m, n, k, a_cs, b_rs, b_cs);
    if let (None, Some(cut)) = (nt_width, thread_cut(m, n, k, dst_cs, a_cs, b_cs, threads)) {
        let (len, width) = match cut {
            Cut::Cols(w) => (n, w),
            Cut::Rows(w) => (m, w),
        };
        let slab = |s: usize| {
            let (lo, hi) = (s * width, ((s + 1) * width).min(len));
            match cut {
                Cut::Cols(_) => call(lo, hi - lo, gemm::Parallelism::None),
                Cut::Rows(_) => block(lo, hi - lo, 0, n, b_at(0), gemm::Parallelism::None),
            }
        };
        return super::par_for(len.div_ceil(width), &slab);
    }
    let Some(width) = nt_width else {
        // The crate's own parallel mode runs in the current rayon pool: ours.
        return if threads > 1 {
            super::install(|| call(0, n, parallelism(threads)))
        } else {
            call(0, n, parallelism(threads))
        };
    };
    let slab = |s: usize| {
        let j0 = s * width;
        let cols = width.min(n - j0);
        // This slab of B, row-major (k x cols) in this thread's scratch: the crate packs
        // a transposed B element by element, which cost most of such a product
        // (8x2048 @ 2048x2048: 61% of 7.2 ms); a register-blocked transposing copy
        // costs a fraction of that, and the crate reads a row-major B unpacked.
        let mut scratch = NT_SCRATCH.with(|c| c.take());
        let words = (k * cols * std::mem::size_of::<T>()).div_ceil(8);
        if scratch.len() < words {
            scratch = vec![0f64; words];
        }
        // SAFETY: T is f32 or f64 (this function's contract), valid for any bits and
        // aligned at most as f64; the scratch holds k * cols of them.
        let rows_b =
            unsafe { std::slice::from_raw_parts_mut(scratch.as_mut_ptr().cast::<T>(), k * cols) };
        // SAFETY: columns j0..j0+cols of B, element (r, j) at r + j * b_cs (b_rs is 1),
        // lie inside B under the caller's contract.
        let src = unsafe {
            std::slice::from_raw_parts(
                pb.get().add(j0 * b_cs as usize),
                (cols - 1) * b_cs as usize + k,
            )
        };
        super::reorder::transpose(src, b_cs as usize, k, cols, rows_b, cols);
        block(
            0,
            m,
            j0,
            cols,
            (rows_b.as_ptr(), 1, cols as isize),
            gemm::Parallelism::None,
        );
        // (Kept only up to its usual size: a slab of a huge k is not held on to.)
        if scratch.len() * 8 <= NT_SCRATCH_BYTES {
            NT_SCRATCH.with(|c| c.set(scratch));
        }
    };
    let slabs = n.div_ceil(width);
    if threads > 1 {
        super::par_for(slabs, &slab);
    } else {
        (0..slabs).for_each(slab);
    }
}

/// One operand of a batched product: the element offset of each batch entry and the
/// row and column strides (in elements) shared by every matrix.
pub struct MatLayout<'a> {
    pub offsets: &'a [usize],
    pub rs: isize,
    pub cs: isize,
}

/// What a 16-bit product adds to its float32 sums before their one rounding.
#[derive(Clone, Copy, Debug)]
pub enum Bias<'a> {
    /// `b[j]` in column j of every row: Linear's bias (`n` values).
    Cols(&'a [f32]),
    /// `b[i]` in every column of row i: a convolution's bias, one per output channel
    /// (`m` values).
    Rows(&'a [f32]),
}

impl<'a> Bias<'a> {
    /// The part of the bias that reaches rows `r0..r0 + rows` and columns `c0..c0 +
    /// cols` of the output (for the x86_64 bfloat16 kernels).
    #[cfg(target_arch = "x86_64")]
    fn block(self, r0: usize, rows: usize, c0: usize, cols: usize) -> Bias<'a> {
        match self {
            Bias::Cols(b) => Bias::Cols(&b[c0..c0 + cols]),
            Bias::Rows(b) => Bias::Rows(&b[r0..r0 + rows]),
        }
    }
}

/// How a batch of `batch` products of `flops` multiply-adds each is spread over threads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Plan {
    /// All on the calling thread.
    Serial,
    /// One single-threaded product per batch entry, entries spread over the threads.
    OverBatch,
    /// Entries one after another, each product split over the threads.
    Inside,
}

fn plan(batch: usize, flops: usize, threads: usize) -> Plan {
    if threads <= 1 || batch == 0 || flops.saturating_mul(batch) < PAR_FLOPS {
        return Plan::Serial;
    }
    // Splitting over the batch has no per-product synchronisation; it only loses when
    // a few large products do not divide evenly over the threads.
    let even = batch.is_multiple_of(threads) || batch >= 4 * threads;
    if batch >= threads && (even || flops < 16 << 20) {
        Plan::OverBatch
    } else if flops >= PAR_FLOPS {
        Plan::Inside
    } else {
        Plan::OverBatch
    }
}

/// `out[i] = a[i] @ b[i]` for every batch entry `i` of float32 or float64 operands;
/// `out` is a contiguous `(batch, m, n)` buffer.
///
/// # Safety
/// `a` and `b` with the given offsets and strides address `(m, k)` and `(k, n)`
/// matrices inside live allocations; `out` is valid for `batch * m * n` writes and does
/// not overlap the operands. `T` is `f32` or `f64`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batched_float<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    a: *const T,
    al: &MatLayout,
    b: *const T,
    bl: &MatLayout,
    out: *mut T,
    threads: usize,
) {
    let batch = al.offsets.len();
    let (pa, pb, po) = (SendPtr(a as *mut T), SendPtr(b as *mut T), SendPtr(out));
    let run = |i: usize, threads: usize| {
        // SAFETY: the caller guarantees the operand layouts; batch entry `i` of the
        // contiguous output owns the m*n elements starting at i*m*n.
        unsafe {
            crate_gemm::<T>(
                m,
                n,
                k,
                po.get().add(i * m * n),
                1,
                n as isize,
                false,
                pa.get().add(al.offsets[i]),
                al.cs,
                al.rs,
                pb.get().add(bl.offsets[i]),
                bl.cs,
                bl.rs,
                threads,
            )
        }
    };
    match plan(batch, m * n * k, threads) {
        Plan::Serial => (0..batch).for_each(|i| run(i, 1)),
        Plan::OverBatch => super::par_for(batch, &|i| run(i, 1)),
        Plan::Inside => (0..batch).for_each(|i| run(i, threads)),
    }
}

/// `out[i] = a[i] @ b[i]` for integer operands: products and sums wrap in the element
/// type, as PyTorch's CPU kernel does. Batch entries run in parallel when large.
///
/// # Safety
/// As `batched_float`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batched_int<T: Arith>(
    m: usize,
    n: usize,
    k: usize,
    a: *const T,
    al: &MatLayout,
    b: *const T,
    bl: &MatLayout,
    out: *mut T,
) {
    let batch = al.offsets.len();
    let (pa, pb, po) = (SendPtr(a as *mut T), SendPtr(b as *mut T), SendPtr(out));
    let run = |bi: usize| {
        let (ao, bo) = (al.offsets[bi] as isize, bl.offsets[bi] as isize);
        let mut row = vec![T::zero(); n];
        for i in 0..m {
            row.iter_mut().for_each(|v| *v = T::zero());
            for p in 0..k {
                // SAFETY: indices are within the operands' layouts (the caller's contract).
                let x = unsafe {
                    *pa.get()
                        .offset(ao + i as isize * al.rs + p as isize * al.cs)
                };
                for (j, r) in row.iter_mut().enumerate() {
                    // SAFETY: as above.
                    let y = unsafe {
                        *pb.get()
                            .offset(bo + p as isize * bl.rs + j as isize * bl.cs)
                    };
                    *r = r.add(x.mul(y));
                }
            }
            // SAFETY: row i of batch bi lies inside the contiguous output.
            unsafe {
                std::ptr::copy_nonoverlapping(row.as_ptr(), po.get().add((bi * m + i) * n), n)
            };
        }
    };
    if batch > 1 && batch * m * n * k >= PAR_FLOPS {
        super::par_for(batch, &run);
    } else {
        (0..batch).for_each(run);
    }
}

fn parallelism(threads: usize) -> gemm::Parallelism {
    if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    }
}

/// `dst (m, n) = [dst +] a (m, k) @ b (k, n)` for float32/float64 operands, every
/// matrix with its own row and column strides. `threads > 1` splits the product's
/// output over that many threads (the same bits as one thread).
///
/// # Safety
/// The operands with their strides address `(m, k)` and `(k, n)` matrices inside live
/// allocations; `dst` with its strides addresses an `(m, n)` matrix of distinct
/// elements valid for reads and writes, overlapping neither operand. `T` is `f32` or
/// `f64` (the `gemm` crate has kernels for those).
#[allow(clippy::too_many_arguments)]
pub unsafe fn product<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    dst_cs: usize,
    accumulate: bool,
    a: *const T,
    a_rs: usize,
    a_cs: usize,
    b: *const T,
    b_rs: usize,
    b_cs: usize,
    threads: usize,
) {
    // SAFETY: forwarded from the caller's contract.
    unsafe {
        crate_gemm::<T>(
            m,
            n,
            k,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            a,
            a_cs as isize,
            a_rs as isize,
            b,
            b_cs as isize,
            b_rs as isize,
            threads,
        )
    }
}

/// A 16-bit float type computed in float32.
pub trait Half16: Element {
    const IS_BF16: bool;
    fn to_f32(self) -> f32;
    fn from_f32(v: f32) -> Self;
    /// `dst[i] = src[i]` widened, on the SIMD conversions of `cpu::half_convert`.
    fn widen(src: &[Self], dst: &mut [f32]);
    /// `dst[i] = src[i]` rounded to nearest even, as `from_f32`.
    fn narrow(src: &[f32], dst: &mut [Self]);
}

impl Half16 for half::bf16 {
    const IS_BF16: bool = true;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        super::half_convert::widen_bf16(self)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        super::half_convert::narrow_bf16(v)
    }
    fn widen(src: &[Self], dst: &mut [f32]) {
        super::half_convert::bf16_to_f32(src, dst)
    }
    fn narrow(src: &[f32], dst: &mut [Self]) {
        super::half_convert::f32_to_bf16(src, dst)
    }
}

impl Half16 for half::f16 {
    const IS_BF16: bool = false;
    #[inline(always)]
    fn to_f32(self) -> f32 {
        super::half_convert::widen_f16(self)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        super::half_convert::narrow_f16(v)
    }
    fn widen(src: &[Self], dst: &mut [f32]) {
        super::half_convert::f16_to_f32(src, dst)
    }
    fn narrow(src: &[f32], dst: &mut [Self]) {
        super::half_convert::f32_to_f16(src, dst)
    }
}

/// `(rows, cols)` strided matrix at `p` copied to a contiguous row-major f32 buffer,
/// each row widened with the SIMD conversions (a strided row gathered first).
///
/// # Safety
/// `p` with strides `rs`, `cs` addresses a `(rows, cols)` matrix inside one allocation.
unsafe fn to_f32_block<H: Half16>(
    p: *const H,
    rows: usize,
    cols: usize,
    rs: isize,
    cs: isize,
    v: &mut [f32],
) {
    let mut gathered: Vec<H> = Vec::new();
    for (i, dst) in v.chunks_exact_mut(cols.max(1)).enumerate().take(rows) {
        // SAFETY: row i lies inside the operand (caller's contract).
        let row = unsafe { p.offset(i as isize * rs) };
        if cs == 1 {
            // SAFETY: a unit-stride row of `cols` elements.
            H::widen(unsafe { std::slice::from_raw_parts(row, cols) }, dst);
        } else {
            gathered.clear();
            // SAFETY: element j of row i lies inside the operand.
            gathered.extend((0..cols).map(|j| unsafe { *row.offset(j as isize * cs) }));
            H::widen(&gathered, dst);
        }
    }
}

thread_local! {
    /// This thread's float32 copies of a 16-bit product's operands and result, kept
    /// between calls: fresh multi-megabyte buffers cost page faults on every call
    /// (a fifth of a 1024^3 float16 product).
    static HALF_SCRATCH: std::cell::Cell<Vec<f32>> = const { std::cell::Cell::new(Vec::new()) };
}

/// One 16-bit product through float32: convert, multiply with the f32 kernel, round
/// once.
///
/// # Safety
/// As [`batched_half`] for one matrix; `out` is a contiguous `(m, n)` buffer.
#[allow(clippy::too_many_arguments)]
unsafe fn half_via_f32<H: Half16>(
    m: usize,
    n: usize,
    k: usize,
    a: *const H,
    ars: isize,
    acs: isize,
    b: *const H,
    brs: isize,
    bcs: isize,
    out: *mut H,
    bias: Option<Bias>,
    threads: usize,
) {
    let mut buf = HALF_SCRATCH.with(|c| c.take());
    let len = m * k + k * n + m * n;
    if buf.len() < len {
        buf = vec![0f32; len];
    }
    let (a32, rest) = buf.split_at_mut(m * k);
    let (b32, rest) = rest.split_at_mut(k * n);
    let c32 = &mut rest[..m * n];
    // SAFETY: the caller's contract covers both operands.
    unsafe { to_f32_block(a, m, k, ars, acs, a32) };
    // A B whose unit stride runs down its columns (Linear's `x @ w.t()`) is widened in
    // its memory order, as the row-major (n, k) matrix it is, and multiplied as a
    // transposed operand: gathering it column by column cost more than the product
    // (float16 Linear 256x1024 -> 1024 at 0.35x of PyTorch).
    let transposed = brs == 1 && bcs != 1;
    let (b_cs, b_rs) = if transposed {
        // SAFETY: as above, the same elements walked as (n, k).
        unsafe { to_f32_block(b, n, k, bcs, brs, b32) };
        (k as isize, 1)
    } else {
        // SAFETY: as above.
        unsafe { to_f32_block(b, k, n, brs, bcs, b32) };
        (1, n as isize)
    };
    // The bias starts every sum; the product accumulates onto it.
    match bias {
        Some(Bias::Cols(b)) => c32.chunks_exact_mut(n).for_each(|r| r.copy_from_slice(b)),
        Some(Bias::Rows(b)) => c32.chunks_exact_mut(n).zip(b).for_each(|(r, v)| r.fill(*v)),
        None => {}
    }
    // SAFETY: three buffers of the right sizes: row-major A and C, B as laid out above.
    unsafe {
        crate_gemm::<f32>(
            m,
            n,
            k,
            c32.as_mut_ptr(),
            1,
            n as isize,
            bias.is_some(),
            a32.as_ptr(),
            1,
            k as isize,
            b32.as_ptr(),
            b_cs,
            b_rs,
            threads,
        )
    };
    // SAFETY: `out` holds m*n elements (caller's contract).
    H::narrow(c32, unsafe { std::slice::from_raw_parts_mut(out, m * n) });
    if buf.len() <= 16 << 20 {
        HALF_SCRATCH.with(|c| c.set(buf));
    }
}

/// Products with fewer multiply-adds than this run on one thread on the native bfloat16
/// kernels: these do them in a few microseconds, about what waking the pool costs (2
/// threads, 16x256 @ 256x256: 30 us, against 10 on one).
const NATIVE_PAR_MACS: usize = 1 << 23;

/// The native bfloat16 kernel (AMX or AVX512-BF16) for an `(m, k) @ (k, n)` product, if
/// any (it needs at least one full tile in each direction to pay off).
fn use_bf16_kernel<H: Half16>(m: usize, n: usize, k: usize) -> Option<bf16::Engine> {
    if H::IS_BF16 && m >= 16 && n >= 16 && k >= 32 {
        bf16::engine()
    } else {
        None
    }
}

/// How this process multiplies bfloat16 matrices: "amx", "avx512_bf16" or "float32"
/// (converted to float32 blocks).
pub fn bf16_matmul_kernel() -> &'static str {
    match bf16::engine() {
        Some(bf16::Engine::Amx) => "amx",
        Some(bf16::Engine::Avx512Bf16) => "avx512_bf16",
        None => "float32",
    }
}

/// `out[i] = a[i] @ b[i] [+ bias]` for bfloat16 or float16 operands, accumulated in
/// float32 and rounded once, the bias (if given) added to the sums before the rounding;
/// `out` is a contiguous `(batch, m, n)` buffer.
///
/// A `Bias::Rows` holds `m` values, or `g * m` for a batch whose innermost dimension is
/// `g` groups (a grouped convolution's): entry `i` then takes the `(i mod g)`-th `m`.
///
/// # Safety
/// As [`batched_float`]; a `Bias::Cols` holds `n` values, a `Bias::Rows` a positive
/// multiple of `m`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn batched_half<H: Half16>(
    m: usize,
    n: usize,
    k: usize,
    a: *const H,
    al: &MatLayout,
    b: *const H,
    bl: &MatLayout,
    out: *mut H,
    bias: Option<Bias>,
    threads: usize,
) {
    let batch = al.offsets.len();
    let (pa, pb, po) = (SendPtr(a as *mut H), SendPtr(b as *mut H), SendPtr(out));
    let native = use_bf16_kernel::<H>(m, n, k);
    let bias_of = |i: usize| match bias {
        Some(Bias::Rows(v)) if v.len() > m => {
            let start = i % (v.len() / m) * m;
            Some(Bias::Rows(&v[start..start + m]))
        }
        other => other,
    };
    let run = |i: usize, threads: usize| {
        let bias = bias_of(i);
        // SAFETY: the caller guarantees the layouts; entry i owns its m*n outputs.
        unsafe {
            let (a, b, o) = (
                pa.get().add(al.offsets[i]) as *const H,
                pb.get().add(bl.offsets[i]) as *const H,
                po.get().add(i * m * n),
            );
            if let Some(engine) = native {
                bf16::gemm_bf16(
                    engine,
                    m,
                    n,
                    k,
                    a as *const u16,
                    al.rs,
                    al.cs,
                    b as *const u16,
                    bl.rs,
                    bl.cs,
                    o as *mut u16,
                    bias,
                    threads,
                );
            } else {
                half_via_f32(m, n, k, a, al.rs, al.cs, b, bl.rs, bl.cs, o, bias, threads);
            }
        }
    };
    // A native kernel's small products stay on this thread: entering the pool costs
    // more than they take.
    let plan = match plan(batch, m * n * k, threads) {
        Plan::Inside if native.is_some() && m * n * k < NATIVE_PAR_MACS => Plan::Serial,
        p => p,
    };
    match plan {
        Plan::Serial => (0..batch).for_each(|i| run(i, 1)),
        Plan::OverBatch => super::par_for(batch, &|i| run(i, 1)),
        Plan::Inside => (0..batch).for_each(|i| run(i, threads)),
    }
}

/// `out (m, n) = a (m, k) @ b (k, n) + bias` for 16-bit float operands, `bias` (float32,
/// `n` values) added to every row of the float32 sums before their one rounding, as
/// PyTorch's addmm does (oneDNN, or its float32-accumulating fallback).
///
/// # Safety
/// As [`product`] for `H` elements, `out` contiguous row-major; `bias.len() == n`.
#[allow(clippy::too_many_arguments)]
pub unsafe fn linear_half<H: Half16>(
    m: usize,
    n: usize,
    k: usize,
    a: *const H,
    ars: usize,
    acs: usize,
    b: *const H,
    brs: usize,
    bcs: usize,
    bias: &[f32],
    out: *mut H,
    threads: usize,
) {
    let layout = |rs: usize, cs: usize| MatLayout {
        offsets: &[0],
        rs: rs as isize,
        cs: cs as isize,
    };
    let (al, bl) = (layout(ars, acs), layout(brs, bcs));
    // SAFETY: a batch of one product, under the caller's contract.
    unsafe {
        batched_half(
            m,
            n,
            k,
            a,
            &al,
            b,
            &bl,
            out,
            Some(Bias::Cols(bias)),
            threads,
        )
    }
}

#[cfg(target_arch = "x86_64")]
mod bf16 {
    //! Native bfloat16 products, float32 accumulation, one rounding per output: on Intel
    //! AMX tiles (through inline assembly: the AMX intrinsics are not stable Rust), or
    //! with AVX512-BF16 `vdpbf16ps` on the same packed operands.
    //!
    //! AMX:
    //! Tiles 0-3 hold a 32x32 float32 block of the output (2x2 tiles of 16x16), tiles
    //! 4-5 two 16-row slices of A (16 rows x 32 bf16), tiles 6-7 two 16-column slices of
    //! B in the pair-interleaved ("VNNI") layout `tdpbf16ps` reads: 16 rows of k-pairs,
    //! each row 16 columns x 2 bf16. The whole k range accumulates in the tiles and
    //! each output is rounded to bfloat16 once.
    //!
    //! AVX512-BF16: each 32x32 block is computed as four 8-row slices held in 16 zmm
    //! accumulators; a B row of k-pairs (16 columns x 2) is one register and each A
    //! k-pair is broadcast, so the packed layouts serve both engines.
    //!
    //! Inputs that are bfloat16 subnormals (below 1.2e-38) count as zero in
    //! `tdpbf16ps` and `vdpbf16ps`, as in PyTorch's AMX and AVX512-BF16 paths (oneDNN).

    use super::{Bias, SendPtr};
    use std::arch::asm;
    use std::sync::OnceLock;

    /// Rows of A (and of the output) per register block.
    const RB: usize = 32;
    /// Columns of B (and of the output) per register block, a "panel".
    const CB: usize = 32;
    /// bfloat16 values of k per tile row.
    const KT: usize = 32;
    /// Register blocks of rows per task: A's slice (`ROWS_PER_TASK * RB * k` bf16)
    /// stays in L2 while the task sweeps its panels.
    const ROW_BLOCKS_PER_TASK: usize = 8;
    /// Panels per task: each panel (`k * CB` bf16) is reused by every row block.
    const PANELS_PER_TASK: usize = 8;
    /// k-tiles per chunk: the accumulator tiles hold a block's sums over this much of
    /// k (256) before they go back to memory. A row block's chunk (16 KiB) then stays
    /// in L1 while the task's panels stream past: on a Sapphire Rapids 1024^3 product
    /// (one thread) 8 measured 1165 GFLOP/s, 4 1110, 12 1070, 16 1013, 32 1060.
    const KC_TILES: usize = 8;

    /// The instructions a native bfloat16 product runs on.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Engine {
        Amx,
        Avx512Bf16,
    }

    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();

    /// AMX when present and permitted, else AVX512-BF16 when the AVX-512 path is in use
    /// and the CPU has it, else none (chosen once per process).
    pub fn engine() -> Option<Engine> {
        *ENGINE.get_or_init(|| {
            if detect_amx() {
                Some(Engine::Amx)
            } else if crate::cpu::math::has_avx512() && is_x86_feature_detected!("avx512bf16") {
                Some(Engine::Avx512Bf16)
            } else {
                None
            }
        })
    }

    /// AMX-BF16 present in CPUID, permitted by the OS, and not disabled by
    /// `RTORCH_DISABLE_AMX`.
    fn detect_amx() -> bool {
        if std::env::var("RTORCH_DISABLE_AMX").is_ok_and(|v| !v.is_empty() && v != "0") {
            return false;
        }
        // SAFETY: CPUID is available on every x86_64 CPU; leaf 7 is read only when the
        // maximum basic leaf covers it.
        #[allow(unused_unsafe)]
        let (max_leaf, edx7) = unsafe {
            let l0 = std::arch::x86_64::__cpuid(0);
            if l0.eax < 7 {
                (l0.eax, 0)
            } else {
                (l0.eax, std::arch::x86_64::__cpuid_count(7, 0).edx)
            }
        };
        let amx_bf16 = edx7 & (1 << 22) != 0;
        let amx_tile = edx7 & (1 << 24) != 0;
        if max_leaf < 7 || !amx_bf16 || !amx_tile {
            return false;
        }
        request_permission()
    }

    /// Linux hands out the (large) AMX register state only on request, per process.
    #[cfg(target_os = "linux")]
    fn request_permission() -> bool {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: arch_prctl(ARCH_REQ_XCOMP_PERM) only changes which register state
        // the kernel lets this process use; it reads no memory of ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            )
        };
        r == 0
    }

    #[cfg(not(target_os = "linux"))]
    fn request_permission() -> bool {
        false
    }

    /// The tile configuration (palette 1): 8 tiles of 16 rows x 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig {
        palette: u8,
        start_row: u8,
        reserved: [u8; 14],
        colsb: [u16; 16],
        rows: [u8; 16],
    }

    const CONFIG: TileConfig = {
        let mut colsb = [0u16; 16];
        let mut rows = [0u8; 16];
        let mut t = 0;
        while t < 8 {
            colsb[t] = 64;
            rows[t] = 16;
            t += 1;
        }
        TileConfig {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            colsb,
            rows,
        }
    };

    #[repr(C, align(64))]
    struct CBlock([f32; RB * CB]);

    /// A buffer of whole cache lines, allocated as tensor storage is: 64-byte aligned
    /// (tile rows, 64 bytes, must start on a line: one that straddles two makes every
    /// tile load touch twice the lines, and measured 1.8x slower), and from 2 MiB on
    /// aligned to a huge page and backed by one where the kernel allows: fewer TLB
    /// misses over the packed operands, and the same cache-set layout in every process
    /// (with 4 KiB pages it follows the physical pages a process gets). Two-thread
    /// 1024^3 products on a Zen 4, medians of twelve processes: 2 in 6 ran near 375
    /// GFLOP/s instead of 420-430 before, 1 in 6 after (the rest of that slow mode is
    /// the host: B's packing swells 4x in periods of memory contention).
    #[derive(Default)]
    struct Lines(Option<crate::storage::CpuBuffer>);

    impl Lines {
        const fn new() -> Lines {
            Lines(None)
        }

        /// The first `len` elements of type `T` (u16 or f32: any bits are a value),
        /// grown (zero-filled) when the buffer is shorter.
        fn prefix<T: Copy>(&mut self, len: usize) -> &mut [T] {
            assert!(matches!(std::mem::size_of::<T>(), 2 | 4));
            // At least 256 bytes, from which on storage is 64-byte aligned.
            let bytes = (len * std::mem::size_of::<T>()).div_ceil(64).max(4) * 64;
            if self.bytes() < bytes {
                self.0 = None;
                self.0 = Some(
                    crate::storage::CpuBuffer::alloc(bytes, true).unwrap_or_else(|_| {
                        // As a `Vec` that cannot grow: the operands of this size exist
                        // already, so only memory exhaustion gets here.
                        std::alloc::handle_alloc_error(
                            std::alloc::Layout::from_size_align(bytes, 64)
                                .unwrap_or(std::alloc::Layout::new::<u8>()),
                        )
                    }),
                );
            }
            let ptr = self.0.as_ref().map_or(std::ptr::null_mut(), |b| b.as_ptr());
            // SAFETY: the buffer holds at least `len * size_of::<T>()` zero-initialised
            // (or since written) bytes, 64-byte aligned (more than T needs); T is u16
            // or f32, for which every bit pattern is a value; the borrow of `self` keeps
            // the buffer alive and unaliased for the slice's lifetime.
            unsafe { std::slice::from_raw_parts_mut(ptr.cast::<T>(), len) }
        }

        fn bytes(&self) -> usize {
            self.0.as_ref().map_or(0, |b| b.len())
        }
    }

    thread_local! {
        /// This thread's packed A, kept between calls: fresh multi-megabyte buffers
        /// cost page faults as slow as the packing itself.
        static A_PACK: std::cell::Cell<Lines> = const { std::cell::Cell::new(Lines::new()) };
        /// This thread's packed panels of B (those of the task it runs), likewise.
        static B_PACK: std::cell::Cell<Lines> = const { std::cell::Cell::new(Lines::new()) };
        /// This thread's float32 partial sums of a task's blocks between k-chunks.
        static ACC: std::cell::Cell<Lines> = const { std::cell::Cell::new(Lines::new()) };
        /// This thread's tile of A's k-chunk (`ARows::Copied`).
        static TILE: std::cell::Cell<Lines> = const { std::cell::Cell::new(Lines::new()) };
    }

    /// Buffers above this many bytes (64 MiB) are freed after use.
    const KEEP_BYTES: usize = 64 << 20;

    /// Round-to-nearest-even float32 -> bfloat16 bits (branch-free, so the loop
    /// vectorises).
    #[inline(always)]
    fn round_bf16(x: f32) -> u16 {
        super::super::half_convert::narrow_bf16(x).to_bits()
    }

    /// Where the kernels read A's rows.
    #[derive(Clone, Copy)]
    enum ARows {
        /// Packed row blocks (`pack_a`): block rb at `rb * RB * kp`, its rows KT
        /// elements apart, its k-tiles 1024 apart.
        Packed { ptr: SendPtr<u16>, kp: usize },
        /// A itself: rows `rs` elements apart, each a unit-stride run of k (a multiple
        /// of KT) values, so k-tiles lie KT apart. The last row block, when m is not a
        /// multiple of RB, is the RB rows ending at row m - 1 (m >= RB): its first rows
        /// repeat the previous block's and are not stored.
        InPlace {
            ptr: SendPtr<u16>,
            rs: isize,
            m: usize,
        },
        /// A with unit-stride rows `rs` apart, each row block's k-chunk copied into an
        /// L1-sized tile (`CHUNK_TILE` elements) just before the kernels read it: no pass over
        /// all of A before the products, and no copy of it going through L3. (Each
        /// task copies the chunks again, so this only pays for row copies: element by
        /// element, a transposed A ran at 218 GFLOP/s this way against 317 packed
        /// once, 1024^3 on two threads.)
        Copied {
            ptr: SendPtr<u16>,
            rs: isize,
            m: usize,
            k: usize,
        },
    }

    /// Row block `rb` of [`ARows`] from k-tile `t0` on, as the kernels read it.
    #[derive(Clone, Copy)]
    struct ABlock {
        /// Row 0, k-tile t0.
        ptr: *const u16,
        /// Elements from one row to the next.
        row_stride: isize,
        /// Elements from one k-tile to the next.
        tile_stride: isize,
        /// Leading rows that belong to the previous block (not stored).
        skip: usize,
    }

    /// Elements of one row block's k-chunk of A (RB rows of up to KC_TILES k-tiles, rows
    /// contiguous: 16 KiB), for [`ARows::Copied`].
    const CHUNK_TILE: usize = RB * KC_TILES * KT;

    impl ARows {
        /// Row block `rb` at k-tiles `t0..t1`; `Copied` copies them into `tile` (rows
        /// past m and k past k zero: the padding meets B's zeros and unstored outputs).
        ///
        /// # Safety
        /// Row block `rb` exists (`rb * RB < m`); `t0 < t1 <= t0 + KC_TILES` are k-tiles
        /// of the product.
        unsafe fn block(self, rb: usize, t0: usize, t1: usize, tile: &mut [u16]) -> ABlock {
            match self {
                ARows::Packed { ptr, kp } => ABlock {
                    // SAFETY: row block rb, k-tile t0 lies inside the packed buffer.
                    ptr: unsafe { ptr.get().add(rb * RB * kp + t0 * 1024) },
                    row_stride: KT as isize,
                    tile_stride: 1024,
                    skip: 0,
                },
                ARows::InPlace { ptr, rs, m } => {
                    let first = (rb * RB).min(m - RB);
                    ABlock {
                        // SAFETY: rows first..first + RB, from element t0*KT, lie
                        // inside A (m >= RB).
                        ptr: unsafe { ptr.get().offset(first as isize * rs).add(t0 * KT) },
                        row_stride: rs,
                        tile_stride: KT as isize,
                        skip: rb * RB - first,
                    }
                }
                ARows::Copied { ptr, rs, m, k } => {
                    let width = (t1 - t0) * KT;
                    let (k0, k1) = (t0 * KT, (t1 * KT).min(k));
                    for (ii, dst) in tile.chunks_exact_mut(width).take(RB).enumerate() {
                        let i = rb * RB + ii;
                        if i >= m {
                            dst.fill(0);
                            continue;
                        }
                        // SAFETY: elements k0..k1 of row i < m of A, unit stride (the
                        // caller's contract).
                        let src = unsafe {
                            std::slice::from_raw_parts(
                                ptr.get().offset(i as isize * rs).add(k0),
                                k1 - k0,
                            )
                        };
                        dst[..k1 - k0].copy_from_slice(src);
                        dst[k1 - k0..].fill(0);
                    }
                    ABlock {
                        ptr: tile.as_ptr(),
                        row_stride: width as isize,
                        tile_stride: KT as isize,
                        skip: 0,
                    }
                }
            }
        }
    }

    /// A row stride (in bfloat16 elements) at which reading A in place runs as fast as
    /// from packed tiles: a 32-row block of 512-byte k-chunks then spreads over the L1
    /// sets (at 2 KiB a throwaway Zen 4 harness ran the kernel at 230 GFLOP/s, packed
    /// 231), unlike a multiple of 4 KiB, which stacks every row on the same sets (8
    /// KiB: 210).
    fn stride_reads_well(rs: isize) -> bool {
        rs.checked_mul(2)
            .is_some_and(|bytes| bytes > 0 && bytes % 4096 != 0)
    }

    /// How a product's panels and row blocks are shared among the tasks.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Split {
        /// Panels per group (the last group may have fewer).
        group_panels: usize,
        groups: usize,
        /// Parts the row blocks are cut into; each group's panels are packed once per
        /// part.
        row_parts: usize,
    }

    /// Groups of at most PANELS_PER_TASK panels, as many as a multiple of the thread
    /// count when that splits the panels evenly; otherwise (or with fewer panels than
    /// threads) the rows are cut too, into up to `threads` parts, so that the tasks
    /// share out evenly at the price of packing each group once per part.
    fn split(panels: usize, row_blocks: usize, threads: usize) -> Split {
        if threads <= 1 {
            let groups = panels.div_ceil(PANELS_PER_TASK);
            return Split {
                group_panels: panels.div_ceil(groups),
                groups,
                row_parts: 1,
            };
        }
        let groups = threads * panels.div_ceil(threads * PANELS_PER_TASK);
        let group_panels = panels.div_ceil(groups);
        let groups = panels.div_ceil(group_panels);
        let even = groups.is_multiple_of(threads) && panels.is_multiple_of(group_panels);
        let row_parts = if even {
            1
        } else {
            threads.min(row_blocks.div_ceil(ROW_BLOCKS_PER_TASK))
        };
        Split {
            group_panels,
            groups,
            row_parts,
        }
    }

    /// `out (m, n) = a (m, k) @ b (k, n)` in bfloat16 bits, contiguous row-major `out`.
    ///
    /// For AVX512-BF16, A is read in place when its rows allow, else (unit-stride rows)
    /// each row block's k-chunk is copied into an L1 tile as the task reaches it; for
    /// AMX (whose tile loads were tuned on packed tiles) and any other A, A is packed
    /// once for all tasks. Each task packs the panels of B it multiplies into its own
    /// thread's buffer and runs them against its rows: one pass over the thread pool,
    /// and the panels are still in the cache of the core that packed them (packing all
    /// of B up front on two threads took 5% of a 1024^3 product on a Zen 4 in periods
    /// of memory contention, plus a pass over the pool).
    ///
    /// # Safety
    /// [`engine`] returned `engine`; `a` and `b` with their strides address the
    /// operands inside live allocations; `out` is valid for `m * n` writes and does not
    /// overlap them; `m >= 1`, `n >= 1`, `k >= 1`.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm_bf16(
        engine: Engine,
        m: usize,
        n: usize,
        k: usize,
        a: *const u16,
        ars: isize,
        acs: isize,
        b: *const u16,
        brs: isize,
        bcs: isize,
        out: *mut u16,
        bias: Option<Bias>,
        threads: usize,
    ) {
        let kp = k.div_ceil(KT) * KT;
        let mp = m.div_ceil(RB) * RB;
        let panels = n.div_ceil(CB);
        let row_blocks = mp / RB;
        // Small products run on this thread alone (`NATIVE_PAR_MACS`).
        let threads = if m.saturating_mul(n).saturating_mul(k) < super::NATIVE_PAR_MACS {
            1
        } else {
            threads
        };

        // Padding in k must be zero (garbage there would meet the other operand's
        // padding: NaN * 0); it lies in the last k-tile of each packed row block and
        // panel (1024 values each), which are cleared before packing. Padding rows of A
        // and columns of B only reach outputs that are not stored.
        let in_place = engine == Engine::Avx512Bf16
            && acs == 1
            && k.is_multiple_of(KT)
            && m >= RB
            && stride_reads_well(ars);
        let mut a_buf = A_PACK.with(|c| c.take());
        let a_rows = if in_place {
            ARows::InPlace {
                ptr: SendPtr(a as *mut u16),
                rs: ars,
                m,
            }
        } else if engine == Engine::Avx512Bf16 && acs == 1 {
            ARows::Copied {
                ptr: SendPtr(a as *mut u16),
                rs: ars,
                m,
                k,
            }
        } else {
            let ap: &mut [u16] = a_buf.prefix(mp * kp);
            if kp != k {
                for block in ap.chunks_mut(RB * kp) {
                    block[kp * RB - 1024..].fill(0);
                }
            }
            let simd = crate::cpu::math::has_avx512();
            // SAFETY: A and `ap` as the caller vouches; `simd` only with AVX-512.
            unsafe { pack_a(ap, a, ars, acs, m, k, threads, simd) };
            ARows::Packed {
                ptr: SendPtr(ap.as_mut_ptr()),
                kp,
            }
        };

        let sp = split(panels, row_blocks, threads);
        let part_blocks = row_blocks.div_ceil(sp.row_parts);
        let (bsrc, po) = (SendPtr(b as *mut u16), SendPtr(out));
        let task = |t: usize| {
            let (g, part) = (t / sp.row_parts, t % sp.row_parts);
            let p0 = g * sp.group_panels;
            let p1 = (p0 + sp.group_panels).min(panels);
            let mut b_buf = B_PACK.with(|c| c.take());
            let bp: &mut [u16] = b_buf.prefix((p1 - p0) * kp * CB);
            if kp != k {
                for panel in bp.chunks_mut(kp * CB) {
                    panel[kp * CB - 1024..].fill(0);
                }
            }
            let simd = crate::cpu::math::has_avx512();
            // SAFETY: panels p0..p1 of B (caller's contract) into a buffer that holds
            // them; `simd` only when the AVX-512 path is in use.
            unsafe { pack_b(bp, bsrc.get(), (brs, bcs), (k, n), p0..p1, simd) };
            let r_end = ((part + 1) * part_blocks).min(row_blocks);
            for rb0 in (part * part_blocks..r_end).step_by(ROW_BLOCKS_PER_TASK) {
                let rb1 = (rb0 + ROW_BLOCKS_PER_TASK).min(r_end);
                // SAFETY: A's rows are packed, copied or read in place in bounds (`a_rows`),
                // `bp` holds panels p0..p1, and this task writes only its own rows x
                // columns of `out`.
                unsafe {
                    run_task(
                        engine,
                        a_rows,
                        bp.as_ptr(),
                        kp,
                        rb0..rb1,
                        p0..p1,
                        m,
                        n,
                        po.get(),
                        bias,
                    )
                };
            }
            if b_buf.bytes() <= KEEP_BYTES {
                B_PACK.with(|c| c.set(b_buf));
            }
        };
        let tasks = sp.groups * sp.row_parts;
        if threads > 1 && tasks > 1 {
            super::super::par_for(tasks, &task);
        } else {
            (0..tasks).for_each(task);
        }
        if a_buf.bytes() <= KEEP_BYTES {
            A_PACK.with(|c| c.set(a_buf));
        }
    }

    /// Packs panels `p0..p1` of B (k x n, strides `brs`, `bcs`) into `bp`, panel after
    /// panel of CB columns; in a panel, k-tile after k-tile; in a k-tile, two 16-column
    /// halves of 16 rows of k-pairs (16 columns x 2 bf16), the layout `tdpbf16ps` reads.
    /// The k padding of the last k-tile of each panel is left as found. With `simd`,
    /// whole panels are packed by AVX-512 permutes (row-major B) or transposes
    /// (column-contiguous B).
    ///
    /// # Safety
    /// B's elements lie inside a live allocation; `bp` holds `(p1 - p0) * kp * CB`;
    /// `p0 < p1 <= n.div_ceil(CB)`; `simd` only on a CPU with AVX512F and AVX512BW.
    unsafe fn pack_b(
        bp: &mut [u16],
        b: *const u16,
        (brs, bcs): (isize, isize),
        (k, n): (usize, usize),
        panels: std::ops::Range<usize>,
        simd: bool,
    ) {
        let (p0, p1) = (panels.start, panels.end);
        let kp = k.div_ceil(KT) * KT;
        let panel_len = kp * CB;
        // A B whose columns are contiguous (Linear's `x @ w.t()`) is packed by 16 x 16
        // transposes of k-pairs on the AVX-512 path.
        let transposed = brs == 1 && bcs != 1 && simd;
        let full_end = if bcs == 1 || transposed {
            (n / CB).clamp(p0, p1)
        } else {
            p0
        };
        let dst = bp.as_mut_ptr();
        if transposed {
            // Panel by panel, half by half: 16 columns read front to back, 16 streams at
            // a time, each 16-column half of a k-tile one transpose.
            for j in p0..full_end {
                for h in 0..2 {
                    for t in 0..kp / KT {
                        let c0 = j * CB + h * 16;
                        // SAFETY: the CPU has AVX-512 (`transposed`); columns
                        // c0..c0+16 of B hold elements t*KT..min(k, t*KT + KT) (caller's
                        // contract); half h of k-tile t of panel j lies inside `bp`.
                        unsafe {
                            transpose_pairs_avx512(
                                b.offset(c0 as isize * bcs + (t * KT) as isize),
                                bcs,
                                KT.min(k - t * KT),
                                dst.add((j - p0) * panel_len + t * 1024 + h * 512),
                            )
                        };
                    }
                }
            }
        } else if full_end > p0 {
            // Row-major B, full panels: a k-tile of every panel at a time, reading B's
            // rows front to back (a panel at a time would stride down 64-byte columns).
            for t in 0..kp / KT {
                let rows = KT.min(k - t * KT);
                // SAFETY: rows t*KT..t*KT+rows of B, from column p0*CB (caller's
                // contract); k-tile t of each panel of `bp`.
                let (src, d) = unsafe {
                    (
                        b.offset((t * KT) as isize * brs + (p0 * CB) as isize),
                        dst.add(t * 1024),
                    )
                };
                if simd {
                    // SAFETY: the CPU has AVX-512 (`simd`); the ranges above hold the
                    // full panels' columns.
                    unsafe { interleave_tile_avx512(src, brs, rows, full_end - p0, d, panel_len) };
                    continue;
                }
                for kk in (0..rows).step_by(2) {
                    for j in 0..full_end - p0 {
                        // SAFETY: columns j*CB..j*CB+32 of rows kk and kk+1 (when it
                        // exists) from `src`; unaligned reads of plain u16 values.
                        let (r0, r1) = unsafe {
                            let p = src.offset(kk as isize * brs).add(j * CB);
                            let r1 = if kk + 1 < rows {
                                p.offset(brs).cast::<[u16; CB]>().read_unaligned()
                            } else {
                                [0u16; CB]
                            };
                            (p.cast::<[u16; CB]>().read_unaligned(), r1)
                        };
                        // SAFETY: pair row kk/2 of k-tile t in panel j (544 elements
                        // from there) lies inside `bp`.
                        let dr = unsafe {
                            std::slice::from_raw_parts_mut(d.add(j * panel_len + kk * 16), 544)
                        };
                        interleave_pair_rows(&r0, &r1, dr);
                    }
                }
            }
        }
        // Any other panel (a partial last one, or B not row-major), element by element.
        for j in full_end..p1 {
            let c0 = j * CB;
            let cols = CB.min(n - c0);
            // SAFETY: panel j of `bp`.
            let d =
                unsafe { std::slice::from_raw_parts_mut(dst.add((j - p0) * panel_len), panel_len) };
            for kk in 0..k {
                let (t, r, e) = (kk / KT, (kk % KT) / 2, kk % 2);
                // SAFETY: row kk, columns c0..c0+cols of B (caller's contract).
                let row = unsafe { b.offset(kk as isize * brs + c0 as isize * bcs) };
                for c in 0..cols {
                    let (h, cc) = (c / 16, c % 16);
                    // SAFETY: as above.
                    d[t * 1024 + h * 512 + r * 32 + cc * 2 + e] =
                        unsafe { *row.offset(c as isize * bcs) };
                }
            }
        }
    }

    /// Packs A (m x k, strides `ars`, `acs`) into `ap`: row block rb, k-tile t, half h
    /// (16 rows) is a contiguous 16 x 32 tile (1 KiB, rows 64 bytes apart). Contiguous
    /// tiles also avoid the cache-set conflicts of power-of-two row strides.
    ///
    /// With `simd`, an A whose columns are contiguous (`ars == 1`) is packed by AVX-512
    /// transposes ([`transpose_a_half_avx512`]).
    ///
    /// # Safety
    /// A's elements lie inside a live allocation; `ap` holds `mp * kp`; `simd` only on a
    /// CPU with AVX512F and AVX512BW.
    #[allow(clippy::too_many_arguments)]
    unsafe fn pack_a(
        ap: &mut [u16],
        a: *const u16,
        ars: isize,
        acs: isize,
        m: usize,
        k: usize,
        threads: usize,
        simd: bool,
    ) {
        let kp = k.div_ceil(KT) * KT;
        let nkt = kp / KT;
        let asrc = SendPtr(a as *mut u16);
        let transposed = simd && ars == 1 && acs != 1;
        let pack_rows = |rb: usize, dst: &mut [u16]| {
            let a = asrc.get() as *const u16;
            let rows = RB.min(m - rb * RB);
            if transposed {
                for t in 0..nkt {
                    for h in 0..rows.div_ceil(16) {
                        let i0 = rb * RB + h * 16;
                        // SAFETY: rows i0..i0 + min(16, m - i0) of A at k values t*KT..
                        // min(k, t*KT + KT) (caller's contract), the CPU has AVX-512
                        // (`simd`), and half h of k-tile t lies inside `dst`.
                        unsafe {
                            transpose_a_half_avx512(
                                a.offset(i0 as isize + (t * KT) as isize * acs),
                                acs,
                                (rows - h * 16).min(16),
                                KT.min(k - t * KT),
                                dst[(t * 2 + h) * 512..][..512].as_mut_ptr(),
                            )
                        };
                    }
                }
                return;
            }
            for ii in 0..rows {
                let i = rb * RB + ii;
                let (h, r) = (ii / 16, ii % 16);
                // SAFETY: row i of A (caller's contract).
                let row = unsafe { a.offset(i as isize * ars) };
                for t in 0..nkt {
                    let k0 = t * KT;
                    let len = KT.min(k.saturating_sub(k0));
                    let d = &mut dst[(t * 2 + h) * 512 + r * 32..][..len];
                    if acs == 1 && len == KT {
                        // A whole tile row as one fixed-size copy (two vector moves; a
                        // `copy_from_slice` of a run-time length is a `memmove` call
                        // per 64 bytes: 2% of a one-thread 1024^3 product).
                        // SAFETY: a unit-stride run of KT elements of row i; unaligned
                        // read of plain u16 values.
                        let run = unsafe { row.add(k0).cast::<[u16; KT]>().read_unaligned() };
                        d.copy_from_slice(&run);
                    } else if acs == 1 {
                        // SAFETY: a unit-stride run of `len` elements of row i.
                        d.copy_from_slice(unsafe { std::slice::from_raw_parts(row.add(k0), len) });
                    } else {
                        for (p, x) in d.iter_mut().enumerate() {
                            // SAFETY: element k0+p of row i.
                            *x = unsafe { *row.offset((k0 + p) as isize * acs) };
                        }
                    }
                }
            }
        };
        let block_len = RB * kp;
        if threads > 1 && m * k >= 1 << 16 {
            super::super::par_chunks_mut(ap, block_len, &|rb, d| pack_rows(rb, d));
        } else {
            ap.chunks_mut(block_len)
                .enumerate()
                .for_each(|(rb, d)| pack_rows(rb, d));
        }
    }

    /// Rows `r0` (k even) and `r1` (k odd) of a 32-column panel in the pair-interleaved
    /// layout: columns 0-15 as (r0, r1) pairs at `d[..32]`, columns 16-31 at
    /// `d[512..544]`.
    fn interleave_pair_rows(r0: &[u16; CB], r1: &[u16; CB], d: &mut [u16]) {
        assert!(d.len() >= 544);
        for h in 0..2 {
            for cc in 0..16 {
                d[h * 512 + cc * 2] = r0[h * 16 + cc];
                d[h * 512 + cc * 2 + 1] = r1[h * 16 + cc];
            }
        }
    }

    /// One k-tile of a row-major B (`rows` valid rows from `src`, `brs` apart), `panels`
    /// full panels of CB columns from the start, pair-interleaved into `d + j *
    /// panel_len` (columns 0-15) and 512 past it (16-31) for panel j: the loop of
    /// [`interleave_pair_rows`] in one AVX-512 function, so the permutes are not a
    /// call per 32 columns (which took 40% of a bfloat16 convolution). Panel by panel,
    /// so that the writes run front to back through each panel's tile (row pair by row
    /// pair across all panels scattered them 2 KiB at a time over every panel: 29% of a
    /// bfloat16 3x3 convolution).
    ///
    /// # Safety
    /// The CPU has AVX512F and AVX512BW; `panels * CB` elements of each of the `rows`
    /// rows are readable; `d + j * panel_len .. + 1024` is writable for every panel j.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn interleave_tile_avx512(
        src: *const u16,
        brs: isize,
        rows: usize,
        panels: usize,
        d: *mut u16,
        panel_len: usize,
    ) {
        use std::arch::x86_64::*;
        const LO: [u16; 32] = pair_index::<0>();
        const HI: [u16; 32] = pair_index::<16>();
        // SAFETY: the index tables are 64 bytes; the row reads and the stores are
        // inside the ranges the caller vouches for.
        unsafe {
            let (lo_idx, hi_idx) = (
                _mm512_loadu_si512(LO.as_ptr().cast()),
                _mm512_loadu_si512(HI.as_ptr().cast()),
            );
            for j in 0..panels {
                for r in 0..rows.div_ceil(2) {
                    let row0 = src.offset((2 * r) as isize * brs).add(j * CB);
                    let a = _mm512_loadu_si512(row0.cast());
                    let b = if 2 * r + 1 < rows {
                        _mm512_loadu_si512(row0.offset(brs).cast())
                    } else {
                        _mm512_setzero_si512()
                    };
                    let out = d.add(j * panel_len + r * 32);
                    _mm512_storeu_si512(out.cast(), _mm512_permutex2var_epi16(a, lo_idx, b));
                    _mm512_storeu_si512(
                        out.add(512).cast(),
                        _mm512_permutex2var_epi16(a, hi_idx, b),
                    );
                }
            }
        }
    }

    /// 16 columns of a column-contiguous B (column c at `src + c * bcs`), `kvalid <= 32`
    /// of their k values, into one half k-tile at `d`: row r holds the 16 columns' pairs
    /// (k = 2r, 2r + 1), zeros past `kvalid`. A k-pair is 4 bytes, so this is a 16 x 16
    /// transpose of 32-bit lanes ([`transpose_dwords_avx512`]).
    ///
    /// # Safety
    /// The CPU has AVX512F and AVX512BW; elements `0..kvalid` of each of the 16 columns
    /// are readable; `d..d + 512` is writable.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn transpose_pairs_avx512(src: *const u16, bcs: isize, kvalid: usize, d: *mut u16) {
        use std::arch::x86_64::*;
        let mask: __mmask32 = if kvalid >= KT {
            u32::MAX
        } else {
            (1u32 << kvalid) - 1
        };
        // SAFETY: masked loads touch only elements 0..kvalid of each column; the
        // transpose stores 16 rows of 64 bytes, `d..d + 512`.
        unsafe {
            let r: [__m512i; 16] = std::array::from_fn(|c| {
                _mm512_maskz_loadu_epi16(mask, src.offset(c as isize * bcs).cast())
            });
            transpose_dwords_avx512(&r, d);
        }
    }

    /// 16 rows of A whose columns are contiguous (A's element (i, kk) at `src + i + kk *
    /// acs`: a transposed A, the gradient in a weight's `grad^T @ x`), rows `0..rows` and
    /// k values `0..kvalid` of them, into one 16-row half of a packed k-tile at `d`: row
    /// i's 32 k values, zeros past `rows` and `kvalid`. Each pair of k-rows (16 rows' values
    /// at k = 2p and 2p + 1) interleaves into one register of k-pairs, lane i; a 16 x 16
    /// transpose of those 4-byte pairs gives the tile's rows. (Element by element, the
    /// packing of a transposed A took a fifth of a 1024^3 product on two threads.)
    ///
    /// # Safety
    /// The CPU has AVX512F and AVX512BW; elements `0..rows` (<= 16) of each of the k-rows
    /// `0..kvalid` (<= 32) are readable; `d..d + 512` is writable.
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn transpose_a_half_avx512(
        src: *const u16,
        acs: isize,
        rows: usize,
        kvalid: usize,
        d: *mut u16,
    ) {
        use std::arch::x86_64::*;
        const LO: [u16; 32] = pair_index::<0>();
        let mask: __mmask32 = (1u32 << rows.min(16)) - 1;
        // SAFETY: masked loads touch only elements 0..rows of k-rows below kvalid; the
        // transpose stores 16 rows of 64 bytes, `d..d + 512`.
        unsafe {
            let idx = _mm512_loadu_si512(LO.as_ptr().cast());
            let load = |kk: usize| {
                if kk < kvalid {
                    _mm512_maskz_loadu_epi16(mask, src.offset(kk as isize * acs).cast())
                } else {
                    _mm512_setzero_si512()
                }
            };
            let r: [__m512i; 16] = std::array::from_fn(|p| {
                _mm512_permutex2var_epi16(load(2 * p), idx, load(2 * p + 1))
            });
            transpose_dwords_avx512(&r, d);
        }
    }

    /// Stores the 16 x 16 transpose of `r`'s 32-bit lanes at `d` (row j, 64 bytes, at
    /// `d + 32 j`: lane j of every `r[c]`): unpacks of register pairs, then of 64-bit
    /// halves, then two rounds of 128-bit lane shuffles.
    ///
    /// # Safety
    /// The CPU has AVX512F; `d..d + 512` is writable.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn transpose_dwords_avx512(r: &[std::arch::x86_64::__m512i; 16], d: *mut u16) {
        use std::arch::x86_64::*;
        // Lane L of t[2g] / t[2g + 1]: lanes 4L, 4L + 1 / 4L + 2, 4L + 3 of r[2g] and
        // r[2g + 1], interleaved.
        let t: [__m512i; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[i & !1], r[i | 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_epi32(a, b)
            } else {
                _mm512_unpackhi_epi32(a, b)
            }
        });
        // u[4g + j], lane L: lane 4L + j of r[4g..4g + 4].
        let u: [__m512i; 16] = std::array::from_fn(|i| {
            let (g, j) = (i / 4, i % 4);
            let (a, b) = (t[4 * g + j / 2], t[4 * g + 2 + j / 2]);
            if j % 2 == 0 {
                _mm512_unpacklo_epi64(a, b)
            } else {
                _mm512_unpackhi_epi64(a, b)
            }
        });
        for j in 0..4 {
            // Lanes 0, 1 (lo) or 2, 3 (hi) of register groups 0, 1 and of 2, 3.
            let lo01 = _mm512_shuffle_i32x4::<0x44>(u[j], u[4 + j]);
            let hi01 = _mm512_shuffle_i32x4::<0xEE>(u[j], u[4 + j]);
            let lo23 = _mm512_shuffle_i32x4::<0x44>(u[8 + j], u[12 + j]);
            let hi23 = _mm512_shuffle_i32x4::<0xEE>(u[8 + j], u[12 + j]);
            // Row 4L + j: lane L of every register group.
            let rows = [
                _mm512_shuffle_i32x4::<0x88>(lo01, lo23),
                _mm512_shuffle_i32x4::<0xDD>(lo01, lo23),
                _mm512_shuffle_i32x4::<0x88>(hi01, hi23),
                _mm512_shuffle_i32x4::<0xDD>(hi01, hi23),
            ];
            for (l, v) in rows.iter().enumerate() {
                // SAFETY: row 4l + j of the 16 at `d` (caller's contract).
                unsafe { _mm512_storeu_si512(d.add((4 * l + j) * 32).cast(), *v) };
            }
        }
    }

    /// Lane j of the output takes element j/2 of r0 (j even) or of r1 (j odd, index 32 +
    /// j/2 in `vpermt2w`'s two-table numbering), from the low (`OFF = 0`) or high (16)
    /// half of the rows.
    const fn pair_index<const OFF: u16>() -> [u16; 32] {
        let mut a = [0u16; 32];
        let mut j = 0;
        while j < 32 {
            a[j] = OFF + (j / 2) as u16 + if j % 2 == 1 { 32 } else { 0 };
            j += 1;
        }
        a
    }

    /// Output row blocks `blocks` x panels `panels` on this thread.
    ///
    /// # Safety
    /// See [`gemm_bf16`]: `a_rows` addresses A's row blocks, `bp` holds the packed
    /// panels `panels` (the first at `bp`); `a_rows` is `Packed` for AMX.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_task(
        engine: Engine,
        a_rows: ARows,
        bp: *const u16,
        kp: usize,
        blocks: std::ops::Range<usize>,
        panels: std::ops::Range<usize>,
        m: usize,
        n: usize,
        out: *mut u16,
        bias: Option<Bias>,
    ) {
        let nkt = kp / KT;
        let (rb0, rb1, p0, p1) = (blocks.start, blocks.end, panels.start, panels.end);
        let npan = p1 - p0;
        // With more than one k-chunk the float32 partial sums of every block of the
        // task wait in `acc` between chunks (each block sums its chunks in k order).
        let amx = engine == Engine::Amx;
        let chunked = nkt > KC_TILES;
        // The buffer is this thread's, kept between calls (a fresh one would cost page
        // faults on every call); the first chunk writes every block before any read.
        let mut acc_buf = ACC.with(|c| c.take());
        let acc: &mut [f32] = acc_buf.prefix(if chunked {
            (rb1 - rb0) * npan * RB * CB
        } else {
            0
        });
        let mut c = CBlock([0.0; RB * CB]);
        // A's chunk tile, this thread's (64-byte aligned, kept between calls), for a
        // copied A only: every element the kernels read is written first.
        let mut tile_buf = TILE.with(|cell| cell.take());
        let a_tile: &mut [u16] = tile_buf.prefix(if matches!(a_rows, ARows::Copied { .. }) {
            CHUNK_TILE
        } else {
            0
        });
        if amx {
            // SAFETY: the engine is AMX, so the OS granted the tile state; the config
            // is a valid palette-1 layout.
            unsafe {
                asm!("ldtilecfg [{0}]", in(reg) &CONFIG as *const TileConfig, options(nostack, readonly))
            };
        }
        for t0 in (0..nkt).step_by(KC_TILES) {
            let t1 = (t0 + KC_TILES).min(nkt);
            let last = t1 == nkt;
            for rb in rb0..rb1 {
                // SAFETY: row block rb exists; its chunk of k-tiles stays in L1 while
                // the panels stream past.
                let ab = unsafe { a_rows.block(rb, t0, t1, a_tile) };
                for p in p0..p1 {
                    // SAFETY: panel p lies inside the packed B buffer.
                    let panel = unsafe { bp.add((p - p0) * kp * CB) };
                    let cp = if chunked {
                        let blk = ((rb - rb0) * npan + (p - p0)) * RB * CB;
                        acc[blk..blk + RB * CB].as_mut_ptr()
                    } else {
                        c.0.as_mut_ptr()
                    };
                    if !amx {
                        // SAFETY: AVX512-BF16 is present (the engine); row block rb and
                        // panel p hold k-tiles t0..t1; `cp` is a 32x32 f32 block.
                        unsafe { block_avx512(ab, panel, t0, t1, cp, t0 == 0) };
                    } else {
                        if t0 == 0 {
                            // SAFETY: tiles 0-3 are the accumulators; nothing else uses them.
                            unsafe {
                                asm!(
                                    "tilezero tmm0",
                                    "tilezero tmm1",
                                    "tilezero tmm2",
                                    "tilezero tmm3",
                                    options(nostack, nomem)
                                )
                            };
                        } else {
                            // SAFETY: the block's 32x32 f32 partial sums (row stride 128
                            // bytes) back into the accumulator tiles.
                            unsafe {
                                asm!(
                                    "tileloadd tmm0, [{c0} + {cs}*1]",
                                    "tileloadd tmm1, [{c1} + {cs}*1]",
                                    "tileloadd tmm2, [{c2} + {cs}*1]",
                                    "tileloadd tmm3, [{c3} + {cs}*1]",
                                    c0 = in(reg) cp,
                                    c1 = in(reg) cp.add(16),
                                    c2 = in(reg) cp.add(16 * CB),
                                    c3 = in(reg) cp.add(16 * CB + 16),
                                    cs = in(reg) CB * 4,
                                    options(nostack, readonly),
                                )
                            };
                        }
                        for t in t0..t1 {
                            // SAFETY: A rows rb*RB..rb*RB+32 and B panel p at k-tile t
                            // (two contiguous 16x64-byte tiles each: A is packed for
                            // AMX) are in bounds.
                            unsafe {
                                let at = ab.ptr.add((t - t0) * 1024);
                                let bt = panel.add(t * 1024);
                                asm!(
                                    "tileloadd tmm4, [{a0} + {as}*1]",
                                    "tileloadd tmm6, [{b0} + {bs}*1]",
                                    "tdpbf16ps tmm0, tmm4, tmm6",
                                    "tileloadd tmm7, [{b1} + {bs}*1]",
                                    "tdpbf16ps tmm1, tmm4, tmm7",
                                    "tileloadd tmm5, [{a1} + {as}*1]",
                                    "tdpbf16ps tmm2, tmm5, tmm6",
                                    "tdpbf16ps tmm3, tmm5, tmm7",
                                    a0 = in(reg) at,
                                    a1 = in(reg) at.add(512),
                                    as = in(reg) 64usize,
                                    b0 = in(reg) bt,
                                    b1 = in(reg) bt.add(512),
                                    bs = in(reg) 64usize,
                                    options(nostack, readonly),
                                );
                            }
                        }
                        // SAFETY: the four 16x16 f32 tiles go to the 32x32 block `cp`
                        // (row stride 128 bytes).
                        unsafe {
                            asm!(
                                "tilestored [{c0} + {cs}*1], tmm0",
                                "tilestored [{c1} + {cs}*1], tmm1",
                                "tilestored [{c2} + {cs}*1], tmm2",
                                "tilestored [{c3} + {cs}*1], tmm3",
                                c0 = in(reg) cp,
                                c1 = in(reg) cp.add(16),
                                c2 = in(reg) cp.add(16 * CB),
                                c3 = in(reg) cp.add(16 * CB + 16),
                                cs = in(reg) CB * 4,
                                options(nostack),
                            );
                        }
                    }
                    if !last {
                        continue;
                    }
                    let r0 = rb * RB;
                    let c0 = p * CB;
                    let rows = RB.min(m - r0.min(m));
                    let cols = CB.min(n - c0);
                    // SAFETY: `cp` points at RB*CB initialised f32 values, of which the
                    // first `ab.skip` rows are the previous block's.
                    let blk = unsafe {
                        std::slice::from_raw_parts(
                            cp.add(ab.skip * CB) as *const f32,
                            (RB - ab.skip) * CB,
                        )
                    };
                    let dst = BlockOut {
                        // SAFETY: output rows r0..r0+rows, columns c0..c0+cols are
                        // inside `out` and belong to this task.
                        dst: unsafe { out.add(r0 * n + c0) },
                        n,
                        bias: bias.map(|b| b.block(r0, rows, c0, cols)),
                    };
                    // SAFETY: as above; the bias covers the block's rows or columns.
                    unsafe { store_block(blk, rows, cols, dst) };
                }
            }
        }
        if amx {
            // SAFETY: releases this thread's tile state (no tile is live past here).
            unsafe { asm!("tilerelease", options(nostack, nomem)) };
        }
        if acc_buf.bytes() <= KEEP_BYTES {
            ACC.with(|c| c.set(acc_buf));
        }
        TILE.with(|cell| cell.set(tile_buf));
    }

    /// Where [`store_block`] writes: the bfloat16 output at `dst` (row stride `n`) and
    /// the bias of the block's columns or rows, if any.
    #[derive(Clone, Copy)]
    struct BlockOut<'a> {
        dst: *mut u16,
        n: usize,
        bias: Option<Bias<'a>>,
    }

    /// Rounds the first `rows` x `cols` of a 32x32 float32 block, plus the bias of its
    /// column or row when given, into the output, 16 lanes at a time on the AVX-512
    /// path.
    ///
    /// # Safety
    /// `out.dst` is valid for writes of `rows` rows of `cols` elements, `out.n` apart;
    /// `out.bias` holds `cols` values (`Cols`) or `rows` values (`Rows`).
    unsafe fn store_block(blk: &[f32], rows: usize, cols: usize, out: BlockOut) {
        #[inline(always)]
        unsafe fn rows_of(blk: &[f32], rows: usize, cols: usize, out: BlockOut) {
            for (i, src) in blk.chunks_exact(CB).take(rows).enumerate() {
                // SAFETY: row i of the destination (caller's contract).
                let d = unsafe { std::slice::from_raw_parts_mut(out.dst.add(i * out.n), cols) };
                match out.bias {
                    // (Adding zeros instead would turn -0 into +0.)
                    None => d.iter_mut().zip(src).for_each(|(d, s)| *d = round_bf16(*s)),
                    Some(Bias::Cols(b)) => {
                        for ((d, s), b) in d.iter_mut().zip(src).zip(b) {
                            *d = round_bf16(*s + *b);
                        }
                    }
                    Some(Bias::Rows(b)) => {
                        let b = b[i];
                        d.iter_mut()
                            .zip(src)
                            .for_each(|(d, s)| *d = round_bf16(*s + b));
                    }
                }
            }
        }
        #[target_feature(enable = "avx512f,avx512bw")]
        unsafe fn rows_avx512(blk: &[f32], rows: usize, cols: usize, out: BlockOut) {
            // SAFETY: the caller's contract.
            unsafe { rows_of(blk, rows, cols, out) }
        }
        if crate::cpu::math::has_avx512() {
            // SAFETY: the AVX-512 path is in use; the caller's contract.
            unsafe { rows_avx512(blk, rows, cols, out) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { rows_of(blk, rows, cols, out) }
        }
    }

    /// `cp` (a 32x32 f32 block, row stride CB; zero when `first`) plus the row block
    /// `a` times the packed panel `panel` over k-tiles `t0..t1`, with `vdpbf16ps`: rows
    /// in slices of 12, 12 and 8, each slice's 32 columns in two accumulators per row
    /// (24 + 2 B + 1 A registers of the 32).
    ///
    /// # Safety
    /// The CPU has AVX512F and AVX512-BF16; `a` (RB rows, from k-tile t0) and `panel`
    /// hold k-tiles `t0..t1`, `panel` in the packed layout of [`gemm_bf16`]; `cp` is
    /// valid for RB*CB reads and writes.
    #[target_feature(enable = "avx512f,avx512bf16")]
    unsafe fn block_avx512(
        a: ABlock,
        panel: *const u16,
        t0: usize,
        t1: usize,
        cp: *mut f32,
        first: bool,
    ) {
        // SAFETY: the three slices cover rows 0..32 of the block; same contract.
        unsafe {
            slice_avx512::<12>(a, panel, t0, t1, cp, first, 0);
            slice_avx512::<12>(a, panel, t0, t1, cp, first, 12);
            slice_avx512::<8>(a, panel, t0, t1, cp, first, 24);
        }
    }

    /// Rows `s0..s0 + R` of the block of [`block_avx512`].
    ///
    /// # Safety
    /// As [`block_avx512`], and `s0 + R <= RB`.
    #[target_feature(enable = "avx512f,avx512bf16")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn slice_avx512<const R: usize>(
        a: ABlock,
        panel: *const u16,
        t0: usize,
        t1: usize,
        cp: *mut f32,
        first: bool,
        s0: usize,
    ) {
        use std::arch::x86_64::*;
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        if !first {
            for (r, row) in acc.iter_mut().enumerate() {
                for (h, v) in row.iter_mut().enumerate() {
                    // SAFETY: row s0+r, columns h*16.. of the 32x32 block.
                    *v = unsafe { _mm512_loadu_ps(cp.add((s0 + r) * CB + h * 16)) };
                }
            }
        }
        // SAFETY: rows s0..s0+R of the block (the caller's contract).
        let rows: [*const u16; R] =
            std::array::from_fn(|r| unsafe { a.ptr.offset((s0 + r) as isize * a.row_stride) });
        for t in t0..t1 {
            // SAFETY: k-tile t of the panel (1024 bf16).
            let bt = unsafe { panel.add(t * 1024) };
            let at = (t - t0) as isize * a.tile_stride;
            for q in 0..KT / 2 {
                // SAFETY: k-pair q of the tile: 16 columns x 2 bf16 per half (the
                // transmutes reinterpret 64 bytes as 32 bf16).
                let (b0, b1): (__m512bh, __m512bh) = unsafe {
                    (
                        std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                            bt.add(q * 32).cast(),
                        )),
                        std::mem::transmute::<__m512i, __m512bh>(_mm512_loadu_si512(
                            bt.add(512 + q * 32).cast(),
                        )),
                    )
                };
                for (row, a_row) in acc.iter_mut().zip(rows) {
                    // SAFETY: the k-pair q of the row's k-tile t (two bf16).
                    let pair =
                        unsafe { a_row.offset(at).add(2 * q).cast::<i32>().read_unaligned() };
                    // SAFETY: same-size bit reinterpretation (16 x i32 -> 32 x bf16).
                    let a: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi32(pair)) };
                    row[0] = _mm512_dpbf16_ps(row[0], a, b0);
                    row[1] = _mm512_dpbf16_ps(row[1], a, b1);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (h, v) in row.iter().enumerate() {
                // SAFETY: as the loads above.
                unsafe { _mm512_storeu_ps(cp.add((s0 + r) * CB + h * 16), *v) };
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn work_split() {
            let split = |p, r, t| {
                let s = super::split(p, r, t);
                (s.group_panels, s.groups, s.row_parts)
            };
            // 1024^2 on two threads: four groups of 8 panels over all rows.
            assert_eq!(split(32, 32, 2), (8, 4, 1));
            assert_eq!(split(24, 32, 2), (6, 4, 1));
            // One thread: groups of 8 panels, rows whole.
            assert_eq!(split(20, 32, 1), (7, 3, 1));
            // Uneven groups, or fewer panels than threads: the rows are cut too.
            assert_eq!(split(3, 32, 2), (2, 2, 2));
            assert_eq!(split(1, 32, 3), (1, 1, 3));
            assert_eq!(split(1, 4, 2), (1, 1, 1));
        }

        /// A packed against the layout read off element by element: row-major,
        /// column-contiguous (transposed: the AVX-512 transposes) and strided A, with and
        /// without the AVX-512 paths, m with a partial last row block (and one of at
        /// most 16 rows), k with a partial last k-tile (odd: a half pair).
        #[test]
        fn pack_a_layout() {
            let simd_levels: &[bool] = if crate::cpu::math::has_avx512() {
                &[false, true]
            } else {
                &[false]
            };
            // (300, 250) is large enough to pack on two threads.
            for &(m, k) in &[
                (64usize, 64usize),
                (40, 45),
                (7, 33),
                (50, 96),
                (33, 70),
                (300, 250),
            ] {
                let kp = k.div_ceil(KT) * KT;
                let mp = m.div_ceil(RB) * RB;
                // A's (i, kk) value is i * 100 + kk + 1 (exact in u16 for these sizes);
                // stored row-major, transposed, and with both strides padded.
                let value = |i: usize, kk: usize| (i * 100 + kk + 1) as u16;
                let layouts: [(isize, isize, usize); 3] = [
                    (k as isize, 1, m * k),
                    (1, m as isize + 5, (k - 1) * (m + 5) + m),
                    (
                        2 * k as isize + 1,
                        2,
                        (m - 1) * (2 * k + 1) + 2 * (k - 1) + 1,
                    ),
                ];
                for (ars, acs, len) in layouts {
                    let mut a = vec![u16::MAX; len];
                    for i in 0..m {
                        for kk in 0..k {
                            a[i * ars as usize + kk * acs as usize] = value(i, kk);
                        }
                    }
                    for &simd in simd_levels {
                        for threads in [1, 2] {
                            let mut ap = vec![u16::MAX; mp * kp];
                            // The caller clears the k padding.
                            if kp != k {
                                for block in ap.chunks_mut(RB * kp) {
                                    block[kp * RB - 1024..].fill(0);
                                }
                            }
                            // SAFETY: `a` holds A in the layout given; `ap` holds the
                            // packed blocks; `simd` only with AVX-512.
                            unsafe { pack_a(&mut ap, a.as_ptr(), ars, acs, m, k, threads, simd) };
                            for i in 0..m {
                                for kk in 0..kp {
                                    let (rb, h, r) = (i / RB, (i % RB) / 16, i % 16);
                                    let at =
                                        rb * RB * kp + ((kk / KT) * 2 + h) * 512 + r * 32 + kk % KT;
                                    let want = if kk < k { value(i, kk) } else { 0 };
                                    assert_eq!(
                                        ap[at], want,
                                        "m {m} k {k} strides ({ars}, {acs}) simd {simd}: \
                                         row {i} k {kk}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }

        /// B packed for panels p0..p1 against the layout read off element by element:
        /// row-major, column-contiguous (transposed) and strided B, with and without the
        /// AVX-512 paths, k with and without a partial last k-tile (odd: a half pair),
        /// n with a partial last panel.
        #[test]
        fn pack_b_layout() {
            let simd_levels: &[bool] = if crate::cpu::math::has_avx512() {
                &[false, true]
            } else {
                &[false]
            };
            for &(k, n) in &[(64usize, 96usize), (45, 80), (33, 100), (96, 64)] {
                let kp = k.div_ceil(KT) * KT;
                let panels = n.div_ceil(CB);
                // B's (kk, c) value is kk * 1000 + c + 1 (exact in u16 for these sizes);
                // stored row-major, transposed, and with both strides padded.
                let value = |kk: usize, c: usize| (kk * 1000 + c + 1) as u16;
                let layouts: [(isize, isize, usize); 3] = [
                    (n as isize, 1, k * n),
                    (1, k as isize, k * n),
                    (
                        2 * n as isize + 3,
                        2,
                        (k - 1) * (2 * n + 3) + 2 * (n - 1) + 1,
                    ),
                ];
                for (brs, bcs, len) in layouts {
                    let mut b = vec![0u16; len];
                    for kk in 0..k {
                        for c in 0..n {
                            b[kk * brs as usize + c * bcs as usize] = value(kk, c);
                        }
                    }
                    for &simd in simd_levels {
                        for (p0, p1) in [(0, panels), (1, panels), (0, 1)] {
                            let mut bp = vec![u16::MAX; (p1 - p0) * kp * CB];
                            // The caller clears the k padding.
                            for panel in bp.chunks_mut(kp * CB) {
                                panel[kp * CB - 1024..].fill(0);
                            }
                            // SAFETY: `b` holds B in the layout given; `bp` holds the
                            // panels; `simd` only with AVX-512.
                            unsafe {
                                pack_b(&mut bp, b.as_ptr(), (brs, bcs), (k, n), p0..p1, simd)
                            };
                            for j in p0..p1 {
                                for kk in 0..kp {
                                    for c in 0..CB.min(n - j * CB) {
                                        let (t, r, e) = (kk / KT, (kk % KT) / 2, kk % 2);
                                        let (h, cc) = (c / 16, c % 16);
                                        let at = (j - p0) * kp * CB
                                            + t * 1024
                                            + h * 512
                                            + r * 32
                                            + cc * 2
                                            + e;
                                        let want = if kk < k { value(kk, j * CB + c) } else { 0 };
                                        assert_eq!(
                                            bp[at], want,
                                            "k {k} n {n} strides ({brs}, {bcs}) simd {simd} \
                                             panels {p0}..{p1}: panel {j} k {kk} column {c}"
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod bf16 {
    #[allow(dead_code)] // (never constructed here: `engine` is None)
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Engine {
        Amx,
        Avx512Bf16,
    }
    pub fn engine() -> Option<Engine> {
        None
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn gemm_bf16(
        _engine: Engine,
        _m: usize,
        _n: usize,
        _k: usize,
        _a: *const u16,
        _ars: isize,
        _acs: isize,
        _b: *const u16,
        _brs: isize,
        _bcs: isize,
        _out: *mut u16,
        _bias: Option<super::Bias>,
        _threads: usize,
    ) {
        unreachable!("the native bfloat16 kernels are x86_64 only")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dst = a @ b` element by element, each sum over `k` in order, reading and
    /// writing through the given strides (as the crate takes them: column first).
    #[cfg(target_arch = "x86_64")]
    fn strided_product(p: Strided<f64>) {
        let at = |(ptr, cs, rs): Operand<*const f64>, i: usize, j: usize| {
            ptr.wrapping_offset(i as isize * rs + j as isize * cs)
        };
        let dst = (p.dst.0 as *const f64, p.dst.1, p.dst.2);
        for i in 0..p.m {
            for j in 0..p.n {
                // SAFETY: every offset stays inside the test's buffers (checked by the
                // caller's choice of base pointers and strides).
                unsafe {
                    let s = (0..p.k).fold(0.0, |s, q| s + *at(p.a, i, q) * *at(p.b, q, j));
                    *(at(dst, i, j) as *mut f64) = s;
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn orient_keeps_the_product() {
        // A row-major dst is transposed, and dst's strides and a's along k come out
        // positive (operands walked backwards from their last row or column), with the same
        // elements in the same places: the product written through either description
        // is the same.
        let (m, n, k) = (3usize, 5usize, 4usize);
        let a: Vec<f64> = (0..m * k).map(|v| (v as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..k * n).map(|v| (v as f64 * 0.73).cos()).collect();
        for (signs, col_major) in (0..16u32).flat_map(|s| [(s, false), (s, true)]) {
            let neg = |bit: u32| signs >> bit & 1 == 1;
            let stride = |s: isize, bit: u32| if neg(bit) { -s } else { s };
            // Row-major a (m, k) and b (k, n), dst (m, n) either way; a flipped stride
            // starts its walk at the far end of that dimension.
            let (a_cs, a_rs) = (stride(1, 0), stride(k as isize, 1));
            let (dst_cs, dst_rs) = if col_major {
                (m as isize, 1)
            } else {
                (1, n as isize)
            };
            let (dst_cs, dst_rs) = (stride(dst_cs, 2), stride(dst_rs, 3));
            let (b_cs, b_rs) = (1isize, n as isize);
            let start = |cs: isize, rs: isize, rows: usize, cols: usize| {
                let far = |len: usize, s: isize| {
                    if s < 0 {
                        (len - 1) * s.unsigned_abs()
                    } else {
                        0
                    }
                };
                far(cols, cs) + far(rows, rs)
            };
            let (mut d0, mut d1) = (vec![0.0; m * n], vec![0.0; m * n]);
            let a0 = a[start(a_cs, a_rs, m, k)..].as_ptr();
            let at0 = |d: &mut Vec<f64>| d[start(dst_cs, dst_rs, m, n)..].as_mut_ptr();
            let given = |dst| Strided {
                m,
                n,
                k,
                dst: (dst, dst_cs, dst_rs),
                a: (a0, a_cs, a_rs),
                b: (b.as_ptr(), b_cs, b_rs),
            };
            strided_product(given(at0(&mut d0)));
            let o = orient(given(at0(&mut d1)));
            // What the driver relies on: dst walked forwards, and a along k.
            assert!(o.dst.1 > 0 && o.dst.2 > 0 && o.a.1 > 0);
            // A row-major dst is transposed: its unit stride is then the row stride.
            let want = if col_major { (m, n) } else { (n, m) };
            assert_eq!((o.m, o.n, o.dst.2), (want.0, want.1, 1));
            strided_product(o);
            // Equal up to rounding: a reversed along k is summed from its other end.
            let err = d0
                .iter()
                .zip(&d1)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max);
            assert!(
                err < 1e-14,
                "signs {signs:04b}, column-major dst {col_major}: {err}"
            );
        }
    }

    #[test]
    fn plan_choices() {
        assert_eq!(plan(64, 128 * 128 * 128, 2), Plan::OverBatch);
        assert_eq!(plan(1, 1024 * 1024 * 1024, 2), Plan::Inside);
        assert_eq!(plan(3, 1024 * 1024 * 1024, 2), Plan::Inside);
        assert_eq!(plan(4, 1024 * 1024 * 1024, 2), Plan::OverBatch);
        assert_eq!(plan(64, 8, 2), Plan::Serial);
        assert_eq!(plan(64, 128 * 128 * 128, 1), Plan::Serial);
    }

    /// `a (m, k) @ b (k, n)` through `batched_half`, `a` read from `a_buf` with row
    /// stride `a_rs` (unit-stride rows) and `b` from `b_buf` with strides (`b_rs`,
    /// `b_cs`).
    fn bf16_product(
        (m, n, k): (usize, usize, usize),
        (a_buf, a_rs): (&[half::bf16], usize),
        b_buf: &[half::bf16],
        (b_rs, b_cs): (usize, usize),
    ) -> Vec<half::bf16> {
        let mut out = vec![half::bf16::ZERO; m * n];
        let al = MatLayout {
            offsets: &[0],
            rs: a_rs as isize,
            cs: 1,
        };
        let bl = MatLayout {
            offsets: &[0],
            rs: b_rs as isize,
            cs: b_cs as isize,
        };
        // SAFETY: the buffers match the layouts.
        unsafe {
            batched_half(
                m,
                n,
                k,
                a_buf.as_ptr(),
                &al,
                b_buf.as_ptr(),
                &bl,
                out.as_mut_ptr(),
                None,
                2,
            )
        };
        out
    }

    /// Checks one product of small dyadic values against float64, B row-major or read
    /// transposed from an (n, k) buffer, A's rows `a_rs >= k` apart.
    fn check_bf16_product_strided(m: usize, n: usize, k: usize, a_rs: usize, row_major_b: bool) {
        use half::bf16;
        let av: Vec<bf16> = (0..m * k)
            .map(|i| bf16::from_f32(((i * 7 % 13) as f32 - 6.0) / 8.0))
            .collect();
        // A's values in a wider buffer whose other elements are NaN: none may be read.
        let mut a_buf = vec![bf16::NAN; (m - 1) * a_rs + k];
        for i in 0..m {
            a_buf[i * a_rs..i * a_rs + k].copy_from_slice(&av[i * k..(i + 1) * k]);
        }
        let bv: Vec<bf16> = (0..k * n)
            .map(|i| bf16::from_f32(((i * 5 % 11) as f32 - 5.0) / 4.0))
            .collect();
        let out = if row_major_b {
            bf16_product((m, n, k), (&a_buf, a_rs), &bv, (n, 1))
        } else {
            let bt: Vec<bf16> = (0..n * k).map(|i| bv[(i % k) * n + i / k]).collect();
            bf16_product((m, n, k), (&a_buf, a_rs), &bt, (1, k))
        };
        for i in 0..m {
            for j in 0..n {
                let r: f64 = (0..k)
                    .map(|p| av[i * k + p].to_f64() * bv[p * n + j].to_f64())
                    .sum();
                let got = out[i * n + j].to_f64();
                // Exact products, f32 sums of small dyadic values: only the final
                // rounding to bf16 (2^-8 relative) differs.
                assert!(
                    (got - r).abs() <= r.abs() / 128.0 + 1e-6,
                    "{m}x{n}x{k} a_rs {a_rs} row-major b {row_major_b} [{i},{j}]: {got} vs {r}"
                );
            }
        }
    }

    fn check_bf16_product(m: usize, n: usize, k: usize, row_major_b: bool) {
        check_bf16_product_strided(m, n, k, k, row_major_b);
    }

    /// The native bfloat16 kernel (AMX or AVX512-BF16, when the machine has one; else
    /// the float32 path) against a float64 reference on odd sizes, strided operands and
    /// tails, with B row-major (packed a k-tile of every panel at a time, the partial
    /// last panel element by element) and transposed.
    #[test]
    fn bf16_products_match_f64() {
        for &(m, n, k) in &[
            (16, 16, 32),
            (17, 33, 65),
            (64, 96, 128),
            (33, 17, 31),
            (100, 50, 70),
            (40, 70, 64),
            // k > 256: the native kernels accumulate in k-chunks of 256 (one exactly,
            // one and a partial tile, several and a partial chunk).
            (20, 40, 256),
            (20, 40, 288),
            (40, 50, 1100),
            (33, 31, 1025),
        ] {
            check_bf16_product(m, n, k, false);
            check_bf16_product(m, n, k, true);
        }
    }

    /// A read in place by the AVX512-BF16 kernel (unit-stride rows, k a multiple of 32,
    /// at least 32 rows, a row stride that is not a multiple of 4 KiB), its last row
    /// block the 32 rows ending at the last row when m is not a multiple of 32; and the
    /// products that copy (AMX: pack) A instead (a 4 KiB stride, fewer than 32 rows). Large enough
    /// to run on two threads, with panel groups that do (n = 96: 3 panels) and do not
    /// cut the rows into parts.
    #[test]
    fn bf16_products_reading_a_in_place() {
        for &(m, n, k, a_rs) in &[
            (64, 96, 128, 128),
            (70, 40, 64, 64),
            (33, 64, 96, 100),
            (1000, 96, 128, 160),
            (600, 64, 256, 256),
            (40, 33, 2048, 2048),
            (20, 40, 64, 80),
        ] {
            check_bf16_product_strided(m, n, k, a_rs, false);
            check_bf16_product_strided(m, n, k, a_rs, true);
        }
    }

    /// The packing buffers are reused between calls: what a product with NaN operands
    /// leaves in them (then in the padding rows of A and columns of B of a smaller
    /// product, where k needs no padding and the buffers are not cleared) must not
    /// reach the smaller product's outputs.
    #[test]
    fn bf16_reused_packing_buffers_do_not_leak() {
        let nan = vec![half::bf16::NAN; 96 * 96];
        let out = bf16_product((96, 96, 96), (&nan, 96), &nan, (96, 1));
        assert!(out.iter().all(|v| v.is_nan()));
        check_bf16_product(33, 47, 64, false);
        check_bf16_product(33, 47, 64, true);
        check_bf16_product(20, 20, 40, true);
    }
}
