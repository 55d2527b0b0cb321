//! The error type of every fallible op. Each variant maps to the Python exception class
//! PyTorch raises for the same mistake, so the binding layer needs no guessing.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Shape, dtype or device mismatches, invalid state: Python `RuntimeError`.
    Runtime(String),
    /// An index out of range: Python `IndexError`.
    Index(String),
    /// A wrong argument type: Python `TypeError`.
    Type(String),
    /// A bad argument value: Python `ValueError`.
    Value(String),
    /// A feature rtorch does not have yet: Python `NotImplementedError`.
    NotImplemented(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Runtime(m)
            | Error::Index(m)
            | Error::Type(m)
            | Error::Value(m)
            | Error::NotImplemented(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// `bail!(Runtime, "...{}", x)` returns early with the given error variant.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::error::Error::$kind(format!($($arg)*)))
    };
}
