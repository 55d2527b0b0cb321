//! `Tensor`: a cheap handle to storage + layout + dtype + autograd metadata.

use crate::autograd::view::ViewInfo;
use crate::autograd::{AutogradMeta, Node};
use crate::cpu::view::{View, ViewMut};
use crate::device::{Backend, Device};
use crate::dtype::{DType, Scalar};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::layout::{Dims, Layout};
use crate::storage::Storage;
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct TensorImpl {
    storage: Storage,
    layout: Layout,
    dtype: DType,
    /// None until the tensor takes part in autograd (requires_grad, grad, grad_fn, hooks).
    autograd: MetaSlot,
    /// Set on the results of view ops: the base they view (see `autograd::view`).
    view: Option<ViewInfo>,
}

/// A reference-counted tensor. Cloning shares everything, including autograd state:
/// it is the same tensor, like a second Python reference.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorImpl>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor(shape={:?}, dtype={}, device={})",
            &self.shape()[..],
            self.dtype().name(),
            self.device()
        )
    }
}

thread_local! {
    /// The memory an [`OutTarget`] offers, while it lives.
    static OUT_TARGET: std::cell::Cell<Option<Tensor>> = const { std::cell::Cell::new(None) };
}

/// How many [`OutTarget`]s live, on all threads: while none does, an allocation skips
/// the thread-local lookup (a `__tls_get_addr` call in the extension, on every op).
static OUT_TARGETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// While alive, offers a tensor's memory to the first fresh uninitialised tensor of its
/// shape, dtype and device that this thread allocates (`Tensor::uninit`): the result of
/// an op called with `out=` is then computed where it belongs, instead of into a new
/// tensor copied there afterwards. Whatever the op writes there first (its result, or an
/// intermediate of the same shape that it later replaces) is garbage to `out=`, which
/// checks afterwards whether the result is the offered memory.
///
/// Only a contiguous tensor at offset 0 is taken: the fresh tensor then covers the same
/// elements as a fresh allocation would (kernels may lay an output's elements out in
/// another order over `0..numel`). The caller must make sure that the op reads nothing
/// in that memory (no input shares its storage) and that an in-place write to the
/// tensor is allowed (autograd).
pub struct OutTarget(());

impl OutTarget {
    pub fn offer(t: &Tensor) -> OutTarget {
        OUT_TARGETS.fetch_add(1, Ordering::Relaxed);
        OUT_TARGET.with(|c| c.set(Some(t.clone())));
        OutTarget(())
    }

    /// The offered memory as a new tensor, if it fits; the offer ends when taken.
    #[inline]
    fn take(shape: &[usize], dtype: DType, device: Device) -> Option<Tensor> {
        // (Relaxed: this thread's own offer, if any, was counted by this thread.)
        if OUT_TARGETS.load(Ordering::Relaxed) == 0 {
            return None;
        }
        OUT_TARGET.with(|c| {
            let t = c.take()?;
            let fits = t.dtype() == dtype
                && t.device() == device
                && t.offset() == 0
                && &t.shape()[..] == shape
                && t.is_contiguous();
            if fits {
                Some(Tensor::from_parts(
                    t.storage().clone(),
                    t.layout().clone(),
                    dtype,
                ))
            } else {
                c.set(Some(t));
                None
            }
        })
    }
}

