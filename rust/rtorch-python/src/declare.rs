//! One declaration per op.
//!
//! `tensor_ops!` turns one line per op into everything Python sees of it: the Tensor
//! method, the module function (`rtorch.NAME(input, ..., out=None)` with PyTorch's
//! `out=` rules), the in-place method and, when asked, the in-place module function,
//! every alias of each, and their registration. Module functions register themselves
//! (`#[module_fn]`, collected here by `register_all`), so no file keeps a list.
//!
//! ```ignore
//! tensor_ops! {
//!     // name(positional args [; keyword-only args]) [as aliases] |self tensor| body
//!     sub(other: &Bound<'_, PyAny>; alpha: Option<&Bound<'_, PyAny>> = None) as subtract
//!         |x| b::sub_scaled(x, &rhs_arg(other)?, alpha_arg(alpha)?),
//!     // optional: in_place name_ [as aliases] |self tensor| body returning ()
//!         in_place sub_ |x| b::sub_scaled_in_place(x, &rhs_arg(other)?, alpha_arg(alpha)?);
//! }
//! ```
//!
//! `no_out:` first in the macro: the module functions of these rows take no `out=`
//! (views, and ops PyTorch gives none). `methods:`: no module function at all (it is
//! written by hand, e.g. because `rtorch.pow(2, t)` takes a number first).
//! `gil(py):`: the bodies may use `py` (to release the GIL around a long kernel).
//! `objects(py):`: bodies give `PyResult<Py<PyAny>>` (named tuples, lists) and may use
//! `py`; their module functions take no `out=`.
//!
//! A body is an expression giving the core `Result` (`Result<Tensor>`, or `Result<()>`
//! in place); `?` on the argument conversions inside it returns their Python error.
//! A module function whose `out=` is its input itself runs the row's in-place body
//! (PyTorch defines the in-place op as the op written into its input); other `out=`
//! tensors get the result written into their memory when they can take it
//! (`out::offer`), else copied there.
//! `in_place_and_fn` instead of `in_place` also exports the in-place form on the
//! module (`rtorch.relu_`), for the ops where PyTorch has it.

use crate::tensor::PyTensor;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use rtorch_core::Tensor;

/// A module function, submitted by `#[module_fn]` where it is declared.
pub struct ModuleFn {
    pub make: for<'py> fn(&Bound<'py, PyModule>) -> PyResult<Bound<'py, PyCFunction>>,
}

inventory::collect!(ModuleFn);

/// Adds every declared module function to `m`. Two declarations of one name are a
/// bug in the binding (the second would silently replace the first), so they fail
/// the import instead.
pub fn register_all(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in inventory::iter::<ModuleFn> {
        let func = (f.make)(m)?;
        let name: String = func.getattr("__name__")?.extract()?;
        if m.hasattr(&name)? {
            return Err(PyRuntimeError::new_err(format!(
                "rtorch._C: the module function {name} is declared twice"
            )));
        }
        m.add_function(func)?;
    }
    Ok(())
}

/// The tensor an argument reads, for `out=`'s overlap check (numbers and options
/// read none).
pub trait Operand {
    fn tensor(&self) -> Option<Tensor> {
        None
    }
}

impl Operand for &Bound<'_, PyAny> {
    fn tensor(&self) -> Option<Tensor> {
        self.cast::<PyTensor>()
            .ok()
            .map(|t| t.borrow().inner.clone())
    }
}

impl Operand for Option<&Bound<'_, PyAny>> {
    fn tensor(&self) -> Option<Tensor> {
        self.as_ref().and_then(|b| b.tensor())
    }
}

impl Operand for PyRef<'_, PyTensor> {
    fn tensor(&self) -> Option<Tensor> {
        Some(self.inner.clone())
    }
}

impl Operand for Option<PyRef<'_, PyTensor>> {
    fn tensor(&self) -> Option<Tensor> {
        self.as_ref().map(|t| t.inner.clone())
    }
}

macro_rules! reads_nothing {
    ($($t:ty),*) => { $(impl Operand for $t {})* };
}
reads_nothing!(
    bool,
    i64,
    f64,
    Option<bool>,
    Option<i64>,
    Option<f64>,
    &str,
    Option<&str>
);

/// A row's in-place body, run on `input` (argument conversions fail with their Python
/// error).
pub type InPlaceBody<'a> = dyn Fn(&Tensor) -> PyResult<()> + 'a;

