//! Storage: a device buffer shared by a tensor and all its views, plus the version
//! counter that autograd uses to detect in-place changes to saved tensors.

use crate::device::Device;
use crate::error::{Error, Result};
use std::alloc::{self, Layout as AllocLayout};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;

/// Alignment of buffers rtorch allocates (past `SMALL` bytes): a cache line, and enough
/// for AVX-512 loads.
pub const ALIGN: usize = 64;

/// Buffers of a huge page or more are aligned to one, so that the huge pages the
/// allocator asks for cover all of them.
use crate::block_cache::HUGE;

/// Below this size a buffer gets the allocator's natural alignment: asking malloc for
/// 64-byte alignment goes through its slower memalign path, which showed up in the
/// per-op overhead of tiny tensors, and a few elements gain nothing from it.
const SMALL: usize = 256;

fn align_for(len: usize) -> usize {
    if len >= HUGE {
        HUGE
    } else if len >= SMALL {
        ALIGN
    } else {
        // The largest power of two <= len, at most 16: every dtype's element size is a
        // power of two dividing len, so this is always enough for the element type.
        (1usize << len.max(1).ilog2()).min(16)
    }
}

/// PyTorch's error when the CPU allocator cannot give `len` bytes.
fn out_of_memory(len: usize) -> Error {
    Error::Runtime(format!(
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate {len} bytes. Error code 12 (Cannot allocate memory)"
    ))
}

/// Bytes of CPU memory, owned by rtorch or borrowed from another owner (a numpy array).
///
/// The pointer can be re-pointed in place (`share_memory_` moves the bytes into a
/// shared mapping that every view must see), hence an atomic; reading it costs the same
/// as a plain load.
pub struct CpuBuffer {
    ptr: AtomicPtr<u8>,
    len: usize,
    owner: parking_lot::Mutex<Owner>,
}

enum Owner {
    /// The bytes of a small buffer, inside its storage's own allocation
    /// ([`Storage::cpu_alloc`]); nothing to free.
    Inline,
    /// Allocated here with `align_for(len)`; freed on drop.
    Rust,
    /// Memory kept alive by someone else (e.g. a numpy array), released by dropping this.
    External(#[allow(dead_code)] Box<dyn Any + Send + Sync>),
    /// A shared-memory mapping (`share_memory_`), unmapped on drop.
    #[cfg(target_os = "linux")]
    Shared(shm::Mapping),
}

/// Shared memory: an anonymous memory file (`memfd_create`) mapped `MAP_SHARED`. Forked
/// children share the pages; other processes receive the file descriptor (e.g. through
/// `multiprocessing`'s fd passing) and map it themselves.
#[cfg(target_os = "linux")]
pub mod shm {
    use crate::error::{Error, Result};

    pub struct Mapping {
        pub(super) fd: libc::c_int,
        pub(super) addr: *mut u8,
        pub(super) len: usize,
    }

    // SAFETY: an fd and a mapping address are plain data; access to the bytes follows
    // the same rules as any other CpuBuffer.
    unsafe impl Send for Mapping {}
    unsafe impl Sync for Mapping {}

    fn os_error(what: &str) -> Error {
        Error::Runtime(format!(
            "unable to {what} for shared memory: {}",
            std::io::Error::last_os_error()
        ))
    }

    impl Mapping {
        /// A new shared mapping of `len` (> 0) zeroed bytes.
        pub fn create(len: usize) -> Result<Mapping> {
            // SAFETY: plain system calls; every failure is checked and cleaned up.
            unsafe {
                let fd = libc::memfd_create(c"rtorch_shared".as_ptr(), libc::MFD_CLOEXEC);
                if fd < 0 {
                    return Err(os_error("create a memory file"));
                }
                if libc::ftruncate(fd, len as libc::off_t) != 0 {
                    let e = os_error("size the memory file");
                    libc::close(fd);
                    return Err(e);
                }
                let addr = libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                );
                if addr == libc::MAP_FAILED {
                    let e = os_error("map the memory file");
                    libc::close(fd);
                    return Err(e);
                }
                Ok(Mapping {
                    fd,
                    addr: addr as *mut u8,
                    len,
                })
            }
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: `addr..addr+len` and `fd` were created by `create` and are
            // released only here.
            unsafe {
                libc::munmap(self.addr as *mut libc::c_void, self.len);
                libc::close(self.fd);
            }
        }
    }
}

