//! CPU kernels. They read and write through raw pointers because outputs of in-place
//! ops alias their inputs; every loop stays inside the layouts it was given.

pub mod avg_pool;
pub mod batch_norm_columns;
pub mod conv;
pub mod conv_bf16;
pub mod conv_bf16_wgrad;
mod conv_depthwise;
mod conv_direct;
#[cfg(test)]
mod conv_reference;
pub mod copy_run;
pub mod ctc;
pub mod elementwise;
pub mod embedding;
pub mod gamma;
mod gelu32;
pub mod gemm;
pub mod glu;
pub mod grid_sample;
pub mod half_convert;
pub mod half_flat;
pub mod index;
mod interleave;
pub mod linalg;
pub mod loss;
pub mod math;
pub mod norm;
mod norm_sums;
pub mod optim;
pub mod pad;
pub mod pool;
pub mod radix;
pub mod reduce;
pub mod reduce_simd;
pub mod reorder;
pub mod resample;
pub mod rnn;
pub mod rows_f32;
pub mod scan;
#[cfg(target_arch = "x86_64")]
mod sgemm;
pub mod softmax;
pub mod strided;
mod team;
pub mod view;
pub mod window;
mod winograd;
mod winograd_dy;

use crate::dtype::DType;
use crate::element::Element;
use crate::spin_lock::SpinLock;
use std::sync::Arc;

/// Every value finite. Checked in chunks with no exit inside one, so that the check
/// vectorises (an early exit per element kept it scalar: a tenth of a depthwise weight
/// gradient, most of a triangular solve's setup), while a non-finite value still ends
/// the scan at its chunk.
pub(crate) fn all_finite<T: crate::element::Element>(s: &[T]) -> bool {
    s.chunks(1024)
        .all(|c| c.iter().fold(true, |ok, v| ok & v.to_f64().is_finite()))
}

/// The pool's slot. A spin lock, not a parking one, so that `fork()` leaves it free in
/// the child (`spin_lock.rs`); it is held only to clone or swap the `Arc`.
static POOL: SpinLock<Option<Arc<rayon::ThreadPool>>> = SpinLock::new(None);

fn build_pool(threads: usize) -> Arc<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("rtorch-{i}"));
    if threads > 0 {
        b = b.num_threads(threads);
    }
    // Building a pool only fails if threads cannot be spawned; fall back to one thread.
    Arc::new(b.build().unwrap_or_else(|_| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("a one-thread pool")
    }))
}

/// The process-wide pool every parallel kernel runs in (rebuilt by set_num_threads).
pub fn pool() -> Arc<rayon::ThreadPool> {
    if let Some(p) = POOL.lock().as_ref() {
        return p.clone();
    }
    fork::register_once();
    // Built outside the lock (it spawns threads); a pool another thread installed
    // meanwhile is kept, and this one dropped.
    let fresh = build_pool(0);
    POOL.lock().get_or_insert(fresh).clone()
}

/// Fork safety. A forked child (DataLoader workers, `multiprocessing` with the fork
/// start method) inherits the pool's memory but none of its threads, so the first
/// parallel kernel in the child would wait forever for workers that do not exist.
/// The child discards the inherited pool without joining (its threads are gone) and
/// builds a fresh one on first use. The pool's lock is held across `fork()` so that no
/// other thread of the parent can be half-way through replacing the pool at that
/// moment, and so is the allocator cache's (`block_cache::lock_for_fork`), which any
/// thread may hold for an instant while it allocates or frees a large buffer.
/// (`pthread_atfork` is POSIX: Linux and macOS alike.)
#[cfg(unix)]
mod fork {
    use super::POOL;
    use crate::block_cache;
    use std::sync::Once;

    static REGISTER: Once = Once::new();

    pub(super) fn register_once() {
        REGISTER.call_once(|| {
            // SAFETY: the handlers are plain `extern "C"` functions that only touch
            // POOL's lock and slot and the cache's lock. Registration can only fail for
            // lack of memory, in which case forked children keep today's behaviour.
            unsafe {
                libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
            }
        });
    }

    extern "C" fn prepare() {
        // Held across fork(); released by `parent` or `child`. The pool's first: a
        // thread holding the cache's lock never waits for the pool's.
        std::mem::forget(POOL.lock());
        block_cache::lock_for_fork();
    }

    extern "C" fn parent() {
        // SAFETY: `prepare` took both locks in this thread and forgot their guards.
        unsafe {
            block_cache::unlock_after_fork();
            POOL.force_unlock();
        }
    }