/// The body of every `rtorch.NAME(input, ..., out=None)` that `tensor_ops!` declares,
/// shared (not expanded into each of the 200-odd functions): `out` being `input` runs
/// the in-place form when there is one; else `op` computes the result, into `out`'s
/// memory when it can take it, and `out` gets it. `extra` holds the tensors the op
/// reads besides `input` (gathered only when `out` is given).
pub fn function_with_out(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    extra: Vec<Option<Tensor>>,
    out: Option<&Bound<'_, PyAny>>,
    name: &str,
    op: &dyn Fn(&Tensor) -> PyResult<rtorch_core::Result<Tensor>>,
    in_place: Option<&InPlaceBody<'_>>,
) -> PyResult<Py<PyAny>> {
    let reads: Vec<Tensor> = if out.is_some() {
        std::iter::once(Some(input.inner.clone()))
            .chain(extra)
            .flatten()
            .collect()
    } else {
        Vec::new()
    };
    let reads: Vec<&Tensor> = reads.iter().collect();
    if let Some(in_place) = in_place {
        // `out` is `input`: the in-place form computes the same thing where it belongs,
        // without a temporary.
        if let Some(out) = crate::out::input_in_place(out, &reads) {
            in_place(&input.inner)?;
            return Ok(out);
        }
    }
    let offer = crate::out::offer(out, &reads);
    let result = op(&input.inner)?;
    drop(offer);
    // `out` may be `input` itself, and resizing it borrows it mutably.
    drop(input);
    crate::out::finish_out(py, result, out, &reads, name)
}

