//! float32 matrix products on AVX2 + FMA: a packed-panel GEMM of our own.
//!
//! Why our own: on one Zen 3 core the `gemm` crate's AVX2 kernels run about as fast
//! (best of 20, 128^3 to 1024^3: 92-97 GFLOP/s, these 91-97), but on two its products
//! ran as its own parallel mode or our slabs of its calls cut them (128^3: 139 against
//! 177 here), and its packing was not ours to reuse or reorder. In the usual BLIS
//! order: C is cut into blocks
//! of `NC` columns; for each stretch of `KC` along k, B's `KC x NC` block is packed into
//! panels of `NR` = 16 columns (row p of a panel: 16 consecutive floats, one cache
//! line), then A's `MC x KC` blocks into panels of `MR` = 6 rows (column p: 6
//! consecutive floats), and a 6 x 16 micro-kernel keeps its tile of C in twelve ymm
//! registers while it walks one panel of each: per step of k, two loads of B, six
//! broadcasts of A and twelve FMAs. A panel of B (16 KB) stays in L1 while the panels
//! of A's block (L2) pass it.
//!
//! Bits: every element of C is summed over k in stretches of `KC`, in order, each
//! stretch by FMAs from zero, then added to what C holds (nothing for the first stretch
//! unless the caller accumulates). That depends on k alone: not on the thread count,
//! nor on which thread or tile computes the element.

use super::gemm::Operand;
use super::SendPtr;
use std::arch::x86_64::*;
use std::cell::Cell;
use std::thread::LocalKey;

/// Rows of the micro-kernel's tile.
const MR: usize = 6;
/// Columns of the micro-kernel's tile: two ymm registers.
const NR: usize = 16;
/// The stretch of k one packed panel covers (a panel of B: 16 KB, half of L1).
const KC: usize = 256;
/// Rows of A packed at once (a multiple of `MR`; 144 KB, in L2).
const MC: usize = 144;
/// Columns of B packed at once (a multiple of `NR`; 4 MB, in L3).
const NC: usize = 4080;

/// 64 bytes aligned: a packed panel's row of B is one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

thread_local! {
    /// This thread's packed blocks of A and B, kept between calls (fresh buffers fault
    /// their pages in on every call).
    static A_PACK: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
    static B_PACK: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// This thread's buffer from `cell`, at least `floats` long.
fn take(cell: &'static LocalKey<Cell<Vec<Line>>>, floats: usize) -> Vec<Line> {
    let mut v = cell.with(|c| c.take());
    if v.len() * 16 < floats {
        v = vec![Line([0.0; 16]); floats.div_ceil(16)];
    }
    v
}

/// `dst (m, n) = [dst +] a (m, k) @ b (k, n)` (`accumulate`: add to `dst`), each matrix
/// as `(pointer, column stride, row stride)` in elements, split over up to `threads`
/// threads.
///
/// # Safety
/// AVX2 and FMA are present. The operands with their strides address `(m, k)` and
/// `(k, n)` matrices inside live allocations; `dst` addresses an `(m, n)` matrix of
/// distinct elements valid for reads and writes, overlapping neither operand.
pub(super) unsafe fn product(
    (m, n, k): (usize, usize, usize),
    dst: Operand<*mut f32>,
    accumulate: bool,
    a: Operand<*const f32>,
    b: Operand<*const f32>,
    threads: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The micro-kernel stores rows of C: a C whose smaller stride runs down its columns
    // is computed as its transpose, C^T = B^T A^T.
    let t = |(p, cs, rs): Operand<*const f32>| (p, rs, cs);
    let (m, n, dst, a, b) = if dst.1.abs() > dst.2.abs() {
        (n, m, (dst.0, dst.2, dst.1), t(b), t(a))
    } else {
        (m, n, dst, a, b)
    };
    if k == 0 {
        if !accumulate {
            for i in 0..m as isize {
                for j in 0..n as isize {
                    // SAFETY: (i, j) is an element of C.
                    unsafe { *dst.0.offset(i * dst.2 + j * dst.1) = 0.0 };
                }
            }
        }
        return;
    }
    let job = Job {
        k,
        accumulate,
        dst: (SendPtr(dst.0), dst.1, dst.2),
        a: (SendPtr(a.0 as *mut f32), a.1, a.2),
        b: (SendPtr(b.0 as *mut f32), b.1, b.2),
    };
    let threads = if m.saturating_mul(n).saturating_mul(k) < super::gemm::PAR_FLOPS {
        1
    } else {
        threads
    };
    match split(m, n, k, threads) {
        // SAFETY (all arms): blocks of C inside it (the caller's contract); the slabs of
        // the threads write disjoint elements.
        Split::Whole => unsafe { job.block(0, m, 0, n) },
        Split::Rows(w) => super::par_for(m.div_ceil(w), &|s: usize| unsafe {
            job.block(s * w, w.min(m - s * w), 0, n)
        }),
        Split::Cols(w) => super::par_for(n.div_ceil(w), &|s: usize| unsafe {
            job.block(0, m, s * w, w.min(n - s * w))
        }),
    }
}

/// How a product is cut between threads: one slab of rows or of columns each, every
/// slab packing its own blocks (no thread waits for another's packing).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Split {
    Whole,
    Rows(usize),
    Cols(usize),
}