impl Drop for OutTarget {
    fn drop(&mut self) {
        OUT_TARGET.with(|c| drop(c.take()));
        OUT_TARGETS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Tensor {
    pub fn from_parts(storage: Storage, layout: Layout, dtype: DType) -> Tensor {
        Tensor::build(storage, layout, dtype, None)
    }

    /// A new tensor, its fields written straight into the Arc's allocation: built on the
    /// stack and moved, the ~200-byte TensorImpl cost a `memcpy` call per op (with
    /// the storage's, 7% of `a + b` on 4 elements).
    fn build(storage: Storage, layout: Layout, dtype: DType, view: Option<ViewInfo>) -> Tensor {
        let arc = Arc::<TensorImpl>::new_uninit();
        let p = Arc::as_ptr(&arc).cast_mut().cast::<TensorImpl>();
        let Layout {
            shape,
            strides,
            offset,
        } = layout;
        // Every field by name: a field added to TensorImpl fails to compile here until
        // it is written below too.
        let _ = |t: &TensorImpl| {
            let TensorImpl {
                storage: _,
                layout:
                    Layout {
                        shape: _,
                        strides: _,
                        offset: _,
                    },
                dtype: _,
                autograd: _,
                view: _,
            } = t;
        };
        // SAFETY: `arc` is fresh from `new_uninit`: no other Arc, Weak or reference to
        // its value exists, so writing through `p` races with nothing. `Arc::as_ptr` derives
        // the pointer from the allocation's own raw pointer, keeping write provenance
        // (std's source says it must, for `get_mut` after `from_raw`); `Arc::get_mut`
        // would do too but costs an atomic compare-exchange per tensor. Each field of the
        // aligned TensorImpl is written exactly once through a raw field pointer (the
        // layout by its parts), so nothing uninitialised is read, referenced or dropped;
        // after that the value is initialised and `assume_init` is sound.
        unsafe {
            std::ptr::addr_of_mut!((*p).storage).write(storage);
            std::ptr::addr_of_mut!((*p).layout.shape).write(shape);
            std::ptr::addr_of_mut!((*p).layout.strides).write(strides);
            std::ptr::addr_of_mut!((*p).layout.offset).write(offset);
            std::ptr::addr_of_mut!((*p).dtype).write(dtype);
            std::ptr::addr_of_mut!((*p).autograd).write(MetaSlot::new());
            std::ptr::addr_of_mut!((*p).view).write(view);
            Tensor(arc.assume_init())
        }
    }

    /// Uninitialised memory is never exposed: `empty` zero-fills, as the cost is small
    /// next to the safety of never reading stale bytes.
    pub fn empty(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Self::alloc(shape, dtype, device, true)
    }

    /// A contiguous tensor whose every element the caller will overwrite before anyone
    /// reads it (kernel outputs). Skips the zero fill.
    pub(crate) fn uninit(shape: &[usize], dtype: DType, device: Device) -> Result<Tensor> {
        Self::alloc(shape, dtype, device, false)
    }

    /// An elementwise op's output, like `uninit` but laid out in the memory order of the
    /// op's `inputs` (see [`crate::layout::elementwise_strides`]), as PyTorch does.
    pub(crate) fn uninit_for(
        shape: &[usize],
        dtype: DType,
        device: Device,
        inputs: &[&Tensor],
    ) -> Result<Tensor> {
        if inputs.iter().all(|x| x.is_contiguous()) {
            return Self::uninit(shape, dtype, device);
        }
        let layouts: smallvec::SmallVec<[&Layout; 4]> =
            inputs.iter().map(|x| &x.0.layout).collect();
        Ok(match crate::layout::elementwise_strides(shape, &layouts) {
            None => Self::uninit(shape, dtype, device)?,
            Some(strides) => {
                // (Not into an `OutTarget`'s memory: that is laid out row-major.)
                let t = Self::alloc_fresh(shape, dtype, device, false)?;
                // The same storage of numel elements, visited in another order: the strides
                // are a permutation of a dense row-major layout, so every index is inside.
                let layout = Layout {
                    shape: shape.into(),
                    strides,
                    offset: 0,
                };
                Tensor::from_parts(t.0.storage.clone(), layout, dtype)
            }
        })
    }

    fn alloc(shape: &[usize], dtype: DType, device: Device, zeroed: bool) -> Result<Tensor> {
        if !zeroed {
            if let Some(t) = OutTarget::take(shape, dtype, device) {
                return Ok(t);
            }
        }
        Self::alloc_fresh(shape, dtype, device, zeroed)
    }

    /// `alloc` in new memory, whatever an `OutTarget` offers.
    fn alloc_fresh(shape: &[usize], dtype: DType, device: Device, zeroed: bool) -> Result<Tensor> {
        let nbytes = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size()))
            .ok_or_else(|| crate::layout::extent_overflow(shape, None))?;
        let storage = match device {
            Device::Cpu => Storage::cpu_alloc(nbytes, zeroed)?,
            Device::Meta => Storage::meta(nbytes),
            Device::Cuda(_) => {
                return Err(Error::Runtime(format!(
                    "rtorch was built without CUDA support; cannot create a tensor on {device}"
                )))
            }
        };
        Ok(Tensor::from_parts(
            storage,
            Layout::contiguous(shape),
            dtype,
        ))
    }

    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::empty(shape, dtype, Device::Cpu)
    }

    pub fn full(shape: &[usize], value: Scalar, dtype: DType) -> Result<Tensor> {
        Tensor::full_on(shape, value, dtype, Device::Cpu)
    }

    /// `full` on `device` (on `meta`: the shape and dtype, no values).
    pub fn full_on(shape: &[usize], value: Scalar, dtype: DType, device: Device) -> Result<Tensor> {
        let t = Tensor::uninit(shape, dtype, device)?;
        crate::ops::map::fill(&t, value)?;
        Ok(t)
    }

    pub fn scalar(value: Scalar, dtype: DType) -> Result<Tensor> {
        Tensor::full(&[], value, dtype)
    }

    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Tensor> {
        if data.len() != crate::layout::numel(shape) {
            return Err(Error::Runtime(format!(
                "from_vec: {} values for shape {}",
                data.len(),
                crate::layout::fmt_shape(shape)
            )));
        }
        let t = Tensor::uninit(shape, T::DTYPE, Device::Cpu)?;
        // SAFETY: `t` is a fresh contiguous buffer of exactly data.len() elements of T.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), t.data_ptr::<T>()?, data.len());
        }
        Ok(t)
    }

    // ----- layout and storage -----

    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }

    #[inline]
    pub fn shape(&self) -> &Dims {
        &self.0.layout.shape
    }

    #[inline]
    pub fn strides(&self) -> &Dims {
        &self.0.layout.strides
    }

    pub fn offset(&self) -> usize {
        self.0.layout.offset
    }

    #[inline]
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    #[inline]
    pub fn device(&self) -> Device {
        self.0.storage.device()
    }

    pub fn dim(&self) -> usize {
        self.0.layout.ndim()
    }

    #[inline]
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }

    #[inline]
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }

    /// The size of `dim` (negative dims count from the end).
    pub fn size(&self, dim: i64) -> Result<usize> {
        if self.dim() == 0 {
            return Err(Error::Index(format!(
                "Dimension specified as {dim} but tensor has no dimensions"
            )));
        }
        Ok(self.shape()[self.0.layout.dim(dim)?])
    }

    /// Identity of this tensor object (not of its storage).
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    pub fn downgrade(&self) -> std::sync::Weak<TensorImpl> {
        Arc::downgrade(&self.0)
    }

    pub fn same(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A new tensor object over the same storage with another layout, without autograd
    /// history (ops that make views attach their own).
    pub fn with_layout(&self, layout: Layout) -> Tensor {
        Tensor::from_parts(self.0.storage.clone(), layout, self.0.dtype)
    }

    /// The result of a view op: `layout` over this tensor's storage, remembering the
    /// base (this tensor, or its own base if it is a view) for autograd.
    pub fn make_view(&self, layout: Layout) -> Tensor {
        let base = self.view_base().unwrap_or(self).clone();
        Tensor::build(
            self.0.storage.clone(),
            layout,
            self.0.dtype,
            Some(ViewInfo::new(base)),
        )
    }

    pub fn view_info(&self) -> Option<&ViewInfo> {
        self.0.view.as_ref()
    }

    /// The tensor this one is a view of (`_base`).
    pub fn view_base(&self) -> Option<&Tensor> {
        self.0.view.as_ref().map(|v| &v.base)
    }

    /// Re-derives a view's history from its base when the storage was written since
    /// it was last derived. Every read of autograd history goes through here first.
    #[inline]
    pub(crate) fn sync_view(&self) {
        if let Some(v) = &self.0.view {
            if v.is_stale(self.storage().version()) {
                crate::autograd::view::rederive(self, v);
            }
        }
    }

    /// Pointer to the first element (storage base + offset) of a CPU tensor; an error
    /// for a tensor whose values are not in CPU memory (the meta device has none).
    ///
    /// The caller must use it only within the layout's extent, and T must be this
    /// tensor's element type.
    #[inline]
    pub fn data_ptr<T: Element>(&self) -> Result<*mut T> {
        debug_assert_eq!(T::DTYPE, self.dtype());
        let base = self.0.storage.cpu_ptr()?;
        // SAFETY: offset lies within the storage (a layout invariant).
        Ok(unsafe { (base as *mut T).add(self.0.layout.offset) })
    }

    /// The elements as a slice, when contiguous on the CPU.
    ///
    /// Callers must not hold it across an op that writes to this storage.
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        if T::DTYPE != self.dtype() || !self.is_contiguous() {
            return None;
        }
        let p = self.data_ptr::<T>().ok()?;
        // SAFETY: contiguous layout -> numel elements from data_ptr are inside storage.
        Some(unsafe { std::slice::from_raw_parts(p, self.numel()) })
    }

    /// A zero-dim CPU tensor (or a broadcast view of one): it may take part in an op
    /// on another device, as a Python scalar would.
    pub(crate) fn is_cpu_scalar(&self) -> bool {
        self.device() == Device::Cpu && self.strides().iter().all(|&s| s == 0)
    }

    /// The device of an op's result: that of its first operand that is not a CPU
    /// scalar (see `is_cpu_scalar`), else the CPU.
    pub fn result_device(inputs: &[&Tensor]) -> Device {
        inputs
            .iter()
            .find(|t| !t.is_cpu_scalar())
            .map_or(Device::Cpu, |t| t.device())
    }

    /// Whether a kernel has values to compute for `out` from `inputs`: true on the CPU,
    /// false on the meta device; the errors of [`Backend::of`].
    pub fn has_values(out: &Tensor, inputs: &[&Tensor]) -> Result<bool> {
        Ok(Backend::of(out, inputs)? == Backend::Cpu)
    }

    /// A typed view of the elements for a CPU kernel: with [`Tensor::cpu_view_mut`], the
    /// one way CPU kernels reach a tensor's memory. A tensor on another device, or of
    /// another dtype than `T`, is an error (never a null pointer or an empty view).
    #[inline]
    pub fn cpu_view<T: Element>(&self) -> Result<View<'_, T>> {
        let p = self.checked_ptr::<T>(self.dtype())?;
        // SAFETY: `p` is the element at the layout's offset; the layout keeps every
        // reachable element inside the storage, which `self` keeps alive for the view's
        // lifetime.
        Ok(unsafe { View::new(p, &self.0.layout) })
    }

    /// A typed writable view for a CPU kernel's output; checks as [`Tensor::cpu_view`].
    #[inline]
    pub fn cpu_view_mut<T: Element>(&self) -> Result<ViewMut<'_, T>> {
        let p = self.checked_ptr::<T>(self.dtype())?;
        // SAFETY: as `cpu_view`; storage is a shared buffer that ops may write (the
        // version counter, not the borrow checker, tracks writes).
        Ok(unsafe { ViewMut::new(p, &self.0.layout) })
    }

    /// The elements' bits as `T`, the integer type of their size ([`DType::bits`]), for
    /// a kernel that only moves elements (see `dispatch_bits!`): any bit pattern is a
    /// valid integer, so reading is always sound.
    #[inline]
    pub fn cpu_bits_view<T: Element>(&self) -> Result<View<'_, T>> {
        let p = self.checked_ptr::<T>(self.dtype().bits())?;
        // SAFETY: as `cpu_view`: `T` has the element size, so the layout's elements are
        // `T`s inside the storage.
        Ok(unsafe { View::new(p, &self.0.layout) })
    }

    /// A writable [`Tensor::cpu_bits_view`]. The kernel may write only bit patterns it
    /// read from a tensor of this dtype, or zeros (zero bits are every dtype's zero):
    /// any other pattern could be no value of the dtype (a bool byte other than 0 or 1).
    #[inline]
    pub fn cpu_bits_view_mut<T: Element>(&self) -> Result<ViewMut<'_, T>> {
        let p = self.checked_ptr::<T>(self.dtype().bits())?;
        // SAFETY: as `cpu_view_mut`, with `T` of the element size (as `cpu_bits_view`).
        Ok(unsafe { ViewMut::new(p, &self.0.layout) })
    }

    /// The first element as a `T`, where `T` is the kernel's type for the stored dtype,
    /// `as_dtype` (the dtype itself, or its [`DType::bits`]).
    #[inline]
    fn checked_ptr<T: Element>(&self, as_dtype: DType) -> Result<*mut T> {
        if T::DTYPE != as_dtype {
            return Err(wrong_kernel_dtype(T::DTYPE, as_dtype));
        }
        let base = self.0.storage.cpu_ptr()?;
        // SAFETY: offset lies within the storage (a layout invariant), counted in
        // elements of the dtype's size, which is `T`'s.
        Ok(unsafe { (base as *mut T).add(self.0.layout.offset) })
    }

    /// The elements as a slice, for a CPU kernel: a `RuntimeError` (never an empty
    /// slice) for a tensor on another device, of another dtype, or not contiguous.
    ///
    /// Callers must not hold it across an op that writes to this storage.
    pub fn cpu_slice<T: Element>(&self) -> Result<&[T]> {
        self.checked_slice::<T>(self.dtype())
    }

    /// The elements' bits as a slice of `T`, the integer type of their size; as
    /// [`Tensor::cpu_slice`] and [`Tensor::cpu_bits_view`].
    pub fn cpu_bits_slice<T: Element>(&self) -> Result<&[T]> {
        self.checked_slice::<T>(self.dtype().bits())
    }

    /// The elements as a mutable slice, for a CPU kernel writing a tensor it owns: the
    /// same checks and errors as [`Tensor::cpu_slice`].
    ///
    /// # Safety
    /// Nothing else may read or write this tensor's storage while the slice lives
    /// (typically: `self` is a fresh output that no other tensor shares yet).
    #[allow(clippy::mut_from_ref)] // the storage is a shared buffer; see Safety
    pub unsafe fn cpu_slice_mut<T: Element>(&self) -> Result<&mut [T]> {
        let s = self.checked_slice::<T>(self.dtype())?;
        // SAFETY: `checked_slice` checked device, dtype and contiguity; exclusivity is
        // the caller's contract.
        Ok(unsafe { std::slice::from_raw_parts_mut(s.as_ptr() as *mut T, s.len()) })
    }

    /// A mutable [`Tensor::cpu_bits_slice`]; the kernel writes as
    /// [`Tensor::cpu_bits_view_mut`] says.
    ///
    /// # Safety
    /// As [`Tensor::cpu_slice_mut`].
    #[allow(clippy::mut_from_ref)] // the storage is a shared buffer; see Safety
    pub unsafe fn cpu_bits_slice_mut<T: Element>(&self) -> Result<&mut [T]> {
        let s = self.checked_slice::<T>(self.dtype().bits())?;
        // SAFETY: as `cpu_slice_mut`.
        Ok(unsafe { std::slice::from_raw_parts_mut(s.as_ptr() as *mut T, s.len()) })
    }

    /// The elements as `T`s, where `T` is the kernel's type for the stored dtype `as_dtype`
    /// (the dtype itself, or its [`DType::bits`]).
    fn checked_slice<T: Element>(&self, as_dtype: DType) -> Result<&[T]> {
        if self.device() == Device::Meta {
            return Err(crate::storage::no_meta_kernel());
        }
        if self.device() != Device::Cpu {
            return Err(Error::Runtime(format!(
                "expected a CPU tensor for a CPU kernel, but got a tensor on {}",
                self.device()
            )));
        }
        if T::DTYPE != as_dtype || !self.is_contiguous() {
            return Err(Error::Runtime(format!(
                "internal error: a CPU kernel expected a contiguous {} tensor, got {} (contiguous: {})",
                T::DTYPE.name(),
                self.dtype().name(),
                self.is_contiguous()
            )));
        }
        let base = self.0.storage.cpu_ptr()?;
        // SAFETY: contiguous layout of elements of `T`'s size -> numel `T`s from the
        // offset lie inside the storage.
        Ok(unsafe {
            std::slice::from_raw_parts((base as *const T).add(self.0.layout.offset), self.numel())
        })
    }

    /// A contiguous copy of the elements, converted to `T`.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        if self.device() == Device::Meta {
            return Err(crate::storage::no_meta_data());
        }
        let t = self.to_dtype_contiguous(T::DTYPE)?;
        Ok(t.cpu_slice::<T>()?.to_vec())
    }

    /// Elements in row-major order as f64 (for printing and tests).
    pub fn to_f64_vec(&self) -> Result<Vec<f64>> {
        crate::dispatch_all!(self.dtype(), T => {
            Ok(self.to_vec::<T>()?.into_iter().map(Element::to_f64).collect())
        })
    }

    fn to_dtype_contiguous(&self, dtype: DType) -> Result<Tensor> {
        if self.dtype() == dtype && self.is_contiguous() {
            return Ok(self.clone());
        }
        let out = Tensor::uninit(self.shape(), dtype, self.device())?;
        crate::ops::map::copy_cast(&out, self)?;
        Ok(out)
    }

    /// The one value of a one-element tensor as a Python-style scalar.
    pub fn item(&self) -> Result<Scalar> {
        if self.device() == Device::Meta && self.numel() == 1 {
            return Err(Error::Runtime(
                "Tensor.item() cannot be called on meta tensors".into(),
            ));
        }
        if self.numel() != 1 {
            return Err(Error::Runtime(format!(
                "a Tensor with {} elements cannot be converted to Scalar",
                self.numel()
            )));
        }
        crate::dispatch_all!(self.dtype(), T => {
            // SAFETY: numel == 1, so the element at data_ptr is in bounds.
            let v: T = unsafe { *self.data_ptr::<T>()? };
            Ok(scalar_of(v))
        })
    }

    // ----- autograd state -----

    /// The autograd metadata, to change it (it may be created through the guard).
    pub(crate) fn meta(&self) -> MetaGuard<'_> {
        self.0.autograd.write()
    }

    /// The autograd metadata to read, or None when there has never been any.
    pub(crate) fn meta_if_any(&self) -> Option<MetaGuard<'_>> {
        self.0.autograd.read()
    }

    pub fn requires_grad(&self) -> bool {
        self.sync_view();
        self.0.autograd.requires_grad()
    }

    pub fn grad_fn(&self) -> Option<Arc<Node>> {
        self.sync_view();
        self.meta_if_any()?.as_ref().and_then(|m| m.grad_fn.clone())
    }

    /// Index of this tensor among its grad_fn's outputs.
    pub fn output_nr(&self) -> usize {
        self.sync_view();
        self.meta_if_any()
            .and_then(|m| m.as_ref().map(|m| m.output_nr))
            .unwrap_or(0)
    }

    pub fn is_leaf(&self) -> bool {
        self.grad_fn().is_none()
    }

    pub fn grad(&self) -> Option<Tensor> {
        self.meta_if_any()?.as_ref().and_then(|m| m.grad.clone())
    }

    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(Error::Runtime(format!(
                    "assigned grad has data of a different size: expected {}, got {}",
                    crate::layout::fmt_shape(self.shape()),
                    crate::layout::fmt_shape(g.shape())
                )));
            }
            if g.dtype() != self.dtype() {
                return Err(Error::Runtime(
                    "assigned grad has data of a different type".to_string(),
                ));
            }
        }
        let mut m = self.meta();
        if grad.is_none() && m.is_none() {
            return Ok(());
        }
        m.get_or_insert_with(Default::default).grad = grad;
        Ok(())
    }

    /// `requires_grad_()`: only leaves may change it, and only float tensors need grads.
    pub fn set_requires_grad(&self, requires_grad: bool) -> Result<()> {
        if requires_grad && !self.dtype().is_floating_point() {
            return Err(Error::Runtime(
                "only Tensors of floating point dtype can require gradients".into(),
            ));
        }
        let mut m = self.meta();
        if let Some(meta) = m.as_ref() {
            if meta.grad_fn.is_some() {
                if requires_grad {
                    return Ok(());
                }
                return Err(Error::Runtime(
                    "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().".into(),
                ));
            }
        }
        if !requires_grad && m.is_none() {
            return Ok(());
        }
        m.get_or_insert_with(Default::default).requires_grad = requires_grad;
        Ok(())
    }

    /// A new tensor sharing storage, with no autograd history.
    pub fn detach(&self) -> Tensor {
        self.with_layout(self.layout().clone())
    }

    /// Sets this tensor's history: it becomes output `output_nr` of `node`.
    pub(crate) fn set_grad_fn(&self, node: Arc<Node>, output_nr: usize) {
        let mut m = self.meta();
        let meta = m.get_or_insert_with(Default::default);
        meta.grad_fn = Some(node);
        meta.output_nr = output_nr;
        meta.requires_grad = false;
    }

    pub fn with_meta<R>(&self, f: impl FnOnce(&mut AutogradMeta) -> R) -> R {
        let mut m = self.meta();
        f(m.get_or_insert_with(Default::default))
    }

    /// Moves the autograd state out (for `t.data = other`, which keeps identity but
    /// swaps the data). The cached AccumulateGrad belongs to the old tensor object.
    pub fn take_meta(&self) -> Option<Box<AutogradMeta>> {
        let mut m = self.meta_if_any()?.take();
        if let Some(meta) = m.as_mut() {
            meta.grad_accumulator = std::sync::Weak::new();
        }
        m
    }

    pub fn put_meta(&self, meta: Option<Box<AutogradMeta>>) {
        *self.meta() = meta;
    }

    /// `detach_()`: drops history in place (the tensor becomes a leaf).
    pub fn detach_in_place(&self) -> Result<()> {
        if self.view_info().is_some_and(|v| v.differentiable) {
            return Err(Error::Runtime(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and hence detach_() cannot be called on these gradients. To fix this error, please refer to the Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.".into(),
            ));
        }
        let Some(mut m) = self.meta_if_any() else {
            return Ok(());
        };
        if let Some(meta) = m.as_mut() {
            meta.grad_fn = None;
            meta.requires_grad = false;
            meta.output_nr = 0;
        }
        Ok(())
    }
}

