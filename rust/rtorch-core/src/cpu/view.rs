//! Typed strided views: all a CPU kernel sees of a tensor.
//!
//! A view is a base pointer (already at the tensor's storage offset), the shape and the
//! strides in elements, and the element type. Views are made in one place,
//! `Tensor::cpu_view`/`Tensor::cpu_view_mut`, which check that the tensor lives in CPU
//! memory and holds this element type; kernels never see `Tensor`, so a tensor on
//! another device, or of another dtype, cannot reach one.
//!
//! Views carry raw pointers rather than slices because the output of an in-place op
//! aliases its input: a kernel may read a `View` and write a `ViewMut` of the same
//! memory. Each kernel says which aliasing it supports.

use crate::element::Element;
use crate::layout::Layout;
use std::marker::PhantomData;

/// `shape`, `strides`, `is_contiguous`, `numel` and `layout`, read from the view's layout.
macro_rules! layout_accessors {
    () => {
        #[inline(always)]
        pub fn shape(&self) -> &'a [usize] {
            &self.layout.shape
        }

        #[inline(always)]
        pub fn strides(&self) -> &'a [usize] {
            &self.layout.strides
        }

        #[inline(always)]
        pub fn is_contiguous(&self) -> bool {
            self.layout.is_contiguous()
        }

        #[inline(always)]
        pub fn numel(&self) -> usize {
            self.layout.numel()
        }

        #[inline(always)]
        pub fn layout(&self) -> &'a Layout {
            self.layout
        }
    };
}

/// Read access to a tensor's elements.
#[derive(Clone, Copy)]
pub struct View<'a, T> {
    ptr: *const T,
    layout: &'a Layout,
}

/// Write access to a tensor's elements (the output of a kernel).
pub struct ViewMut<'a, T> {
    ptr: *mut T,
    layout: &'a Layout,
    _writes: PhantomData<&'a mut T>,
}

impl<'a, T: Element> View<'a, T> {
    /// # Safety
    /// `ptr` is the element at `layout`'s offset, and every element reachable from it
    /// through the layout's shape and strides lies inside one allocation of `T`s that
    /// stays alive for `'a`.
    #[inline(always)]
    pub unsafe fn new(ptr: *const T, layout: &'a Layout) -> Self {
        View { ptr, layout }
    }

    /// The element at index 0 (at the storage offset).
    #[inline(always)]
    pub fn ptr(&self) -> *const T {
        self.ptr
    }

    layout_accessors!();

    /// The elements in row-major order, when the view is contiguous.
    ///
    /// # Safety
    /// Nothing writes these elements (through a `ViewMut` of the same memory or
    /// otherwise) while the slice lives.
    pub unsafe fn as_slice(&self) -> Option<&'a [T]> {
        // SAFETY: contiguous -> numel elements from ptr lie in the allocation (`new`'s
        // contract); the caller guarantees no concurrent writes.
        self.is_contiguous()
            .then(|| unsafe { std::slice::from_raw_parts(self.ptr, self.numel()) })
    }
}

impl<'a, T: Element> ViewMut<'a, T> {
    /// # Safety
    /// As `View::new`, and the memory may be written for `'a`.
    #[inline(always)]
    pub unsafe fn new(ptr: *mut T, layout: &'a Layout) -> Self {
        ViewMut {
            ptr,
            layout,
            _writes: PhantomData,
        }
    }

    /// The element at index 0 (at the storage offset).
    #[inline(always)]
    pub fn ptr(&self) -> *mut T {
        self.ptr
    }

    layout_accessors!();

    /// The same elements, read-only.
    #[inline(always)]
    pub fn as_view(&self) -> View<'a, T> {
        View {
            ptr: self.ptr,
            layout: self.layout,
        }
    }

    /// The elements in row-major order, when the view is contiguous.
    ///
    /// # Safety
    /// Nothing else reads or writes these elements while the slice lives.
    pub unsafe fn as_mut_slice(&mut self) -> Option<&'a mut [T]> {
        // SAFETY: as `View::as_slice`; the caller guarantees exclusive access.
        self.is_contiguous()
            .then(|| unsafe { std::slice::from_raw_parts_mut(self.ptr, self.numel()) })
    }
}

#[cfg(test)]
mod tests {
    use crate::device::{Backend, Device};
    use crate::dtype::DType;
    use crate::tensor::Tensor;

    #[test]
    fn views_carry_the_layout_and_refuse_another_dtype_or_device() {
        let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let v = t.cpu_view::<f32>().unwrap();
        assert_eq!(
            (v.shape(), v.strides(), v.is_contiguous()),
            (&[2, 3][..], &[3, 1][..], true)
        );
        // SAFETY: nothing writes `t` while the slice lives.
        assert_eq!(
            unsafe { v.as_slice() },
            Some(&[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0][..])
        );
        let tt = t.with_layout(t.layout().permute(&[1, 0]));
        let vt = tt.cpu_view::<f32>().unwrap();
        assert_eq!((vt.strides(), vt.is_contiguous()), (&[1, 3][..], false));
        // SAFETY: as above.
        assert!(unsafe { vt.as_slice() }.is_none());
        assert!(t.cpu_view::<f64>().is_err());
        assert!(t.cpu_view_mut::<i64>().is_err());
        let m = Tensor::empty(&[2, 3], DType::F32, Device::Meta).unwrap();
        assert!(m.cpu_view::<f32>().is_err());
        assert_eq!(Backend::of(&m, &[]).unwrap(), Backend::Meta);
        assert!(Backend::of(&m, &[&t]).is_err());
        assert_eq!(Backend::of(&t, &[&t]).unwrap(), Backend::Cpu);
    }
}
