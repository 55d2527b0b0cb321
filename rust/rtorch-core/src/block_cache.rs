//! Reuse of large freed CPU buffers: [`Allocator`], the extension's global allocator.
//!
//! The kernel backs a fresh multi-megabyte allocation page by page on first touch
//! (zero-filling each page), and on this project's machines that costs about as much as
//! the op that writes the buffer. A training loop allocates the same sizes every step:
//! activations and gradients, and inside the kernels the GEMM crate's packed operands
//! (a few MB for each product of a deep convolution, allocated by every call) and the
//! weight gradient's partial sums; it paid that cost every step. Freed allocations of at
//! least [`MIN_BYTES`] are therefore kept, keyed by their exact size and alignment, up to
//! [`CAP_BYTES`] in total, and handed to the next allocation of the same layout. The
//! oldest freed block is returned to the system allocator first when the cap is reached.
//!
//! A fresh allocation (no cached block of its layout) first returns cached blocks of at
//! least its size, oldest first, as long as the cache holds more than [`KEEP_BYTES`]: the
//! new block replaces stale memory rather than adding to it, so caching never takes the
//! process's large buffers more than [`KEEP_BYTES`] above their own peak, while a
//! training loop whose step frees up to [`CAP_BYTES`] gets all of it back.
//!
//! Below that size glibc's heap serves the buffers. By default it gives its top back to
//! the kernel whenever enough is free and moves its mmap threshold as buffers come and
//! go, so a loop whose step frees and reallocates a few hundred KiB can fault those
//! pages in again every step (a 64x784 by 784x128 matmul backward ran at half speed
//! after unrelated small ops had moved the heap's top). [`tune_heap`] fixes both.
//!
//! `RTORCH_CPU_BLOCK_CACHE=0` turns the cache and the heap tuning off.

use crate::spin_lock::SpinLock;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::sync::OnceLock;

/// Smaller buffers come from malloc's own free lists, which are cheap already.
pub const MIN_BYTES: usize = 1 << 20;

/// Bytes kept at most. A MobileNetV2 step at batch 16 on 112x112 images frees about
/// 470 MB; with 256 MB kept, its allocations faulted their pages in again every step
/// (the kernel zeroing them took a sixth of the step).
const CAP_BYTES: usize = 1 << 30;

/// Bytes a fresh allocation leaves in the cache (see the module comment).
const KEEP_BYTES: usize = 256 << 20;

/// A huge page. Fresh allocations this large are offered to the kernel as huge-page
/// candidates: a fresh 64 MB kernel output otherwise costs 16k page faults, which
/// dominated `x + y` on large tensors. (Tensor buffers this large are aligned to it,
/// see `storage.rs`, so huge pages cover all of them.)
pub const HUGE: usize = 2 << 20;

/// A freed block (its address kept as an integer: the cache only stores and returns it).
struct Block {
    size: usize,
    align: usize,
    addr: usize,
}

struct Cache {
    /// Oldest freed first.
    blocks: VecDeque<Block>,
    total: usize,
}

/// A spin lock, not a parking one: `fork()` must leave the child with it free
/// (`spin_lock.rs`).
static CACHE: SpinLock<Cache> = SpinLock::new(Cache {
    blocks: VecDeque::new(),
    total: 0,
});

/// Read once. Only asked about allocations of at least [`MIN_BYTES`], so the small
/// allocations that reading the environment makes do not come back here.
fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("RTORCH_CPU_BLOCK_CACHE").map_or(true, |v| v != "0"))
}

fn cacheable(size: usize) -> bool {
    (MIN_BYTES..=CAP_BYTES).contains(&size) && enabled()
}

/// glibc only: buffers below [`MIN_BYTES`] always come from the heap (`M_MMAP_THRESHOLD`,
/// set a little above: glibc compares it with the request plus its header and any
/// alignment slack, so a buffer a few bytes short of 1 MiB, which this cache does not
/// keep, was mmapped and faulted in afresh each time: `torch.ones(29127, 9)` took
/// 370 us against 11 for 1 MiB; larger ones are mmapped and kept by this cache), and
/// the heap keeps 4 MiB of slack
/// at its top (`M_TOP_PAD`) instead of returning it and faulting it back. Called once,
/// when the extension loads (which also reads `RTORCH_CPU_BLOCK_CACHE`).
pub fn tune_heap() {
    if !enabled() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters, and these values are valid for
    // them; it takes the allocator's own lock.
    unsafe {
        libc::mallopt(
            libc::M_MMAP_THRESHOLD,
            (MIN_BYTES + (64 << 10)) as libc::c_int,
        );
        libc::mallopt(libc::M_TOP_PAD, 4 << 20);
    }
}