/// The cut whose slowest thread does least: its multiply-adds over whole tiles, plus
/// what it packs, at about 4 multiply-adds per packed element (a slab of rows packs all
/// of B, a slab of columns all of A). 256^2 on 2 threads goes by columns: 8 + 8 panels
/// of 16 rather than 22 + 21 of 6 rows.
fn split(m: usize, n: usize, k: usize, threads: usize) -> Split {
    if threads <= 1 {
        return Split::Whole;
    }
    let rows = m.div_ceil(MR).div_ceil(threads) * MR;
    let cols = n.div_ceil(NR).div_ceil(threads) * NR;
    let by_rows = rows * n.next_multiple_of(NR) * k + 4 * k * (rows + n);
    let by_cols = m.next_multiple_of(MR) * cols * k + 4 * k * (m + cols);
    match (rows < m, cols < n) {
        (false, false) => Split::Whole,
        (true, false) => Split::Rows(rows),
        (false, true) => Split::Cols(cols),
        _ if by_rows <= by_cols => Split::Rows(rows),
        _ => Split::Cols(cols),
    }
}

/// One product, as the threads share it.
#[derive(Clone, Copy)]
struct Job {
    k: usize,
    accumulate: bool,
    dst: Operand<SendPtr<f32>>,
    a: Operand<SendPtr<f32>>,
    b: Operand<SendPtr<f32>>,
}

impl Job {
    /// Rows `i0..i0 + rows` and columns `j0..j0 + cols` of C, on this thread.
    ///
    /// # Safety
    /// As [`product`], the block inside C.
    unsafe fn block(&self, i0: usize, rows: usize, j0: usize, cols: usize) {
        // SAFETY: forwarded.
        unsafe {
            if reads_a_in_place(self.a) {
                self.block_with::<true>(i0, rows, j0, cols)
            } else {
                self.block_with::<false>(i0, rows, j0, cols)
            }
        }
    }

