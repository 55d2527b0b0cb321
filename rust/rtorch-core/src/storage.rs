//! Storage: a device buffer shared by a tensor and all its views, plus the version
//! counter that autograd uses to detect in-place changes to saved tensors.

use crate::device::Device;
use crate::error::{Error, Result};
use std::alloc::{self, Layout as AllocLayout};
use std::any::Any;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Alignment of buffers rtorch allocates (past `SMALL` bytes): a cache line, and enough
/// for AVX-512 loads.
pub const ALIGN: usize = 64;

/// Buffers this large are aligned to a 2 MiB huge page and offered to the kernel as
/// huge-page candidates: a fresh 64 MB kernel output otherwise costs 16k page faults,
/// which dominated `x + y` on large tensors.
const HUGE: usize = 2 << 20;

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

#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, len: usize) {
    if len >= HUGE {
        // SAFETY: `ptr..ptr+len` is one live allocation of ours, 2 MiB aligned;
        // MADV_HUGEPAGE only changes how the kernel backs it (failure is harmless).
        unsafe {
            libc::madvise(ptr as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _len: usize) {}

/// Bytes of CPU memory, owned by rtorch or borrowed from another owner (a numpy array).
pub struct CpuBuffer {
    ptr: NonNull<u8>,
    len: usize,
    owner: Owner,
}

enum Owner {
    /// Allocated here with `align_for(len)`; freed on drop.
    Rust,
    /// Memory kept alive by someone else (e.g. a numpy array), released by dropping this.
    External(#[allow(dead_code)] Box<dyn Any + Send + Sync>),
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
            return Ok(CpuBuffer {
                ptr,
                len,
                owner: Owner::Rust,
            });
        }
        let layout = AllocLayout::from_size_align(len, align_for(len))
            .map_err(|_| Error::Runtime(format!("cannot allocate {len} bytes")))?;
        // SAFETY: layout has non-zero size (len > 0 checked above).
        let raw = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(raw).ok_or_else(|| {
            Error::Runtime(format!(
                "DefaultCPUAllocator: not enough memory: you tried to allocate {len} bytes."
            ))
        })?;
        // Advise before the first touch, so zero-filling already faults in huge pages.
        advise_huge_pages(ptr.as_ptr(), len);
        if zeroed {
            // SAFETY: `ptr` is a fresh allocation of exactly `len` writable bytes.
            unsafe { std::ptr::write_bytes(ptr.as_ptr(), 0, len) };
        }
        Ok(CpuBuffer {
            ptr,
            len,
            owner: Owner::Rust,
        })
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
        CpuBuffer {
            ptr,
            len,
            owner: Owner::External(owner),
        }
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for CpuBuffer {
    fn drop(&mut self) {
        if let Owner::Rust = self.owner {
            if self.len > 0 {
                let layout = AllocLayout::from_size_align(self.len, align_for(self.len))
                    .expect("layout was valid at allocation");
                // SAFETY: allocated in `alloc` with exactly this layout.
                unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) };
            }
        }
    }
}

pub enum Buffer {
    Cpu(CpuBuffer),
}

pub struct StorageInner {
    buffer: Buffer,
    version: AtomicU64,
}

/// A cheap, shared handle to a buffer.
#[derive(Clone)]
pub struct Storage(Arc<StorageInner>);

impl Storage {
    pub fn cpu(buffer: CpuBuffer) -> Storage {
        Storage(Arc::new(StorageInner {
            buffer: Buffer::Cpu(buffer),
            version: AtomicU64::new(0),
        }))
    }

    pub fn device(&self) -> Device {
        match self.0.buffer {
            Buffer::Cpu(_) => Device::Cpu,
        }
    }

    pub fn nbytes(&self) -> usize {
        match &self.0.buffer {
            Buffer::Cpu(b) => b.len(),
        }
    }

    /// Base pointer of a CPU storage.
    pub fn cpu_ptr(&self) -> Result<*mut u8> {
        match &self.0.buffer {
            Buffer::Cpu(b) => Ok(b.as_ptr()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