/// A cached block of exactly this layout, if one is free (its contents are stale).
fn take(layout: Layout) -> Option<*mut u8> {
    let mut c = CACHE.lock();
    // The newest matching block: the most likely to still be in cache and in the TLB.
    let i = c
        .blocks
        .iter()
        .rposition(|b| b.size == layout.size() && b.align == layout.align())?;
    let b = c.blocks.remove(i)?;
    c.total -= b.size;
    Some(b.addr as *mut u8)
}

/// Keeps a freed block of `layout`, handing back the ones evicted to make room (none
/// in the common case, so nothing is allocated then).
fn give(ptr: *mut u8, layout: Layout) -> Vec<Block> {
    let mut evicted = Vec::new();
    let mut c = CACHE.lock();
    while c.total + layout.size() > CAP_BYTES {
        match c.blocks.pop_front() {
            Some(b) => {
                c.total -= b.size;
                evicted.push(b);
            }
            None => break,
        }
    }
    c.blocks.push_back(Block {
        size: layout.size(),
        align: layout.align(),
        addr: ptr as usize,
    });
    c.total += layout.size();
    evicted
}

/// Before a fresh allocation of `size` bytes: the oldest cached blocks, at least `size`
/// bytes of them, while the cache holds more than [`KEEP_BYTES`].
fn make_room(size: usize) -> Vec<Block> {
    let mut evicted = Vec::new();
    let mut c = CACHE.lock();
    let mut freed = 0;
    while freed < size && c.total > KEEP_BYTES {
        match c.blocks.pop_front() {
            Some(b) => {
                c.total -= b.size;
                freed += b.size;
                evicted.push(b);
            }
            None => break,
        }
    }
    evicted
}

