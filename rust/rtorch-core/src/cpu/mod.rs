//! CPU kernels. They read and write through raw pointers because outputs of in-place
//! ops alias their inputs; every loop stays inside the layouts it was given.

pub mod elementwise;
pub mod math;
pub mod reduce_simd;
pub mod strided;

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
    let mut w = POOL.write();
    w.get_or_insert_with(|| build_pool(0)).clone()
}

/// Runs `f` inside the pool: parallel iterators within it use the pool's threads.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let p = pool();
    if p.current_thread_index().is_some() {
        return f();
    }
    p.install(f)
}

/// `rtorch.set_num_threads(n)`.
pub fn set_num_threads(n: usize) {
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