    extern "C" fn child() {
        // SAFETY: `prepare` took both locks before fork() in the thread that is the
        // child's only one, so nothing else can observe the slot while we reset it.
        unsafe {
            block_cache::unlock_after_fork();
            if let Some(stale) = (*POOL.data_ptr()).take() {
                // Its worker threads do not exist here: dropping would try to signal
                // and join them. Leak it instead (one pool per fork).
                std::mem::forget(stale);
            }
            POOL.force_unlock();
        }
    }
}

#[cfg(not(unix))]
mod fork {
    pub(super) fn register_once() {}
}

/// Installs the fork handlers (`fork` above) now rather than at the pool's first use:
/// the allocator cache's lock is taken before any parallel kernel has run. Called when
/// the extension loads.
pub fn register_fork_handlers() {
    fork::register_once();
}

/// Runs `f` inside the pool: parallel iterators within it use the pool's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let p = pool();
    if p.current_thread_index().is_some() {
        return f();
    }
    p.install(f)
}

/// A loop body called through a trait object with a single method.
///
/// The parallel loops take their bodies as trait objects so that rayon's machinery is
/// compiled once (see `par_for`). A `&dyn Fn` would do, but its vtable also holds a
/// `call_once` shim, and LLVM fills that shim with a second full copy of the closure's
/// body: for the elementwise loops, instantiated for every op and dtype, that was over
/// half a megabyte of the extension. This vtable has just `run`.
pub trait Task<A, R = ()>: Sync {
    fn run(&self, a: A) -> R;
}

impl<A, R, F: Fn(A) -> R + Sync> Task<A, R> for F {
    #[inline(always)]
    fn run(&self, a: A) -> R {
        self(a)
    }
}

/// `Task` for bodies of two arguments.
pub trait Task2<A, B, R = ()>: Sync {
    fn run(&self, a: A, b: B) -> R;
}

impl<A, B, R, F: Fn(A, B) -> R + Sync> Task2<A, B, R> for F {
    #[inline(always)]
    fn run(&self, a: A, b: B) -> R {
        self(a, b)
    }
}

/// `Task` for bodies of three arguments.
pub trait Task3<A, B, C>: Sync {
    fn run(&self, a: A, b: B, c: C);
}

impl<A, B, C, F: Fn(A, B, C) + Sync> Task3<A, B, C> for F {
    #[inline(always)]
    fn run(&self, a: A, b: B, c: C) {
        self(a, b, c)
    }
}

/// Runs `task(t)` for every `t` in `0..tasks` on the pool's threads, in any order.
///
/// Generic only in this thin wrapper: every generic parallel loop instantiates rayon's
/// splitting, job and latch machinery for its own closure type (about 7 KB each), and the
/// elementwise and strided loops are instantiated for every op and dtype, which made
/// rayon's copies about half of the extension's code. Through `par_for_dyn` they share a
/// single copy; the per-task cost is an indirect call on tasks of tens of thousands of
/// elements.
#[inline(always)]
pub fn par_for(tasks: usize, task: &(impl Fn(usize) + Sync)) {
    par_for_dyn(tasks, task)
}

fn par_for_dyn(tasks: usize, task: &dyn Task<usize>) {
    // (A single task, or a pool of one thread, gains nothing from the pool but a
    // thread wake-up.)
    let p = pool();
    if tasks <= 1 || p.current_num_threads() == 1 {
        return (0..tasks).for_each(|t| task.run(t));
    }
    team::run(&p, tasks, task);
}

/// A slice cut in `len`-sized chunks (the last may be shorter) that tasks on several
/// threads take one each, mutably.
struct ChunksOf<T> {
    base: SendPtr<T>,
    n: usize,
    len: usize,
    count: usize,
}

impl<T> ChunksOf<T> {
    fn new(x: &mut [T], len: usize) -> Self {
        let count = if len == 0 { 0 } else { x.len().div_ceil(len) };
        ChunksOf {
            base: SendPtr(x.as_mut_ptr()),
            n: x.len(),
            len,
            count,
        }
    }

    /// Chunk `c` (< count).
    ///
    /// # Safety
    /// No two live results may be the same chunk (each task takes its own, once), and
    /// the slice `new` was given must outlive them.
    #[allow(clippy::mut_from_ref)]
    unsafe fn get(&self, c: usize) -> &mut [T] {
        let start = c * self.len;
        let end = (start + self.len).min(self.n);
        // SAFETY: c < count keeps start..end inside the slice; the caller guarantees
        // exclusive use of this chunk.
        unsafe { std::slice::from_raw_parts_mut(self.base.get().add(start), end - start) }
    }
}