/// See the module documentation.
macro_rules! tensor_ops {
    // `Tensor.NAME(...)`
    (@method $name:ident [$($py:ident)?] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr) => {
        #[pyo3::pymethods]
        impl $crate::tensor::PyTensor {
            #[pyo3(signature = ($($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name(&self, $($py: pyo3::Python<'_>,)? $($arg: $ty,)* $($($kw: $kty,)+)?) -> pyo3::PyResult<$crate::tensor::PyTensor> {
                let $x = &self.inner;
                $crate::tensor::wrap($body)
            }
        }
    };

    // `rtorch.NAME(input, ..., out=None)`; it needs `py` whether the body does or not.
    (@function $name:ident [] $($rest:tt)*) => {
        $crate::declare::tensor_ops!(@function $name [py] $($rest)*);
    };
    (@function $name:ident [$py:ident] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr $(; |$xi:ident| $ibody:expr)?) => {
        const _: () = {
            #[rtorch_macros::module_fn]
            #[pyo3(signature = (input, $($arg $(= $def)?,)* *, $($($kw = $kdef,)+)? out = None))]
            #[allow(clippy::too_many_arguments)]
            fn $name(
                $py: pyo3::Python<'_>,
                input: &pyo3::Bound<'_, pyo3::PyAny>,
                $($arg: $ty,)*
                $($($kw: $kty,)+)?
                out: Option<&pyo3::Bound<'_, pyo3::PyAny>>,
            ) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                let input = $crate::convert::tensor_ref(input, "input")?;
                // What the op reads besides `input`, for `out=`'s overlap checks.
                let extra: Vec<Option<rtorch_core::Tensor>> = if out.is_some() {
                    vec![$($crate::declare::Operand::tensor(&$arg),)* $($($crate::declare::Operand::tensor(&$kw),)+)?]
                } else {
                    Vec::new()
                };
                $crate::declare::function_with_out(
                    $py,
                    input,
                    extra,
                    out,
                    stringify!($name),
                    &|$x| Ok($body),
                    $crate::declare::tensor_ops!(@in_place_body $(|$xi| $ibody)?),
                )
            }
        };
    };
    (@in_place_body) => { None };
    (@in_place_body |$xi:ident| $ibody:expr) => {
        Some(&|$xi| $crate::error::IntoPyResult::py($ibody).map(|_| ()))
    };

    // `no_out:` rows, `rtorch.NAME(input, ...)`
    (@function_no_out $name:ident [$($py:ident)?] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr $(; |$_xi:ident| $_ibody:expr)?) => {
        const _: () = {
            #[rtorch_macros::module_fn]
            #[pyo3(signature = (input, $($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name(
                $($py: pyo3::Python<'_>,)?
                input: &pyo3::Bound<'_, pyo3::PyAny>,
                $($arg: $ty,)*
                $($($kw: $kty,)+)?
            ) -> pyo3::PyResult<$crate::tensor::PyTensor> {
                let input = $crate::convert::tensor_ref(input, "input")?;
                let $x = &input.inner;
                $crate::tensor::wrap($body)
            }
        };
    };

    // `Tensor.NAME_(...)`, returning the tensor itself
    (@in_place $name:ident [$($py:ident)?] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr) => {
        #[pyo3::pymethods]
        impl $crate::tensor::PyTensor {
            #[pyo3(signature = ($($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name<'py>(slf: pyo3::Bound<'py, Self>, $($py: pyo3::Python<'_>,)? $($arg: $ty,)* $($($kw: $kty,)+)?) -> pyo3::PyResult<pyo3::Bound<'py, Self>> {
                {
                    let this = slf.borrow();
                    let $x = &this.inner;
                    $crate::error::IntoPyResult::py($body)?;
                }
                Ok(slf)
            }
        }
    };

    // `in_place`: no module function; `in_place_and_fn`: also `rtorch.NAME_(input, ...)`
    (@in_place_fn in_place $($rest:tt)*) => {};
    (@in_place_fn in_place_and_fn $name:ident [$($py:ident)?] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr) => {
        const _: () = {
            #[rtorch_macros::module_fn]
            #[pyo3(signature = (input, $($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name<'py>(
                $($py: pyo3::Python<'_>,)?
                input: pyo3::Bound<'py, $crate::tensor::PyTensor>,
                $($arg: $ty,)*
                $($($kw: $kty,)+)?
            ) -> pyo3::PyResult<pyo3::Bound<'py, $crate::tensor::PyTensor>> {
                {
                    let this = input.borrow();
                    let $x = &this.inner;
                    $crate::error::IntoPyResult::py($body)?;
                }
                Ok(input)
            }
        };
    };

    (@rows $method:ident $function:ident $pyg:tt $(
        $name:ident $params:tt $(as $($alias:ident),+)? |$x:ident| $body:expr
        $(, $mode:ident $name_:ident $(as $($alias_:ident),+)? |$xi:ident| $ibody:expr)?
    ;)*) => {$(
        $crate::declare::tensor_ops!(@$method $name $pyg $params |$x| $body);
        $crate::declare::tensor_ops!(@$function $name $pyg $params |$x| $body $(; |$xi| $ibody)?);
        $($(
            $crate::declare::tensor_ops!(@$method $alias $pyg $params |$x| $body);
            $crate::declare::tensor_ops!(@$function $alias $pyg $params |$x| $body);
        )+)?
        $(
            $crate::declare::tensor_ops!(@in_place $name_ $pyg $params |$xi| $ibody);
            $crate::declare::tensor_ops!(@in_place_fn $mode $name_ $pyg $params |$xi| $ibody);
            $($(
                $crate::declare::tensor_ops!(@in_place $alias_ $pyg $params |$xi| $ibody);
                $crate::declare::tensor_ops!(@in_place_fn $mode $alias_ $pyg $params |$xi| $ibody);
            )+)?
        )?
    )*};

    // `objects(py):` rows return any Python object (`PyResult<Py<PyAny>>`, e.g. a
    // `return_types` tuple) and may use `py`; their module function takes no `out=`.
    (@method_obj $name:ident [$py:ident] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr) => {
        #[pyo3::pymethods]
        impl $crate::tensor::PyTensor {
            #[pyo3(signature = ($($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name(&self, $py: pyo3::Python<'_>, $($arg: $ty,)* $($($kw: $kty,)+)?) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                let $x = &self.inner;
                $body
            }
        }
    };
    (@function_obj $name:ident [$py:ident] ($($arg:ident : $ty:ty $(= $def:tt)?),* $(; $($kw:ident : $kty:ty = $kdef:tt),+)?) |$x:ident| $body:expr $(; |$_xi:ident| $_ibody:expr)?) => {
        const _: () = {
            #[rtorch_macros::module_fn]
            #[pyo3(signature = (input, $($arg $(= $def)?,)* $(*, $($kw = $kdef,)+)?))]
            #[allow(clippy::too_many_arguments)]
            fn $name(
                $py: pyo3::Python<'_>,
                input: &pyo3::Bound<'_, pyo3::PyAny>,
                $($arg: $ty,)*
                $($($kw: $kty,)+)?
            ) -> pyo3::PyResult<pyo3::Py<pyo3::PyAny>> {
                let input = $crate::convert::tensor_ref(input, "input")?;
                let $x = &input.inner;
                $body
            }
        };
    };

    // `methods:` rows have no module function (theirs takes more than a tensor first).
    (@function_none $($rest:tt)*) => {};

    // Rows whose module function takes no `out=` (views, mostly), rows without one,
    // then the others.
    (no_out: $($rows:tt)*) => { $crate::declare::tensor_ops!(@rows method function_no_out [] $($rows)*); };
    (gil($py:ident): $($rows:tt)*) => { $crate::declare::tensor_ops!(@rows method function [$py] $($rows)*); };
    (methods: $($rows:tt)*) => { $crate::declare::tensor_ops!(@rows method function_none [] $($rows)*); };
    (objects($py:ident): $($rows:tt)*) => { $crate::declare::tensor_ops!(@rows method_obj function_obj [$py] $($rows)*); };
    ($($rows:tt)*) => { $crate::declare::tensor_ops!(@rows method function [] $($rows)*); };
}
pub(crate) use tensor_ops;

/// A binary operator's result, or `NotImplemented` for an operand that is neither a
/// tensor nor a number, so that Python tries the other operand's method.
macro_rules! operator {
    ($py:expr, $other:expr, |$r:ident| $body:expr) => {{
        match $crate::convert::with_rhs($other, |$r| $body) {
            Some(out) => Ok(pyo3::Py::new($py, $crate::tensor::wrap(out)?)?.into_any()),
            None => Ok($py.NotImplemented()),
        }
    }};
}
pub(crate) use operator;