// SAFETY: a CpuBuffer is plain bytes plus an owner that is itself Send + Sync. Concurrent
// writes through two tensors sharing a buffer are a data race at the user level, exactly
// as in PyTorch; rtorch never does so itself (kernels write only to their outputs).
unsafe impl Send for CpuBuffer {}
unsafe impl Sync for CpuBuffer {}

impl CpuBuffer {
    pub fn alloc(len: usize, zeroed: bool) -> Result<CpuBuffer> {
        if len == 0 {
            // A dangling but aligned pointer: never dereferenced for zero bytes.
            let ptr = NonNull::new(ALIGN as *mut u8).expect("ALIGN is non-zero");
            return Ok(CpuBuffer::new(ptr, len, Owner::Rust));
        }
        // Sizes past isize::MAX have no layout; like a null from the allocator they
        // are a RuntimeError, never an abort.
        let layout =
            AllocLayout::from_size_align(len, align_for(len)).map_err(|_| out_of_memory(len))?;
        // SAFETY: layout has non-zero size (len > 0 checked above). (Large freed
        // buffers come back from the allocator's cache, `block_cache.rs`.)
        let raw = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(raw).ok_or_else(|| out_of_memory(len))?;
        if zeroed {
            // SAFETY: `ptr` is an allocation of exactly `len` writable bytes, ours alone
            // (fresh, or a freed block the allocator's cache handed over).
            unsafe { zero_bytes(ptr.as_ptr(), len) };
        }
        Ok(CpuBuffer::new(ptr, len, Owner::Rust))
    }

    fn new(ptr: NonNull<u8>, len: usize, owner: Owner) -> CpuBuffer {
        CpuBuffer {
            ptr: AtomicPtr::new(ptr.as_ptr()),
            len,
            owner: parking_lot::Mutex::new(owner),
        }
    }

    /// Wraps memory owned elsewhere.
    ///
    /// # Safety
    /// `ptr` must be valid for reads and writes of `len` bytes for as long as `owner`
    /// lives, and suitably aligned for the dtype it will be read as.
    pub unsafe fn from_external(
        ptr: *mut u8,
        len: usize,
        owner: Box<dyn Any + Send + Sync>,
    ) -> CpuBuffer {
        let ptr = NonNull::new(ptr).unwrap_or(NonNull::dangling());
        CpuBuffer::new(ptr, len, Owner::External(owner))
    }