    /// [`Job::block`] with A packed (`DIRECT` false) or read where it is.
    ///
    /// # Safety
    /// As [`product`], the block inside C; with `DIRECT`, A's rows are contiguous.
    unsafe fn block_with<const DIRECT: bool>(
        &self,
        i0: usize,
        rows: usize,
        j0: usize,
        cols: usize,
    ) {
        let k = self.k;
        let (c, cs, rs) = self.dst;
        let mut ap = take(&A_PACK, if DIRECT { 0 } else { MC * KC.min(k) + 8 });
        let mut bp = take(&B_PACK, KC.min(k) * cols.min(NC).next_multiple_of(NR) + 8);
        let (apk, bpk) = (ap.as_mut_ptr().cast::<f32>(), bp.as_mut_ptr().cast::<f32>());
        for jc in (0..cols).step_by(NC) {
            let nc = NC.min(cols - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let load = self.accumulate || pc > 0;
                // SAFETY: the block lies inside B; the buffer holds kc x nc rounded up
                // to whole panels, and 8 floats more.
                unsafe { pack::<NR>(self.b, pc, kc, j0 + jc, nc, bpk) };
                for ic in (0..rows).step_by(MC) {
                    let mc = MC.min(rows - ic);
                    if !DIRECT {
                        let (a, a_cs, a_rs) = self.a;
                        // SAFETY: as above for A, packed as A^T (k x m).
                        unsafe { pack::<MR>((a, a_rs, a_cs), pc, kc, i0 + ic, mc, apk) };
                    }
                    for jr in (0..nc).step_by(NR) {
                        for ir in (0..mc).step_by(MR) {
                            let (i, j) = ((i0 + ic + ir) as isize, (j0 + jc + jr) as isize);
                            let a = if DIRECT {
                                // Row i, column pc of A itself (its column stride is 1).
                                (
                                    self.a.0.get().wrapping_offset(i * self.a.2 + pc as isize),
                                    self.a.2,
                                )
                            } else {
                                (apk.wrapping_add(ir / MR * kc * MR), 0)
                            };
                            // SAFETY: the panels were packed above (or A's rows are
                            // read in place); the tile's top-left element (i, j) and
                            // the valid part of the tile lie in C.
                            unsafe {
                                tile::<DIRECT>(
                                    kc,
                                    (a.0.cast_const(), a.1),
                                    bpk.add(jr / NR * kc * NR),
                                    (c.get().offset(i * rs + j * cs), cs, rs),
                                    ((mc - ir).min(MR), (nc - jr).min(NR)),
                                    load,
                                )
                            };
                        }
                    }
                }
            }
        }
        A_PACK.with(|c| c.set(ap));
        if bp.len() * 64 <= 8 << 20 {
            B_PACK.with(|c| c.set(bp));
        }
    }
}

/// Whether the micro-kernel reads A's rows where they are rather than packed: rows of
/// unit stride whose distance is not a multiple of 4 KB (the six rows a tile reads
/// would then share one set of L1, where the panel of B already holds four ways of
/// eight). Packed / in place, best of 20 (GFLOP/s, Zen 3): one thread 128^3 90 / 93,
/// 256^3 96 / 97; two threads (each packing all of A for its slab of columns) 167 / 177
/// and 185 / 193; at 1024^3, rows 4 KB apart, in place was 86-88 against 91-93 packed.
fn reads_a_in_place((_, cs, rs): Operand<SendPtr<f32>>) -> bool {
    cs == 1 && (rs.unsigned_abs() * 4) % 4096 != 0
}

/// One tile of C from a panel of A and one of B: in place when its rows are whole and
/// contiguous, else through a 6 x 16 buffer holding its valid part.
///
/// # Safety
/// AVX2 and FMA are present; the panels hold `kc` steps (`a`: as [`kernel`] takes it);
/// the `rows x cols` part of the tile at `c` lies in C.
unsafe fn tile<const DIRECT: bool>(
    kc: usize,
    a: (*const f32, isize),
    b: *const f32,
    (c, cs, rs): Operand<*mut f32>,
    (rows, cols): (usize, usize),
    load: bool,
) {
    if cols == NR && cs == 1 {
        // SAFETY: `rows` rows of 16 contiguous floats.
        return unsafe { rows_of::<DIRECT>(rows, kc, a, b, c, rs, load) };
    }
    let mut buf = [0f32; MR * NR];
    let at = |i: usize, j: usize| i as isize * rs + j as isize * cs;
    if load {
        for i in 0..rows {
            for j in 0..cols {
                // SAFETY: (i, j) is in the tile's valid part.
                buf[i * NR + j] = unsafe { *c.offset(at(i, j)) };
            }
        }
    }
    // SAFETY: the buffer is a whole tile with rows of NR.
    unsafe { rows_of::<DIRECT>(rows, kc, a, b, buf.as_mut_ptr(), NR as isize, load) };
    for i in 0..rows {
        for j in 0..cols {
            // SAFETY: as above.
            unsafe { *c.offset(at(i, j)) = buf[i * NR + j] };
        }
    }
}