/// `f(i, &mut out[i])` for every element, on the pool's threads (one copy of the rayon
/// loop per element type, for the reason given at `par_for`).
#[inline(always)]
pub fn par_each_mut<T: Send>(out: &mut [T], f: &(impl Fn(usize, &mut T) + Sync)) {
    par_each_mut_dyn(out, f)
}

fn par_each_mut_dyn<T: Send>(out: &mut [T], f: &dyn for<'a> Task2<usize, &'a mut T>) {
    let base = SendPtr(out.as_mut_ptr());
    par_for_dyn(out.len(), &|i| {
        // SAFETY: i indexes `out`, and each task takes its own element, once.
        f.run(i, unsafe { &mut *base.get().add(i) })
    });
}

/// `f(i, &mut a[i], &mut b[i])` for every `i`; `a` and `b` have the same length.
#[inline(always)]
pub fn par_each_mut2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    f: &(impl Fn(usize, &mut A, &mut B) + Sync),
) {
    par_each_mut2_dyn(a, b, f)
}

fn par_each_mut2_dyn<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    f: &dyn for<'a, 'b> Task3<usize, &'a mut A, &'b mut B>,
) {
    let (pa, pb) = (SendPtr(a.as_mut_ptr()), SendPtr(b.as_mut_ptr()));
    par_for_dyn(a.len().min(b.len()), &|i| {
        // SAFETY: i indexes both slices, and each task takes its own elements, once.
        unsafe { f.run(i, &mut *pa.get().add(i), &mut *pb.get().add(i)) }
    });
}

/// `f(c, chunk)` for each `len`-sized chunk `c` of `out` (the last may be shorter).
#[inline(always)]
pub fn par_chunks_mut<T: Send>(out: &mut [T], len: usize, f: &(impl Fn(usize, &mut [T]) + Sync)) {
    par_chunks_mut_dyn(out, len, f)
}

fn par_chunks_mut_dyn<T: Send>(
    out: &mut [T],
    len: usize,
    f: &dyn for<'a> Task2<usize, &'a mut [T]>,
) {
    let chunks = ChunksOf::new(out, len);
    par_for_dyn(chunks.count, &|c| {
        // SAFETY: each task takes its own chunk, once.
        f.run(c, unsafe { chunks.get(c) })
    });
}

/// `f(c, a_chunk, b_chunk)` for each pair of `len`-sized chunks `c` of `a` and `b` (two
/// outputs of one lane layout, such as values and indices).
#[inline(always)]
pub fn par_chunks_mut2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    len: usize,
    f: &(impl Fn(usize, &mut [A], &mut [B]) + Sync),
) {
    par_chunks_mut2_dyn(a, b, (len, len), f)
}

/// `f(c, a_chunk, b_chunk)` for chunk `c` of `a` cut in `len_a`-sized chunks and chunk
/// `c` of `b` cut in `len_b`-sized ones (such as a block of rows and its statistics),
/// over the chunks both have.
#[inline(always)]
pub fn par_chunks_mut2_by<A: Send, B: Send>(
    (a, len_a): (&mut [A], usize),
    (b, len_b): (&mut [B], usize),
    f: &(impl Fn(usize, &mut [A], &mut [B]) + Sync),
) {
    par_chunks_mut2_dyn(a, b, (len_a, len_b), f)
}

fn par_chunks_mut2_dyn<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    (len_a, len_b): (usize, usize),
    f: &dyn for<'a, 'b> Task3<usize, &'a mut [A], &'b mut [B]>,
) {
    let (ca, cb) = (ChunksOf::new(a, len_a), ChunksOf::new(b, len_b));
    par_for_dyn(ca.count.min(cb.count), &|c| {
        // SAFETY: each task takes its own chunk of each, once.
        unsafe { f.run(c, ca.get(c), cb.get(c)) }
    });
}

/// `[f(chunk) for each len-sized chunk of x]`, in order.
#[inline(always)]
pub fn par_map_chunks<T: Sync, A: Send>(
    x: &[T],
    len: usize,
    f: &(impl Fn(&[T]) -> A + Sync),
) -> Vec<A> {
    par_map_chunks_dyn(x, len, f)
}

fn par_map_chunks_dyn<T: Sync, A: Send>(
    x: &[T],
    len: usize,
    f: &dyn for<'a> Task<&'a [T], A>,
) -> Vec<A> {
    let count = if len == 0 { 0 } else { x.len().div_ceil(len) };
    par_map_dyn(count, &|c| f.run(chunk_of(x, c, len)))
}

