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
/// would die. At import, `PanicException` is re-based onto `RuntimeError`, and its
/// message is rewritten to name the op and ask for a report. The op comes from the
/// panic hook, which finds the binding wrapper (`__pyfunction_NAME` /
/// `__pymethod_NAME__`) on the panicking thread's stack. All of this costs nothing
/// until something panics: the call path of every op is unchanged.
pub mod panics {
    use parking_lot::Mutex;
    use pyo3::exceptions::PyRuntimeError;
    use pyo3::panic::PanicException;
    use pyo3::prelude::*;
    use pyo3::types::PyDict;
    use rtorch_macros::module_fn;

    /// (op, location) of the most recent panic, taken by the exception's `__init__`.
    static LAST: Mutex<Option<(String, String)>> = Mutex::new(None);

    /// The binding entry point on a backtrace, as the user would call it.
    fn op_from_backtrace(bt: &str) -> Option<String> {
        for line in bt.lines() {
            let line = line.trim();
            for (prefix, method) in [("__pyfunction_", false), ("__pymethod_", true)] {
                if let Some(i) = line.find(prefix) {
                    let rest = &line[i + prefix.len()..];
                    let end = rest
                        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    let mut name = &rest[..end];
                    if method {
                        name = name.strip_suffix("__").unwrap_or(name);
                        let owner = if line.contains("PyTensor") {
                            "Tensor."
                        } else {
                            ""
                        };
                        return Some(format!("{owner}{name}"));
                    }
                    return Some(name.to_string());
                }
            }
        }
        None
    }

    fn hook(info: &std::panic::PanicHookInfo<'_>) {
        let loc = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        let op = op_from_backtrace(&bt).unwrap_or_default();
        *LAST.lock() = Some((op, loc));
    }

    #[module_fn]
    fn _take_panic_info() -> Option<(String, String)> {
        LAST.lock().take()
    }

    pub fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        let ty = py.get_type::<PanicException>();
        ty.setattr("__bases__", (py.get_type::<PyRuntimeError>(),))?;
        let g = PyDict::new(py);
        g.set_item("PanicException", &ty)?;
        g.set_item("_take", m.getattr("_take_panic_info")?)?;
        py.run(
            c"
def __init__(self, *args):
    if len(args) == 1 and isinstance(args[0], str) and 'internal error' not in args[0]:
        info = _take()
        op, loc = info if info else ('', '')
        op = f'rtorch.{op}' if op else 'an rtorch operation'
        where = f' at {loc}' if loc else ''
        args = (f'{op}: internal error (Rust panic{where}: {args[0]}). '
                'This is a bug in rtorch; please report it.',)
    RuntimeError.__init__(self, *args)
PanicException.__init__ = __init__
",
            Some(&g),
            None,
        )?;
        std::panic::set_hook(Box::new(hook));
        Ok(())
    }
}

/// A deliberate panic, so the tests can check the conversion above.
#[rtorch_macros::module_fn]
pub fn _panic_for_test() {
    panic!("deliberate panic for the test suite");
}
