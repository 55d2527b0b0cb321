//! Reuse of large freed CPU buffers.
//!
//! The kernel backs a fresh multi-megabyte allocation page by page on first touch
//! (zero-filling each page), and on this project's machines that costs about as much as
//! the op that writes the buffer. A training loop allocates the same activation and
//! gradient sizes every step, so it paid that cost every step. Freed buffers of at
//! least [`MIN_BYTES`] are therefore kept, keyed by their exact byte size (which fixes
//! their alignment too), up to [`CAP_BYTES`] in total, and handed to the next
//! allocation of the same size. The oldest freed buffer is returned to the allocator
//! first when the cap is reached.
//!
//! Below that size glibc's heap serves the buffers. By default it gives its top back to
//! the kernel whenever enough is free and moves its mmap threshold as buffers come and
//! go, so a loop whose step frees and reallocates a few hundred KiB can fault those
//! pages in again every step (a 64x784 by 784x128 matmul backward ran at half speed
//! after unrelated small ops had moved the heap's top). [`tune_heap`] fixes both.
//!
//! `RTORCH_CPU_BLOCK_CACHE=0` turns the cache and the heap tuning off.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::OnceLock;

/// Smaller buffers come from malloc's own free lists, which are cheap already.
pub const MIN_BYTES: usize = 1 << 20;

/// Bytes kept at most.
const CAP_BYTES: usize = 256 << 20;

/// A freed buffer's address (kept as an integer: the cache only stores and returns it).
struct Block {
    len: usize,
    addr: usize,
}

struct Cache {
    /// Oldest freed first.
    blocks: VecDeque<Block>,
    total: usize,
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    blocks: VecDeque::new(),
    total: 0,
});

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("RTORCH_CPU_BLOCK_CACHE").map_or(true, |v| v != "0"))
}

/// glibc only: buffers below [`MIN_BYTES`] always come from the heap (`M_MMAP_THRESHOLD`;
/// larger ones are mmapped and kept by this cache), and the heap keeps 4 MiB of slack
/// at its top (`M_TOP_PAD`) instead of returning it and faulting it back. Called once,
/// when the extension loads.
pub fn tune_heap() {
    if !enabled() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, and these values are valid for
    // them; it takes the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MIN_BYTES as libc::c_int);
        libc::mallopt(libc::M_TOP_PAD, 4 << 20);
    }
}

/// A cached buffer of exactly `len` bytes, if one is free (its contents are stale).
pub fn take(len: usize) -> Option<*mut u8> {
    if len < MIN_BYTES || !enabled() {
        return None;
    }
    let mut c = CACHE.lock();
    // The newest matching block: the most likely to still be in cache and in the TLB.
    let i = c.blocks.iter().rposition(|b| b.len == len)?;
    let b = c.blocks.remove(i)?;
    c.total -= b.len;
    Some(b.addr as *mut u8)
}

/// Offers a freed buffer of `len` bytes to the cache. Calls `free` on each buffer the
/// caller must free now: the offered one when it is not kept, and any evicted to make
/// room. (A callback, not a returned list: freeing a small buffer, the common case,
/// allocates nothing.)
pub fn give(ptr: *mut u8, len: usize, mut free: impl FnMut(*mut u8, usize)) {
    if !(MIN_BYTES..=CAP_BYTES).contains(&len) || !enabled() {
        free(ptr, len);
        return;
    }
    let mut evicted = Vec::new();
    {
        let mut c = CACHE.lock();
        while c.total + len > CAP_BYTES {
            match c.blocks.pop_front() {
                Some(b) => {
                    c.total -= b.len;
                    evicted.push(b);
                }
                None => break,
            }
        }
        c.blocks.push_back(Block {
            len,
            addr: ptr as usize,
        });
        c.total += len;
    }
    // Outside the lock: freeing a large block is a munmap.
    for b in evicted {
        free(b.addr as *mut u8, b.len);
    }
}

/// Bytes currently held by the cache.
pub fn cached_bytes() -> usize {
    CACHE.lock().total
}

/// Removes every cached buffer and returns them for the caller to free.
pub fn drain() -> Vec<(*mut u8, usize)> {
    let mut c = CACHE.lock();
    c.total = 0;
    c.blocks
        .drain(..)
        .map(|b| (b.addr as *mut u8, b.len))
        .collect()
}