/// The micro-kernel for the first `rows` rows of a tile (a short last panel of A
/// computes only its valid rows: 32 rows of A, 5 panels and 2 rows, wasted a tenth).
///
/// # Safety
/// As [`kernel`] with R = `rows` (1 to 6).
unsafe fn rows_of<const DIRECT: bool>(
    rows: usize,
    kc: usize,
    a: (*const f32, isize),
    b: *const f32,
    c: *mut f32,
    rs: isize,
    load: bool,
) {
    // SAFETY: forwarded.
    unsafe {
        match rows {
            6 => kernel::<6, DIRECT>(kc, a, b, c, rs, load),
            5 => kernel::<5, DIRECT>(kc, a, b, c, rs, load),
            4 => kernel::<4, DIRECT>(kc, a, b, c, rs, load),
            3 => kernel::<3, DIRECT>(kc, a, b, c, rs, load),
            2 => kernel::<2, DIRECT>(kc, a, b, c, rs, load),
            _ => kernel::<1, DIRECT>(kc, a, b, c, rs, load),
        }
    }
}

/// The micro-kernel: rows `0..R` (R <= 6) of a 6 x 16 tile, `c = [c +] a @ b` over `kc`
/// steps, each sum from zero by FMAs in order of k, then added to `c` when `load`. A is
/// `(pointer, row stride)`: its packed panel (element (i, p) at `p * 6 + i`), or with
/// `DIRECT` its rows in place (at `i * row stride + p`).
///
/// # Safety
/// AVX2 and FMA are present; A's `R` rows hold `kc` steps at the addresses above; `b`
/// holds `kc * 16` floats, 32-byte aligned; `R` rows of 16 floats at `c`, `rs` apart,
/// are valid for reads and writes.
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel<const R: usize, const DIRECT: bool>(
    kc: usize,
    (a, ars): (*const f32, isize),
    b: *const f32,
    c: *mut f32,
    rs: isize,
    load: bool,
) {
    // SAFETY: every access is inside the panels or the tile (the contract above).
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..kc {
            let bp = b.add(p * NR);
            let (b0, b1) = (_mm256_load_ps(bp), _mm256_load_ps(bp.add(8)));
            for (i, row) in acc.iter_mut().enumerate() {
                let at = if DIRECT {
                    a.offset(i as isize * ars).add(p)
                } else {
                    a.add(p * MR + i)
                };
                let x = _mm256_broadcast_ss(&*at);
                row[0] = _mm256_fmadd_ps(x, b0, row[0]);
                row[1] = _mm256_fmadd_ps(x, b1, row[1]);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            let cp = c.offset(i as isize * rs);
            let (mut lo, mut hi) = (row[0], row[1]);
            if load {
                lo = _mm256_add_ps(_mm256_loadu_ps(cp), lo);
                hi = _mm256_add_ps(_mm256_loadu_ps(cp.add(8)), hi);
            }
            _mm256_storeu_ps(cp, lo);
            _mm256_storeu_ps(cp.add(8), hi);
        }
    }
}

/// Packs rows `p0..p0 + kc` and columns `j0..j0 + nc` of a `k x n` operand into panels
/// of `W` columns (`kc x W` each, row-major), zeros past the last column: B as it is
/// (`W` = 16), A as its transpose (`W` = 6: a panel's row p is column p of six rows).
///
/// Rows contiguous (a row-major B, a column-major A): read row by row, each row's
/// stretch scattered over the whole panels (panel by panel it read 64 bytes of every
/// row in turn, which a B fresh from L3, 64 products of 128^3 in a bmm, waited on for a
/// tenth of the product's time). Columns contiguous (a row-major A, Linear's `w.t()`):
/// 8 steps of up to 8 columns transposed in registers.
///
/// # Safety
/// AVX2 is present; the block lies inside the operand; `out` holds `kc * nc` rounded up
/// to whole panels, and 8 floats more (a panel of 6 is stored 8 floats at a time).
#[target_feature(enable = "avx2")]
unsafe fn pack<const W: usize>(
    (x, cs, rs): Operand<SendPtr<f32>>,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    out: *mut f32,
) {
    let x = x.get().cast_const();
    let at = |p: usize, j: usize| p as isize * rs + j as isize * cs;
    let whole = nc / W;
    // Panels from here on go element by element.
    let mut rest = whole;
    if cs == 1 {
        for p in 0..kc {
            for q in 0..whole {
                // SAFETY: W contiguous floats of row p0 + p; row p of panel q.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        x.offset(at(p0 + p, j0 + q * W)),
                        out.add((q * kc + p) * W),
                        W,
                    )
                };
            }
        }
    } else if rs == 1 && cs > 0 {
        let pe = kc / 8 * 8;
        for q in 0..whole {
            // SAFETY: panel q of the buffer.
            let d = unsafe { out.add(q * kc * W) };
            for p in (0..pe).step_by(8) {
                for h in (0..W).step_by(8) {
                    // SAFETY: columns j0 + q * W + h.. hold steps p0 + p.. contiguously;
                    // rows p..p + 8 of the panel from column h (a store past the panel's
                    // row lands where a later one writes, or in the 8 spare floats).
                    unsafe {
                        columns_8(
                            x.offset(at(p0 + p, j0 + q * W + h)),
                            cs as usize,
                            (W - h).min(8),
                            d.add(p * W + h),
                            W,
                        )
                    };
                }
            }
            for p in pe..kc {
                for j in 0..W {
                    // SAFETY: inside the block and the panel.
                    unsafe { *d.add(p * W + j) = *x.offset(at(p0 + p, j0 + q * W + j)) };
                }
            }
        }
    } else {
        rest = 0;
    }
    for q in rest..nc.div_ceil(W) {
        let (jq, valid) = (j0 + q * W, W.min(nc - q * W));
        for p in 0..kc {
            for j in 0..W {
                // SAFETY: inside the block (j < valid) and panel q of the buffer.
                unsafe {
                    let v = if j < valid {
                        *x.offset(at(p0 + p, jq + j))
                    } else {
                        0.0
                    };
                    *out.add((q * kc + p) * W + j) = v;
                }
            }
        }
    }
}

