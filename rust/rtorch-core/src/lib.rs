//! rtorch-core: tensors, CPU kernels, the autograd engine and the random generator.
//! No Python here; `rtorch-python` binds this crate as `rtorch._C`.

pub mod autograd;
pub mod block_cache;
pub mod cpu;
pub mod device;
pub mod dtype;
pub mod element;
pub mod error;
pub mod layout;
pub mod ops;
pub mod random;
mod spin_lock;
pub mod storage;
pub mod tensor;

pub use device::Device;
pub use dtype::{DType, Scalar};
pub use error::{Error, Result};
pub use tensor::Tensor;

use std::sync::atomic::{AtomicU8, Ordering};

static DEFAULT_DTYPE: AtomicU8 = AtomicU8::new(DType::F32 as u8);

/// The dtype Python floats become (`torch.get_default_dtype()`).
pub fn get_default_dtype() -> DType {
    DType::ALL[DEFAULT_DTYPE.load(Ordering::Relaxed) as usize]
}

/// Only floating dtypes may be the default, as in PyTorch.
pub fn set_default_dtype(d: DType) -> Result<()> {
    if !matches!(d, DType::F32 | DType::F64 | DType::F16 | DType::BF16) {
        return Err(Error::Type(
            "only floating-point types are supported as the default type".into(),
        ));
    }
    DEFAULT_DTYPE.store(d as u8, Ordering::Relaxed);
    Ok(())
}
