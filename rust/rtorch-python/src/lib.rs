//! `rtorch._C`: the Python binding of rtorch-core. Argument parsing, conversion and
//! error mapping only; no math here. One file per op family. An op is declared once,
//! as a `tensor_ops!` row (`declare.rs`) that generates its Tensor method, module
//! function (with `out=`), in-place forms and aliases; module functions register
//! themselves (`#[module_fn]`), so no file keeps a registration list.

mod autograd;
mod convert;
mod creation;
mod declare;
mod dtype;
mod error;
mod indexing;
mod numpy_interop;
mod ops_arith;
mod ops_compare;
mod ops_conv;
mod ops_decomp;
mod ops_index;
mod ops_linalg;
mod ops_loss;
mod ops_nn;
mod ops_optim;
mod ops_pointwise;
mod ops_random;
mod ops_reduce;
mod ops_rnn;
mod ops_shape;
mod ops_sort;
mod ops_unary;
mod out;
mod storage;
mod tensor;

use pyo3::prelude::*;

/// Every Rust allocation of the extension (tensor buffers, kernel scratch, the GEMM
/// crate's packed operands) goes through rtorch's allocator, which keeps large freed
/// blocks for reuse (`rtorch_core::block_cache`).
#[global_allocator]
static ALLOCATOR: rtorch_core::block_cache::Allocator = rtorch_core::block_cache::Allocator;

#[pymodule]
#[pyo3(name = "_C")]
fn rtorch_c(m: &Bound<'_, PyModule>) -> PyResult<()> {
    rtorch_core::block_cache::tune_heap();
    rtorch_core::cpu::register_fork_handlers();
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<dtype::PyDType>()?;
    m.add_class::<dtype::PyDevice>()?;
    m.add_class::<numpy_interop::ArrayOwner>()?;
    let py = m.py();
    for d in rtorch_core::DType::ALL {
        m.add(d.name(), dtype::dtype_object(py, d))?;
    }
    declare::register_all(m)?;
    autograd::register(m)?;
    ops_random::register(m)?;
    storage::register(m)?;
    error::panics::install(m)?;
    Ok(())
}