/// Up to 8 columns (`cols`, each 8 contiguous steps of k, `ss` apart) written as 8 rows
/// of 8 floats at `d`, `ds` apart: an 8 x 8 register transpose, zeros for the missing
/// columns.
///
/// # Safety
/// AVX2 is present; the columns lie inside the operand; `(7 * ds + 8)` floats at `d` are
/// valid for writes.
#[target_feature(enable = "avx2")]
unsafe fn columns_8(s: *const f32, ss: usize, cols: usize, d: *mut f32, ds: usize) {
    // SAFETY: `cols` 8-float loads inside the operand, eight 8-float stores inside `d`.
    unsafe {
        let z = _mm256_setzero_ps();
        let r: [__m256; 8] = std::array::from_fn(|i| {
            if i < cols {
                _mm256_loadu_ps(s.add(i * ss))
            } else {
                z
            }
        });
        for (p, row) in super::reorder::transpose_regs(r).iter().enumerate() {
            _mm256_storeu_ps(d.add(p * ds), *row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A strided matrix of `rows x cols` distinct small values, in a buffer padded with
    /// NaN between and around its elements (so a stray read shows).
    struct Mat {
        buf: Vec<f32>,
        base: usize,
        cs: isize,
        rs: isize,
    }

    impl Mat {
        /// `col_major`: the smaller stride (`step`) down columns; `gap`: extra stride
        /// between lines; `flip`: rows walked backwards.
        fn new(
            (rows, cols): (usize, usize),
            (col_major, step, gap): (bool, usize, usize),
            flip: bool,
            seed: u32,
        ) -> Mat {
            let (lines, len) = if col_major {
                (cols, rows)
            } else {
                (rows, cols)
            };
            let ld = len * step + gap;
            let mut buf = vec![f32::NAN; lines * ld + 3];
            let (step, ld) = (step as isize, ld as isize);
            let (cs, mut rs) = if col_major { (ld, step) } else { (step, ld) };
            let mut base = 1;
            if flip {
                base += (rows.max(1) - 1) * rs as usize;
                rs = -rs;
            }
            let mut s = seed;
            for i in 0..rows {
                for j in 0..cols {
                    s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let v = ((s >> 16) % 17) as f32 - 8.0;
                    buf[(base as isize + i as isize * rs + j as isize * cs) as usize] = v / 4.0;
                }
            }
            Mat { buf, base, cs, rs }
        }

        fn get(&self, i: usize, j: usize) -> f32 {
            self.buf[(self.base as isize + i as isize * self.rs + j as isize * self.cs) as usize]
        }
    }

    /// Runs the product on the given layouts and compares with a float64 sum (exact
    /// here: quarter-integers, short sums).
    fn check(
        m: usize,
        n: usize,
        k: usize,
        layout: [bool; 3],
        flip: bool,
        acc: bool,
        threads: usize,
    ) {
        check_spread(m, n, k, layout, 1, (flip, acc, threads))
    }

    /// As `check`, the smaller stride of every matrix `step`.
    fn check_spread(
        m: usize,
        n: usize,
        k: usize,
        layout: [bool; 3],
        step: usize,
        (flip, acc, threads): (bool, bool, usize),
    ) {
        if !super::super::math::has_avx2_fma() {
            return;
        }
        let a = Mat::new((m, k), (layout[0], step, 3), flip, 1);
        let b = Mat::new((k, n), (layout[1], step, 0), false, 2);
        let mut c = Mat::new((m, n), (layout[2], step, 2), false, 3);
        let before: Vec<f32> = (0..m * n).map(|x| c.get(x / n, x % n)).collect();
        let (cb, ab, bb) = (c.base, a.base, b.base);
        // SAFETY: the three matrices lie in their buffers; AVX2 and FMA are present.
        unsafe {
            product(
                (m, n, k),
                (c.buf.as_mut_ptr().add(cb), c.cs, c.rs),
                acc,
                (a.buf.as_ptr().add(ab), a.cs, a.rs),
                (b.buf.as_ptr().add(bb), b.cs, b.rs),
                threads,
            )
        };
        for i in 0..m {
            for j in 0..n {
                let mut want: f64 = if acc { before[i * n + j] as f64 } else { 0.0 };
                for p in 0..k {
                    want += a.get(i, p) as f64 * b.get(p, j) as f64;
                }
                assert_eq!(
                    c.get(i, j) as f64,
                    want,
                    "({i}, {j}) of {m}x{k} @ {k}x{n} {layout:?}"
                );
            }
        }
        assert!(
            c.buf[0].is_nan() && c.buf[c.buf.len() - 1].is_nan(),
            "wrote outside C"
        );
    }

    #[test]
    fn products_match_f64_on_every_layout() {
        // Sizes around the tile (6 x 16; last panels of 1 to 5 rows), the packing steps (8)
        // and the blocks (KC, MC).
        let shapes = [
            (1, 1, 1),
            (6, 16, 8),
            (7, 17, 9),
            (5, 15, 3),
            (8, 32, 9),
            (9, 16, 3),
            (10, 48, 7),
            (11, 16, 20),
            (13, 33, 257),
            (150, 40, 300),
            (12, 4100, 5),
            // Row-major A 1024 floats apart (k and the gap of 3): packed, not read in
            // place (`reads_a_in_place`).
            (13, 33, 1021),
        ];
        for &(m, n, k) in &shapes {
            for bits in 0..8u8 {
                let layout = [bits & 1 != 0, bits & 2 != 0, bits & 4 != 0];
                check(m, n, k, layout, false, bits % 3 == 0, 1);
            }
            check(m, n, k, [false, false, false], true, true, 1);
        }
    }

    #[test]
    fn products_of_matrices_strided_both_ways() {
        // No unit stride anywhere: every panel packed element by element, C through the
        // tile buffer.
        for &(m, n, k) in &[(7, 17, 9), (13, 40, 300)] {
            check_spread(m, n, k, [false, false, false], 2, (false, true, 1));
            check_spread(m, n, k, [true, true, true], 2, (true, false, 1));
        }
    }

    #[test]
    fn threads_split_rows_or_columns_with_the_same_result() {
        for &(m, n, k) in &[
            (300, 40, 300),
            (40, 300, 300),
            (256, 256, 40),
            (100, 100, 600),
        ] {
            check(m, n, k, [false, true, false], false, false, 3);
            check(m, n, k, [true, false, true], false, true, 2);
        }
    }

    #[test]
    fn empty_k_zeroes_or_keeps() {
        check(5, 7, 0, [false, false, false], false, false, 1);
        check(5, 7, 0, [false, false, false], false, true, 1);
    }

    #[test]
    fn split_choices() {
        assert_eq!(split(256, 256, 256, 2), Split::Cols(128));
        assert_eq!(split(1000, 16, 256, 2), Split::Rows(500 + 4));
        assert_eq!(split(6, 1000, 256, 2), Split::Cols(512));
        assert_eq!(split(6, 16, 256, 4), Split::Whole);
        assert_eq!(split(256, 256, 256, 1), Split::Whole);
    }
}