/// Returns blocks to the system allocator.
fn free_blocks(blocks: Vec<Block>) {
    for b in blocks {
        // SAFETY: each block was allocated by `System` with exactly this size and
        // alignment (a valid layout then), and the cache held it alone.
        unsafe {
            System.dealloc(
                b.addr as *mut u8,
                Layout::from_size_align_unchecked(b.size, b.align),
            )
        };
    }
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, size: usize) {
    if size >= HUGE && !ptr.is_null() {
        // SAFETY: `ptr..ptr+size` is one live allocation, not yet touched by the caller;
        // MADV_HUGEPAGE only changes how the kernel backs it (failure is harmless).
        unsafe {
            libc::madvise(ptr as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _size: usize) {}

/// The system allocator, with large freed blocks kept for reuse (the module comment).
pub struct Allocator;

// SAFETY: every block handed out is either a fresh `System` allocation of the requested
// layout or a cached one that `System` allocated with that same size and alignment and
// that its owner has freed; a cached block is handed out once (removed under the lock)
// and freed to `System` once (when evicted or drained). Nothing here panics or unwinds:
// the cache's lock does not poison, and its queue grows by small allocations, which
// pass straight to `System`.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if cacheable(layout.size()) {
            if let Some(p) = take(layout) {
                return p;
            }
            free_blocks(make_room(layout.size()));
        }
        // SAFETY: forwarded from the caller (a non-zero-size layout).
        let p = unsafe { System.alloc(layout) };
        // Before the first touch, so the caller's writes already fault in huge pages.
        advise_huge_pages(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if cacheable(layout.size()) {
            if let Some(p) = take(layout) {
                // SAFETY: a block of `layout.size()` bytes, ours until returned.
                unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
                return p;
            }
            free_blocks(make_room(layout.size()));
        }
        // SAFETY: forwarded from the caller. (Large zeroed blocks are fresh mappings,
        // untouched, so advising after the call still takes effect.)
        let p = unsafe { System.alloc_zeroed(layout) };
        advise_huge_pages(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if cacheable(layout.size()) {
            free_blocks(give(ptr, layout));
        } else {
            // SAFETY: forwarded from the caller: `ptr` came from this allocator with
            // `layout`, so from `System` with it.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// A growing or shrinking block stays `System`'s own: glibc moves a large one by
    /// remapping its pages, where a cached block would cost a copy, and a vector grown
    /// by doubling (a file read whole) would fill the cache with sizes no one asks for.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller: `ptr` came from this allocator with
        // `layout`, so from `System` with it (a cached block is handed out with the
        // layout `System` allocated it with).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Takes the cache's lock and keeps it, for `fork()` (`cpu::fork`): a thread of the
/// parent that held it at that moment would not exist in the child, and the child's
/// first large allocation or free would wait for it forever (a DataLoader worker).
#[cfg(unix)]
pub(crate) fn lock_for_fork() {
    std::mem::forget(CACHE.lock());
}

/// Releases the lock [`lock_for_fork`] kept, in the parent and in the child.
///
/// # Safety
/// The calling thread took it with [`lock_for_fork`] (in the child: the thread that
/// called `fork()`, the only one there).
#[cfg(unix)]
pub(crate) unsafe fn unlock_after_fork() {
    // SAFETY: the caller's contract: the lock's only guard was forgotten.
    unsafe { CACHE.force_unlock() }
}

/// Bytes currently held by the cache.
pub fn cached_bytes() -> usize {
    CACHE.lock().total
}

/// Returns every cached block to the system allocator; the bytes they held.
pub fn empty() -> usize {
    let blocks: Vec<Block> = {
        let mut c = CACHE.lock();
        c.total = 0;
        c.blocks.drain(..).collect()
    };
    let total = blocks.iter().map(|b| b.size).sum();
    free_blocks(blocks);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit tests of this crate run on the caching allocator, as the extension does.
    #[global_allocator]
    static GLOBAL: Allocator = Allocator;

    /// Held by the tests that depend on which blocks the cache holds: filling it past
    /// the floor makes every fresh allocation evict its oldest blocks.
    static ADDRESSES: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn a_freed_large_vec_is_handed_to_the_next_of_its_layout() {
        let _alone = ADDRESSES.lock();
        // An odd size, so no other test's blocks share its layout.
        let n = (3 << 20) / 8 + 17;
        let a = vec![7u64; n];
        let addr = a.as_ptr() as usize;
        drop(a);
        // Same size and alignment: the same block, zeroed as asked.
        let b = vec![0u64; n];
        assert_eq!(b.as_ptr() as usize, addr);
        assert!(b.iter().all(|&v| v == 0));
        // Growing past the cache's threshold keeps the contents.
        let mut c: Vec<u32> = (0..(MIN_BYTES / 4 - 10) as u32).collect();
        c.extend(0..100u32);
        assert_eq!(c[12345], 12345);
        assert_eq!(c[c.len() - 1], 99);
    }

    #[test]
    fn threads_never_share_a_block() {
        // Four threads allocate, fill, check and free blocks of three sizes, most of
        // them handed over through the cache: a block given to two owners at once
        // would show the other's pattern.
        let sizes = [(1 << 20) + 24, (2 << 20) + 24, (5 << 20) + 24];
        std::thread::scope(|scope| {
            for t in 0..4u64 {
                scope.spawn(move || {
                    for i in 0..60u64 {
                        let len = sizes[(i as usize + t as usize) % 3] / 8;
                        let tag = t * 1000 + i;
                        let v = vec![tag; len];
                        std::thread::yield_now();
                        assert!(v.iter().step_by(511).all(|&x| x == tag));
                        assert_eq!(v[len - 1], tag);
                    }
                });
            }
        });
        assert!(cached_bytes() <= CAP_BYTES);
    }

    #[test]
    fn a_fresh_allocation_replaces_cached_blocks_above_the_floor() {
        let _alone = ADDRESSES.lock();
        // 40 blocks of an odd 8 MB size freed: the cache holds more than KEEP_BYTES.
        let n = (8 << 20) / 8 + 29;
        let blocks: Vec<Vec<u64>> = (0..40).map(|_| vec![1u64; n]).collect();
        drop(blocks);
        let before = cached_bytes();
        assert!(before > KEEP_BYTES + (64 << 20), "{before}");
        // A 64 MB layout nothing cached has: at least 64 MB of the oldest blocks go
        // back first. (Other tests' frees meanwhile add at most a few blocks of 5 MB.)
        let fresh = vec![2u8; (64 << 20) + 13];
        let after = cached_bytes();
        assert!(
            after + (64 << 20) <= before + (30 << 20),
            "{before} -> {after}"
        );
        assert_eq!(fresh[fresh.len() - 1], 2);
        drop(fresh);
        // Below the floor again before the other test may run.
        empty();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_forked_while_another_thread_held_the_lock_can_allocate() {
        // Read before any fork, as the extension does when it loads (`tune_heap`).
        enabled();
        let child = || {
            let v = vec![1u8; (3 << 20) + 8];
            v[v.len() - 1] == 1
        };
        assert!(
            crate::spin_lock::fork_tests::fork_while_held(&CACHE, child),
            "the forked child waits forever for the cache's lock"
        );
    }
}