/// PyTorch's error for an op whose operands live on two devices.
#[cold]
fn wrong_kernel_dtype(kernel: DType, tensor: DType) -> Error {
    Error::Runtime(format!(
        "internal error: a CPU kernel for {} got a {} tensor",
        kernel.name(),
        tensor.name()
    ))
}

pub fn devices_differ(a: Device, b: Device) -> Error {
    Error::Runtime(format!(
        "Expected all tensors to be on the same device, but found at least two devices, {a} and {b}!"
    ))
}

pub fn scalar_of<T: Element>(v: T) -> Scalar {
    match T::DTYPE {
        DType::Bool => Scalar::Bool(v.to_i64() != 0),
        d if d.is_floating_point() => Scalar::Float(v.to_f64()),
        _ => Scalar::Int(v.to_i64()),
    }
}

/// A tensor's autograd metadata behind its lock, with flags that answer the two common
/// questions without the lock: "has this tensor ever had any?" and "does it require
/// grad?". Most tensors never take part in autograd, and `requires_grad` is asked of
/// every input of every op: two atomic read-modify-writes per question (lock and
/// unlock) were a tenth of a small op's time.
struct MetaSlot {
    /// Set before the metadata is first written, never cleared: false means None.
    present: AtomicBool,
    /// `requires_grad || grad_fn.is_some()`, updated by every guard as it unlocks.
    requires: AtomicBool,
    meta: Mutex<Option<Box<AutogradMeta>>>,
}

