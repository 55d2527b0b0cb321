//! Maps core errors to the Python exception classes PyTorch raises.

use pyo3::exceptions::{
    PyIndexError, PyNotImplementedError, PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::PyErr;
use rtorch_core::Error;

pub fn to_py(e: Error) -> PyErr {
    match e {
        Error::Runtime(m) => PyRuntimeError::new_err(m),
        Error::Index(m) => PyIndexError::new_err(m),
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Value(m) => PyValueError::new_err(m),
        Error::NotImplemented(m) => PyNotImplementedError::new_err(m),
    }
}

/// `.py()?` turns a core `Result` into a `PyResult`.
pub trait IntoPyResult<T> {
    fn py(self) -> pyo3::PyResult<T>;
}

impl<T> IntoPyResult<T> for rtorch_core::Result<T> {
    #[inline]
    fn py(self) -> pyo3::PyResult<T> {
        self.map_err(to_py)
    }
}

/// The last line of defence against Rust panics (each one is a bug).
///
/// pyo3 turns a panic inside any binding entry point into `PanicException`, which
/// derives from `BaseException`: `except Exception` would not catch it and programs
/// would die. At import, `PanicException` is re-based onto `RuntimeError` and exported
/// as `_PanicException`; the panic hook records where in Rust the panic happened, and
/// `rtorch._panics` writes the message (naming the call from the Python caller's frame:
/// the released extension is stripped of symbols). Nothing here runs until something
/// panics: the call path of every op is unchanged.
pub mod panics {
    use parking_lot::Mutex;
    use pyo3::exceptions::PyRuntimeError;
    use pyo3::panic::PanicException;
    use pyo3::prelude::*;
    use rtorch_macros::module_fn;

    /// `file:line` of the most recent panic, taken by the exception's `__init__`.
    static LAST: Mutex<Option<String>> = Mutex::new(None);

    fn hook(info: &std::panic::PanicHookInfo<'_>) {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        *LAST.lock() = loc;
    }

    #[module_fn]
    fn _take_panic_location() -> Option<String> {
        LAST.lock().take()
    }

    pub fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        let ty = py.get_type::<PanicException>();
        ty.setattr("__bases__", (py.get_type::<PyRuntimeError>(),))?;
        m.add("_PanicException", ty)?;
        std::panic::set_hook(Box::new(hook));
        Ok(())
    }
}

/// A deliberate panic, so the tests can check the conversion above.
#[rtorch_macros::module_fn]
pub fn _panic_for_test() {
    panic!("deliberate panic for the test suite");
}
