//! A spin lock for the process-wide state that `fork()` must leave usable in the child
//! (`cpu::fork`): the thread pool's slot and the allocator cache.
//!
//! The fork handlers take these locks before `fork()` and release them in both
//! processes after it. parking_lot's locks cannot be released that way: unlocked in the
//! child while threads of the parent were parked on them, they may hand the lock to one
//! of those threads (their eventual fairness), which do not exist in the child, and the
//! child's next lock waits forever. A forked child of the crate's own test did so in
//! about every other run. Each of these locks guards a few instructions (a queue
//! operation, an `Arc` clone), so spinning, then yielding to a descheduled holder,
//! costs no more than parking.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A lock for process-wide state held across `fork()` (`cpu::fork`).
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and one guard exists at a time
// (`locked`, taken with Acquire and released with Release ordering).
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            if spins < 100 {
                spins += 1;
                std::hint::spin_loop();
            } else {
                // The holder was descheduled: let it run.
                std::thread::yield_now();
            }
        }
        SpinGuard { lock: self }
    }

    /// The value, for a thread that holds the lock through a forgotten guard.
    ///
    /// # Safety
    /// The caller holds the lock, and no guard of it is in use.
    #[cfg(unix)]
    pub(crate) unsafe fn data_ptr(&self) -> *mut T {
        self.value.get()
    }

    /// Frees the lock without a guard (one was forgotten).
    ///
    /// # Safety
    /// No guard of this lock is in use.
    #[cfg(unix)]
    pub(crate) unsafe fn force_unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: this guard holds the lock, and `&mut self` makes the borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// The fork handlers at work: forking while another thread holds one of these locks.
#[cfg(all(test, target_os = "linux"))]
pub(crate) mod fork_tests {
    use super::SpinLock;
    use std::time::{Duration, Instant};

    /// Forks while another thread holds `lock` for 200 ms (the fork handlers, installed
    /// here, wait for it to be released), runs `child` in the child, and returns whether
    /// the child returned true and exited within 10 s (it is killed after that).
    pub(crate) fn fork_while_held<T: Send>(
        lock: &'static SpinLock<T>,
        child: fn() -> bool,
    ) -> bool {
        crate::cpu::register_fork_handlers();
        let (held, wait_held) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let guard = lock.lock();
            held.send(()).ok();
            std::thread::sleep(Duration::from_millis(200));
            drop(guard);
        });
        wait_held.recv().expect("the holder thread runs");
        // SAFETY: the child runs only `child` (code under test: the locks the handlers
        // released, glibc's fork-safe malloc, threads it starts itself) and leaves by
        // `_exit`, running nothing else of the parent's.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = if child() { 0 } else { 2 };
            // SAFETY: ends the child at once, as a forked child of a threaded process
            // must.
            unsafe { libc::_exit(code) };
        }
        assert!(pid > 0, "fork failed");
        holder.join().expect("the holder thread ends");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut status = 0;
        loop {
            // SAFETY: plain system calls on our own child.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            }
            if Instant::now() > deadline {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