impl MetaSlot {
    const fn new() -> MetaSlot {
        MetaSlot {
            present: AtomicBool::new(false),
            requires: AtomicBool::new(false),
            meta: Mutex::new(None),
        }
    }

    /// The lock, for a caller that may create or change the metadata.
    fn write(&self) -> MetaGuard<'_> {
        // Before the lock: a reader that still sees false is ordered before this write,
        // as if it had taken the lock first and found None.
        self.present.store(true, Ordering::Release);
        MetaGuard {
            slot: self,
            guard: self.meta.lock(),
        }
    }

    /// The lock, or None when no metadata was ever written.
    fn read(&self) -> Option<MetaGuard<'_>> {
        self.present.load(Ordering::Acquire).then(|| MetaGuard {
            slot: self,
            guard: self.meta.lock(),
        })
    }

    fn requires_grad(&self) -> bool {
        self.requires.load(Ordering::Acquire)
    }
}

/// The locked metadata; keeps `MetaSlot::requires` in step with it when unlocking.
pub(crate) struct MetaGuard<'a> {
    slot: &'a MetaSlot,
    guard: MutexGuard<'a, Option<Box<AutogradMeta>>>,
}

impl std::ops::Deref for MetaGuard<'_> {
    type Target = Option<Box<AutogradMeta>>;
    fn deref(&self) -> &Self::Target {
        &self.guard
    }
}

impl std::ops::DerefMut for MetaGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.guard
    }
}

impl Drop for MetaGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock (the MutexGuard field is dropped after this runs), so the
        // flag and the metadata change together for anyone who locks.
        let requires = self
            .guard
            .as_ref()
            .is_some_and(|m| m.requires_grad || m.grad_fn.is_some());
        self.slot.requires.store(requires, Ordering::Release);
    }
}
