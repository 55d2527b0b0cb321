//! CPU kernels. They read and write through raw pointers because outputs of in-place
//! ops alias their inputs; every loop stays inside the layouts it was given.

pub mod conv;
mod conv_direct;
pub mod elementwise;
pub mod embedding;
pub mod gemm;
pub mod half_convert;
pub mod index;
pub mod linalg;
pub mod loss;
pub mod math;
pub mod norm;
pub mod optim;
pub mod pool;
pub mod reduce;
pub mod reduce_simd;
pub mod reorder;
pub mod rnn;
pub mod scan;
pub mod softmax;
pub mod strided;
pub mod view;
pub mod window;

use parking_lot::RwLock;
use std::sync::Arc;

static POOL: RwLock<Option<Arc<rayon::ThreadPool>>> = RwLock::new(None);

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
    if let Some(p) = POOL.read().as_ref() {
        return p.clone();
    }
    fork::register_once();
    let mut w = POOL.write();
    w.get_or_insert_with(|| build_pool(0)).clone()
}

/// Fork safety. A forked child (DataLoader workers, `multiprocessing` with the fork
/// start method) inherits the pool's memory but none of its threads, so the first
/// parallel kernel in the child would wait forever for workers that do not exist.
/// The child discards the inherited pool without joining (its threads are gone) and
/// builds a fresh one on first use. The lock is held across `fork()` so that no other
/// thread of the parent can be half-way through replacing the pool at that moment.
#[cfg(target_os = "linux")]
mod fork {
    use super::POOL;
    use std::sync::Once;

    static REGISTER: Once = Once::new();

    pub(super) fn register_once() {
        REGISTER.call_once(|| {
            // SAFETY: the handlers are plain `extern "C"` functions that only touch
            // POOL's lock and slot. Registration can only fail for lack of memory, in
            // which case forked children keep today's behaviour.
            unsafe {
                libc::pthread_atfork(Some(prepare), Some(parent), Some(child));
            }
        });
    }

    extern "C" fn prepare() {
        // Held across fork(); released by `parent` or `child`.
        std::mem::forget(POOL.write());
    }

    extern "C" fn parent() {
        // SAFETY: `prepare` took the write lock in this thread and forgot its guard.
        unsafe { POOL.force_unlock_write() };
    }

    extern "C" fn child() {
        // SAFETY: `prepare` took the write lock before fork(); the child is
        // single-threaded, so nothing else can observe the slot while we reset it.
        unsafe {
            if let Some(stale) = (*POOL.data_ptr()).take() {
                // Its worker threads do not exist here: dropping would try to signal
                // and join them. Leak it instead (one pool per fork).
                std::mem::forget(stale);
            }
            POOL.force_unlock_write();
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod fork {
    pub(super) fn register_once() {}
}

/// Runs `f` inside the pool: parallel iterators within it use the pool's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let p = pool();
    if p.current_thread_index().is_some() {
        return f();
    }
    p.install(f)
}

/// Runs `task(t)` for every `t` in `0..tasks` on the pool's threads, in any order.
///
/// Deliberately not generic: every generic parallel loop instantiates rayon's splitting,
/// job and latch machinery for its own closure type (about 7 KB each), and the elementwise
/// and strided loops are instantiated for every op and dtype, which made rayon's copies
/// about half of the extension's code. Through this one entry point they share a single
/// copy; the per-task cost is an indirect call on tasks of tens of thousands of elements.
pub fn par_for(tasks: usize, task: &(dyn Fn(usize) + Sync)) {
    use rayon::prelude::*;
    install_dyn(&|| (0..tasks).into_par_iter().for_each(task));
}

/// `f(i, &mut out[i])` for every element, on the pool's threads (not generic over `f`,
/// for the reason given at `par_for`).
pub fn par_each_mut<T: Send>(out: &mut [T], f: &(dyn Fn(usize, &mut T) + Sync)) {
    use rayon::prelude::*;
    install_mut(&mut || out.par_iter_mut().enumerate().for_each(|(i, v)| f(i, v)));
}

/// `f(i, &mut a[i], &mut b[i])` for every `i`; `a` and `b` have the same length.
pub fn par_each_mut2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    f: &(dyn Fn(usize, &mut A, &mut B) + Sync),
) {
    use rayon::prelude::*;
    install_mut(&mut || {
        a.par_iter_mut()
            .zip(b.par_iter_mut())
            .enumerate()
            .for_each(|(i, (x, y))| f(i, x, y))
    });
}

/// `f(c, chunk)` for each `len`-sized chunk `c` of `out` (the last may be shorter).
pub fn par_chunks_mut<T: Send>(out: &mut [T], len: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
    use rayon::prelude::*;
    install_mut(&mut || {
        out.par_chunks_mut(len)
            .enumerate()
            .for_each(|(c, s)| f(c, s))
    });
}

/// A task over chunk `c` of two outputs.
pub type ChunkPairFn<'a, A, B> = dyn Fn(usize, &mut [A], &mut [B]) + Sync + 'a;

/// `f(c, a_chunk, b_chunk)` for each pair of `len`-sized chunks `c` of `a` and `b` (two
/// outputs of one lane layout, such as values and indices).
pub fn par_chunks_mut2<A: Send, B: Send>(
    a: &mut [A],
    b: &mut [B],
    len: usize,
    f: &ChunkPairFn<'_, A, B>,
) {
    use rayon::prelude::*;
    install_mut(&mut || {
        a.par_chunks_mut(len)
            .zip(b.par_chunks_mut(len))
            .enumerate()
            .for_each(|(c, (x, y))| f(c, x, y))
    });
}

/// `[f(chunk) for each len-sized chunk of x]`, in order.
pub fn par_map_chunks<T: Sync, A: Send>(
    x: &[T],
    len: usize,
    f: &(dyn Fn(&[T]) -> A + Sync),
) -> Vec<A> {
    use rayon::prelude::*;
    let mut parts = Vec::new();
    install_mut(&mut || parts = x.par_chunks(len).map(f).collect());
    parts
}

fn install_dyn(f: &(dyn Fn() + Sync)) {
    install(f)
}

fn install_mut(f: &mut (dyn FnMut() + Send)) {
    install(f)
}

/// `rtorch.set_num_threads(n)`.
pub fn set_num_threads(n: usize) {
    fork::register_once();
    *POOL.write() = Some(build_pool(n.max(1)));
}

/// `rtorch.get_num_threads()`.
pub fn get_num_threads() -> usize {
    pool().current_num_threads()
}

/// Elementwise loops go parallel above this many elements (PyTorch's grain size).
pub const GRAIN: usize = 32768;

/// A raw pointer that may cross threads.
///
/// SAFETY contract for users: parallel loops hand each thread a disjoint set of output
/// indices, so no two threads write the same element; inputs are only read.
#[derive(Clone, Copy)]
pub struct SendPtr<T>(pub *mut T);
// SAFETY: see the contract above; the pointer itself is plain data.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    #[inline(always)]
    pub fn get(self) -> *mut T {
        self.0
    }
}
