//! Parallel loops in which the calling thread takes part.
//!
//! Handing a loop to the pool (`ThreadPool::install`) puts the calling thread to sleep
//! until the workers are done, and waking it costs tens of microseconds on a virtual
//! machine; so does waking a worker that went to sleep. For loops of a few tens of
//! microseconds (an elementwise op on 64K values) that made two threads slower than one.
//! Here the caller claims tasks from a shared counter alongside the pool's workers: a
//! worker that wakes late finds less (or nothing) left to do, the caller never sleeps,
//! and it waits only for tasks already running elsewhere. Which thread runs a task
//! changes nothing in its result: tasks are indexed and write disjoint outputs.
//!
//! (`cpu::install` remains for code that needs to run inside the rayon pool: the gemm
//! crate's own parallel mode and a bidirectional RNN's two directions.)

use super::Task;
use parking_lot::Mutex;
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Claims per thread for a loop's tasks (more even out uneven tasks and late starts;
/// fewer touch the shared counters less).
const CLAIMS_PER_THREAD: usize = 8;

/// A counter on a cache line of its own (two lines: the adjacent-line prefetcher), so
/// that claiming and finishing do not contend.
#[repr(align(128))]
struct Padded(AtomicUsize);

/// One loop's state, shared by the caller and the helper jobs it spawned.
struct Loop {
    /// The loop body with its lifetime erased; `Loop::work` says why it is never called
    /// after `run` returns.
    task: *const (dyn Task<usize> + 'static),
    tasks: usize,
    /// How many tasks one claim takes: a few claims per thread, so that the two shared
    /// counters are touched rarely (each touch moves their cache line between cores:
    /// one claim per task made a max-pool over 640 small planes 45% slower).
    step: usize,
    /// The next task index to claim.
    next: Padded,
    /// Tasks claimed and finished (panicked ones included).
    finished: Padded,
    /// The first panic of a task, re-raised in the caller.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: `task` points to a `Task`, which is `Sync` (callable from any thread at once);
// the other fields are atomics and a mutex.
unsafe impl Send for Loop {}
// SAFETY: as above.
unsafe impl Sync for Loop {}

impl Loop {
    /// Claims and runs tasks until none is left.
    fn work(&self) {
        loop {
            let first = self.next.0.fetch_add(self.step, Ordering::Relaxed);
            if first >= self.tasks {
                return;
            }
            let end = first.saturating_add(self.step).min(self.tasks);
            // SAFETY: tasks first..end < tasks were claimed here and are counted in
            // `finished` only after they ran; `run` returns (ending the closure's borrow)
            // only once `finished` reaches `tasks`. A helper that starts after that claims
            // indices past the end and never reaches this line.
            let task = unsafe { &*self.task };
            let claim = || (first..end).for_each(|t| task.run(t));
            if let Err(p) = catch_unwind(AssertUnwindSafe(claim)) {
                // (The claim's tasks after the panicking one are skipped.)
                self.panic.lock().get_or_insert(p);
            }
            self.finished.0.fetch_add(end - first, Ordering::Release);
        }
    }
}

/// Runs `task(t)` for every `t` in `0..tasks` (tasks >= 2) on the calling thread and
/// up to `threads - 1` of `pool`'s workers; returns when every task has finished, and
/// re-raises a task's panic.
pub(super) fn run(pool: &rayon::ThreadPool, tasks: usize, task: &dyn Task<usize>) {
    // SAFETY: only the lifetime changes (same fat pointer); see `Loop::work`.
    let task: &'static dyn Task<usize> = unsafe { std::mem::transmute(task) };
    let threads = pool.current_num_threads().max(1);
    let shared = Arc::new(Loop {
        task,
        tasks,
        step: (tasks / (CLAIMS_PER_THREAD * threads)).max(1),
        next: Padded(AtomicUsize::new(0)),
        finished: Padded(AtomicUsize::new(0)),
        panic: Mutex::new(None),
    });
    // Every worker gets a helper job, and `threads - 1` of them a seat (with the caller,
    // no more threads work than the pool's count; the others return at once). Waking
    // them all keeps them all awake: with one helper job, the workers it never reached
    // fell asleep, and the gemm crate's parallel mode right after (it runs on the
    // workers while the caller waits, `gemm::crate_gemm`) ran as on one thread: a
    // 64x1440 @ 1440x128 product after a max-pool took 300 us instead of 150.
    let seats = AtomicUsize::new((threads - 1).min(tasks.saturating_sub(1)));
    let s = Arc::clone(&shared);
    pool.spawn_broadcast(move |_| {
        let taken = seats.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if taken.is_ok() {
            s.work();
        }
    });
    shared.work();
    // Every task is claimed; those still running elsewhere end soon: spin, then yield
    // (a helper may have been descheduled mid-task).
    let mut spins = 0u32;
    // (Acquire: pairs with the helpers' Release increments, so their writes are seen.)
    while shared.finished.0.load(Ordering::Acquire) < tasks {
        if spins < 2000 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    let panic = shared.panic.lock().take();
    if let Some(p) = panic {
        resume_unwind(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a test pool")
    }

    #[test]
    fn every_task_runs_once() {
        for threads in [2, 3, 8] {
            let p = pool(threads);
            for tasks in [2, 3, 7, 1000, 100_000] {
                let runs: Vec<AtomicU32> = (0..tasks).map(|_| AtomicU32::new(0)).collect();
                run(&p, tasks, &|t: usize| {
                    runs[t].fetch_add(1, Ordering::Relaxed);
                });
                assert!(
                    runs.iter().all(|r| r.load(Ordering::Relaxed) == 1),
                    "{threads} {tasks}"
                );
            }
        }
    }

    #[test]
    fn a_task_panic_reaches_the_caller_after_the_others_ran() {
        let p = pool(4);
        let ran = AtomicUsize::new(0);
        let result = catch_unwind(AssertUnwindSafe(|| {
            run(&p, 64, &|t: usize| {
                if t == 17 {
                    panic!("task 17");
                }
                ran.fetch_add(1, Ordering::Relaxed);
            })
        }));
        let message = result.expect_err("the panic comes back");
        assert_eq!(message.downcast_ref::<&str>(), Some(&"task 17"));
        // (Tasks claimed with task 17 and after it are skipped; the rest ran.)
        let ran = ran.load(Ordering::Relaxed);
        assert!((32..=63).contains(&ran), "{ran}");
    }

    #[test]
    fn nested_loops_in_the_same_pool() {
        let p = pool(3);
        let total = AtomicUsize::new(0);
        run(&p, 16, &|_: usize| {
            run(&p, 16, &|u: usize| {
                total.fetch_add(u, Ordering::Relaxed);
            })
        });
        assert_eq!(total.load(Ordering::Relaxed), 16 * (0..16).sum::<usize>());
    }
}