/// `[f(i) for i in 0..n]`, in order, computed on the pool's threads.
#[inline(always)]
pub fn par_map<R: Send>(n: usize, f: &(impl Fn(usize) -> R + Sync)) -> Vec<R> {
    par_map_dyn(n, f)
}

fn par_map_dyn<R: Send>(n: usize, f: &dyn Task<usize, R>) -> Vec<R> {
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    let slots = SendPtr(out.as_mut_ptr());
    par_for_dyn(n, &|i| {
        // SAFETY: i < n indexes `out`; each index is written by one task, once.
        unsafe { *slots.get().add(i) = Some(f.run(i)) }
    });
    // (Every slot is filled: `par_for` returns once each task has run, or re-raises a
    // task's panic.)
    out.into_iter().flatten().collect()
}

/// `[f(c, chunk) for each len-sized chunk c of out]` (the last may be shorter), in
/// order, computed on the pool's threads.
#[inline(always)]
pub fn par_chunks_map<T: Send, R: Send>(
    out: &mut [T],
    len: usize,
    f: &(impl Fn(usize, &mut [T]) -> R + Sync),
) -> Vec<R> {
    par_chunks_map_dyn(out, len, f)
}

fn par_chunks_map_dyn<T: Send, R: Send>(
    out: &mut [T],
    len: usize,
    f: &dyn for<'a> Task2<usize, &'a mut [T], R>,
) -> Vec<R> {
    let chunks = ChunksOf::new(out, len);
    par_map_dyn(chunks.count, &|c| {
        // SAFETY: each task takes its own chunk, once.
        f.run(c, unsafe { chunks.get(c) })
    })
}

/// Chunk `c` of `x` cut in `len`-sized chunks (as `x.chunks(len).nth(c)`; empty past
/// the end): the read operand matching a written chunk of the parallel helpers.
#[inline]
pub fn chunk_of<T>(x: &[T], c: usize, len: usize) -> &[T] {
    let start = c.saturating_mul(len).min(x.len());
    &x[start..start.saturating_add(len).min(x.len())]
}

/// `rtorch.set_num_threads(n)`.
pub fn set_num_threads(n: usize) {
    fork::register_once();
    let fresh = build_pool(n.max(1));
    // The old pool is dropped after the lock is released.
    let _old = POOL.lock().replace(fresh);
}

/// `rtorch.get_num_threads()`.
pub fn get_num_threads() -> usize {
    pool().current_num_threads()
}

/// `s` as float32, when `T` is float32.
pub fn as_f32<T: Element>(s: &[T]) -> Option<&[f32]> {
    // SAFETY: the one Element type whose DTYPE is F32 is f32, so the slice already
    // holds f32 values; same pointer, length and lifetime.
    (T::DTYPE == DType::F32)
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr() as *const f32, s.len()) })
}

/// `s` as mutable float32, when `T` is float32.
pub fn as_f32_mut<T: Element>(s: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: as `as_f32`; the exclusive borrow moves into the result.
    (T::DTYPE == DType::F32)
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr() as *mut f32, s.len()) })
}

/// Elementwise loops go parallel above this many elements (PyTorch's grain size).
pub const GRAIN: usize = 32768;

/// A raw pointer that may cross threads.
///
/// SAFETY contract for users: parallel loops hand each thread a disjoint set of output
/// indices, so no two threads write the same element; inputs are only read.
pub struct SendPtr<T>(pub *mut T);
// (By hand: a derive would ask `T: Copy`, and the pointer is copyable for any T.)
impl<T> Clone for SendPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SendPtr<T> {}
// SAFETY: see the contract above; the pointer itself is plain data.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}

#[cfg(all(test, target_os = "linux"))]
mod fork_tests {
    use super::*;

    #[test]
    fn a_child_forked_while_another_thread_held_the_pool_runs_parallel_work() {
        pool(); // the parent's pool exists: the child must replace it
        let child = || {
            let sums: Vec<usize> = pool().install(|| {
                use rayon::prelude::*;
                (0..64usize).into_par_iter().map(|i| i * i).collect()
            });
            sums.iter().sum::<usize>() == (0..64usize).map(|i| i * i).sum()
        };
        assert!(
            crate::spin_lock::fork_tests::fork_while_held(&POOL, child),
            "the forked child could not run parallel work"
        );
    }
}