    #[inline]
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.load(Ordering::Relaxed)
    }

    /// True when the bytes are rtorch's own (not borrowed, not shared with another
    /// process).
    fn owns_memory(&self) -> bool {
        matches!(*self.owner.lock(), Owner::Rust | Owner::Inline)
    }

    /// True when the bytes live in a shared-memory mapping.
    pub fn is_shared(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            matches!(*self.owner.lock(), Owner::Shared(_))
        }
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// The shared-memory file descriptor, when shared.
    pub fn shared_fd(&self) -> Option<i32> {
        #[cfg(target_os = "linux")]
        if let Owner::Shared(m) = &*self.owner.lock() {
            return Some(m.fd);
        }
        None
    }

    /// Moves the bytes into shared memory in place: the pointer every view reads is
    /// re-pointed at a shared mapping holding a copy of the data. No-op when already
    /// shared or empty.
    #[cfg(target_os = "linux")]
    pub fn share_memory(&self) -> Result<()> {
        let mut owner = self.owner.lock();
        if matches!(*owner, Owner::Shared(_)) || self.len == 0 {
            return Ok(());
        }
        let map = shm::Mapping::create(self.len)?;
        let old = self.as_ptr();
        // SAFETY: both regions are `len` bytes, distinct allocations. A concurrent
        // write through another thread during the move is a user-level race, as in
        // PyTorch.
        unsafe { std::ptr::copy_nonoverlapping(old, map.addr, self.len) };
        self.ptr.store(map.addr, Ordering::Release);
        let previous = std::mem::replace(&mut *owner, Owner::Shared(map));
        release(old, self.len, previous);
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    pub fn share_memory(&self) -> Result<()> {
        Err(Error::NotImplemented(
            "share_memory_ is only implemented on Linux".into(),
        ))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Frees memory at `ptr` of `len` bytes as its owner requires.
fn release(ptr: *mut u8, len: usize, owner: Owner) {
    if let Owner::Rust = owner {
        if len > 0 {
            dealloc_rust(ptr, len);
        }
    }
    // Other owners release their memory when dropped here.
}

/// Frees a buffer that `CpuBuffer::alloc` allocated with `len` bytes.
fn dealloc_rust(ptr: *mut u8, len: usize) {
    let layout =
        AllocLayout::from_size_align(len, align_for(len)).expect("layout was valid at allocation");
    // SAFETY: allocated in `alloc` with exactly this layout (the layout is a function of
    // `len`), and freed once, by the buffer's drop.
    unsafe { alloc::dealloc(ptr, layout) };
}

/// Returns every buffer held by the allocator's block cache to the system; the bytes
/// they held.
pub fn empty_cpu_block_cache() -> usize {
    crate::block_cache::empty()
}

impl Drop for CpuBuffer {
    fn drop(&mut self) {
        let owner = std::mem::replace(self.owner.get_mut(), Owner::Rust);
        let ptr = *self.ptr.get_mut();
        if let Owner::Rust = owner {
            release(ptr, self.len, owner);
        } else {
            drop(owner);
        }
    }
}

pub enum Buffer {
    Cpu(CpuBuffer),
    /// A meta storage: its size in bytes, and no memory behind it.
    Meta(usize),
}

/// The error for copying the values out of a meta tensor (PyTorch's words).
pub fn no_meta_data() -> Error {
    Error::NotImplemented("Cannot copy out of meta tensor; no data!".into())
}

/// The error for an op whose kernel would need the values of a meta tensor: it has no
/// meta implementation (yet) that computes the result's shape alone.
pub fn no_meta_kernel() -> Error {
    Error::NotImplemented(
        "this op has no implementation for the 'meta' device in rtorch: it would need the values of a meta tensor, which has none".into(),
    )
}

pub struct StorageInner {
    buffer: Buffer,
    version: AtomicU64,
    /// The bytes of a buffer of at most [`INLINE`] bytes (see [`Storage::cpu_alloc`]).
    inline: InlineBytes,
}

/// Buffers up to this size live inside their storage's allocation: scalars, losses and
/// the small tensors of per-op-overhead-bound code then cost one allocation less each
/// (a malloc and a free were a tenth of `a + b` on 4 elements).
const INLINE: usize = 64;

/// 16-byte aligned, like a small heap buffer (`align_for` asks no more below 256 bytes).
#[repr(C, align(16))]
struct InlineBytes(std::cell::UnsafeCell<[u8; INLINE]>);

// SAFETY: the bytes are only reached through the storage's CpuBuffer pointer, under the
// same contract as a heap buffer's (see CpuBuffer's Send/Sync above).
unsafe impl Sync for InlineBytes {}

/// A cheap, shared handle to a buffer.
#[derive(Clone)]
pub struct Storage(Arc<StorageInner>);

impl Storage {
    pub fn cpu(buffer: CpuBuffer) -> Storage {
        Storage::build(Buffer::Cpu(buffer))
    }

    /// A new storage, its fields written straight into the Arc's allocation: built on
    /// the stack and moved, the 128-byte StorageInner cost a `memcpy` call per op.
    fn build(buffer: Buffer) -> Storage {
        let arc = Arc::<StorageInner>::new_uninit();
        let p = Arc::as_ptr(&arc).cast_mut().cast::<StorageInner>();
        // Every field by name: a field added to StorageInner fails to compile here until
        // it is written below too.
        let _ = |s: &StorageInner| {
            let StorageInner {
                buffer: _,
                version: _,
                inline: _,
            } = s;
        };
        // SAFETY: `arc` is fresh from `new_uninit`: no other Arc, Weak or reference to
        // its value exists, so writing through `p` races with nothing. `Arc::as_ptr` derives
        // the pointer from the allocation's own raw pointer, keeping write provenance
        // (std's source says it must, for `get_mut` after `from_raw`); `Arc::get_mut`
        // would do too but costs an atomic compare-exchange per tensor. Each field of the
        // aligned StorageInner is written exactly once through a raw field pointer (the
        // inline bytes zeroed in place), so nothing uninitialised is read, referenced or
        // dropped; after that the value is initialised and `assume_init` is sound.
        unsafe {
            std::ptr::addr_of_mut!((*p).buffer).write(buffer);
            std::ptr::addr_of_mut!((*p).version).write(AtomicU64::new(0));
            std::ptr::addr_of_mut!((*p).inline).write_bytes(0, 1);
            Storage(arc.assume_init())
        }
    }

    /// A fresh CPU storage of `len` bytes, zero-filled when `zeroed` (otherwise the
    /// caller overwrites every byte before reading). Up to [`INLINE`] bytes are kept in
    /// the storage's own allocation.
    pub fn cpu_alloc(len: usize, zeroed: bool) -> Result<Storage> {
        if len == 0 || len > INLINE {
            return Ok(Storage::cpu(CpuBuffer::alloc(len, zeroed)?));
        }
        let s = Storage::cpu(CpuBuffer::new(NonNull::dangling(), len, Owner::Inline));
        if let Buffer::Cpu(b) = &s.0.buffer {
            // The Arc never moves its contents, so the bytes stay where this points for
            // as long as the buffer (a field of the same allocation) exists. (Zeroed
            // either way: `build` zeroes the inline bytes.)
            b.ptr.store(s.0.inline.0.get().cast(), Ordering::Relaxed);
        }
        Ok(s)
    }

    pub fn meta(nbytes: usize) -> Storage {
        Storage::build(Buffer::Meta(nbytes))
    }

    #[inline]
    pub fn device(&self) -> Device {
        match self.0.buffer {
            Buffer::Cpu(_) => Device::Cpu,
            Buffer::Meta(_) => Device::Meta,
        }
    }

    pub fn nbytes(&self) -> usize {
        match &self.0.buffer {
            Buffer::Cpu(b) => b.len(),
            Buffer::Meta(n) => *n,
        }
    }

    /// Base pointer of a CPU storage; an error for a storage without CPU memory.
    #[inline]
    pub fn cpu_ptr(&self) -> Result<*mut u8> {
        match &self.0.buffer {
            Buffer::Cpu(b) => Ok(b.as_ptr()),
            Buffer::Meta(_) => Err(no_meta_kernel()),
        }
    }

    /// True when this handle is the only way to the bytes: no other handle to the
    /// storage (strong or weak), and memory rtorch owns (no numpy array or other process
    /// sees it).
    pub fn is_sole_owner(&self) -> bool {
        Arc::strong_count(&self.0) == 1
            && Arc::weak_count(&self.0) == 0
            && match &self.0.buffer {
                Buffer::Cpu(b) => b.owns_memory(),
                Buffer::Meta(_) => true,
            }
    }

    pub fn is_shared(&self) -> bool {
        match &self.0.buffer {
            Buffer::Cpu(b) => b.is_shared(),
            Buffer::Meta(_) => false,
        }
    }

    /// The file descriptor of a shared storage's memory file (owned by the storage).
    pub fn shared_fd(&self) -> Option<i32> {
        match &self.0.buffer {
            Buffer::Cpu(b) => b.shared_fd(),
            Buffer::Meta(_) => None,
        }
    }

    /// `share_memory_()`: moves the storage into shared memory in place (nothing to
    /// move for a meta storage).
    pub fn share_memory(&self) -> Result<()> {
        match &self.0.buffer {
            Buffer::Cpu(b) => b.share_memory(),
            Buffer::Meta(_) => Ok(()),
        }
    }

    pub fn version(&self) -> u64 {
        self.0.version.load(Ordering::Relaxed)
    }

    pub fn bump_version(&self) {
        self.0.version.fetch_add(1, Ordering::Relaxed);
    }

    pub fn same(&self, other: &Storage) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Identity for sharing detection (serialization groups views by storage).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

/// Bytes per task of a parallel zero fill, and the size from which it goes parallel (one
/// thread's `memset` of the 4 MB gradient of a (1024, 1000) `gather` was a quarter of
/// an `nll_loss` backward).
const ZERO_CHUNK: usize = 1 << 18;
const ZERO_PARALLEL: usize = 1 << 20;

/// `len` zero bytes from `ptr`, split over the pool's threads when large.
///
/// # Safety
/// `ptr` is valid for writes of `len` bytes that nothing else reads or writes meanwhile.
unsafe fn zero_bytes(ptr: *mut u8, len: usize) {
    let base = crate::cpu::SendPtr(ptr);
    if len < ZERO_PARALLEL || crate::cpu::get_num_threads() <= 1 {
        // SAFETY: the caller's contract.
        unsafe { std::ptr::write_bytes(ptr, 0, len) };
        return;
    }
    crate::cpu::par_for(len.div_ceil(ZERO_CHUNK), &|c| {
        let start = c * ZERO_CHUNK;
        let n = ZERO_CHUNK.min(len - start);
        // SAFETY: chunk `c` lies inside the caller's range, and each task writes its own.
        unsafe { std::ptr::write_bytes(base.get().add(start), 0, n) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_buffers_are_zero_even_from_a_reused_block() {
        // 3 MiB + 5 bytes: the parallel fill with a short last chunk. The first buffer
        // is dirtied and freed, so the second may be the same block from the cache.
        let len = (3 << 20) + 5;
        for _ in 0..2 {
            let b = CpuBuffer::alloc(len, true).expect("alloc");
            let p = b.ptr.load(Ordering::Relaxed);
            // SAFETY: `b` owns `len` writable bytes at `p`.
            let bytes = unsafe { std::slice::from_raw_parts_mut(p, len) };
            assert!(bytes.iter().all(|&x| x == 0));
            bytes.fill(0xFF);
        }
    }

    #[test]
    fn small_buffers_are_aligned_for_their_elements() {
        assert_eq!(align_for(1), 1);
        assert_eq!(align_for(4), 4);
        assert_eq!(align_for(12), 8);
        assert_eq!(align_for(24), 16);
        assert_eq!(align_for(255), 16);
        assert_eq!(align_for(256), ALIGN);
        assert_eq!(align_for(HUGE), HUGE);
        for len in [1, 3, 8, 12, 100, 300] {
            let b = CpuBuffer::alloc(len, true).unwrap();
            assert_eq!(b.as_ptr() as usize % align_for(len), 0);
        }
    }

    #[test]
    fn inline_buffers_are_aligned_zeroed_and_separate() {
        for len in [1, 4, 8, 16, 24, 63, 64, 65, 256] {
            let a = Storage::cpu_alloc(len, false).unwrap();
            let b = Storage::cpu_alloc(len, true).unwrap();
            let (pa, pb) = (a.cpu_ptr().unwrap(), b.cpu_ptr().unwrap());
            assert_eq!(pa as usize % align_for(len), 0);
            assert_eq!(a.nbytes(), len);
            // SAFETY: each pointer is a live buffer of `len` bytes.
            unsafe {
                assert!(std::slice::from_raw_parts(pb, len).iter().all(|&x| x == 0));
                std::ptr::write_bytes(pa, 0xAB, len);
                assert!(std::slice::from_raw_parts(pb, len).iter().all(|&x| x == 0));
            }
            // The bytes move with the storage handle's clones, not with copies of it.
            let a2 = a.clone();
            assert_eq!(a2.cpu_ptr().unwrap(), pa);
            a.share_memory().unwrap();
            // SAFETY: re-pointed at the shared mapping of the same length.
            let shared = unsafe { std::slice::from_raw_parts(a2.cpu_ptr().unwrap(), len) };
            assert!(shared.iter().all(|&x| x == 0xAB));
        }
    }
}
