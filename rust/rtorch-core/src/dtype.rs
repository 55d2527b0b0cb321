//! Element types and PyTorch's type-promotion rules.

use crate::error::{Error, Result};

/// The element types rtorch supports, ordered as PyTorch's promotion lattice walks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    U8,
    I8,
    I16,
    I32,
    I64,
    F16,
    BF16,
    F32,
    F64,
}

/// Promotion category: a Python scalar only widens a tensor of a lower category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Bool,
    Integral,
    Floating,
}

impl DType {
    pub const ALL: [DType; 10] = [
        DType::Bool,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// The integer dtype of this dtype's size (bool, uint8, int8 -> uint8; float16,
    /// bfloat16, int16 -> int16; ...): kernels that only move elements (copies,
    /// gathers, flips) are compiled once per size, on these, instead of once per dtype.
    pub fn bits(self) -> DType {
        match self.size() {
            1 => DType::U8,
            2 => DType::I16,
            4 => DType::I32,
            _ => DType::I64,
        }
    }

    pub const fn is_floating_point(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Integral in PyTorch's sense, bool excluded.
    pub fn is_integral(self) -> bool {
        matches!(
            self,
            DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64
        )
    }

    pub fn is_signed(self) -> bool {
        !matches!(self, DType::Bool | DType::U8)
    }

    pub fn category(self) -> Category {
        if self == DType::Bool {
            Category::Bool
        } else if self.is_floating_point() {
            Category::Floating
        } else {
            Category::Integral
        }
    }

    /// The name after `torch.` (`float32`, `int64`, …).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Checks that the number `s` converts to this dtype as PyTorch's checked conversion
    /// allows (`c10::checked_convert`): an integer dtype takes numbers within its range
    /// (uint8 also the integers -255..=-1, which wrap) and no NaN; floating and bool
    /// dtypes take any number. `type_name` is how the error names the type: the dtype's
    /// name for `tensor(...)`, the C++ integer type for `full`/`fill_` (PyTorch's own
    /// wording differs so between the two).
    pub fn check_number(self, s: Scalar, type_name: &str) -> Result<()> {
        let (lo, hi): (i64, i64) = match self {
            DType::U8 => (-255, 255),
            DType::I8 => (i8::MIN.into(), i8::MAX.into()),
            DType::I16 => (i16::MIN.into(), i16::MAX.into()),
            DType::I32 => (i32::MIN.into(), i32::MAX.into()),
            DType::I64 => (i64::MIN, i64::MAX),
            _ => return Ok(()),
        };
        let fits = match s {
            Scalar::Bool(_) => true,
            Scalar::Int(i) => (lo..=hi).contains(&i),
            // A float must lie in the type's own range (no wrapping from below for
            // uint8), and 2^63 does not fit an int64 (i64::MAX as f64 rounds up to it).
            Scalar::Float(f) => {
                let lo = if self == DType::U8 { 0.0 } else { lo as f64 };
                f >= lo && (f < hi as f64 || (f == hi as f64 && hi < i64::MAX))
            }
        };
        if fits {
            Ok(())
        } else {
            Err(Error::Runtime(format!(
                "value cannot be converted to type {type_name} without overflow"
            )))
        }
    }

    /// The C++ type PyTorch's `full`/`fill_` name in their overflow errors.
    pub fn fill_type_name(self) -> &'static str {
        match self {
            DType::U8 => "uint8_t",
            DType::I8 => "int8_t",
            DType::I16 => "int16_t",
            DType::I32 => "int",
            DType::I64 => "int64_t",
            _ => self.name(),
        }
    }

    /// The legacy type name used in error messages (`torch.FloatTensor`).
    pub fn legacy_name(self) -> &'static str {
        match self {
            DType::Bool => "BoolTensor",
            DType::U8 => "ByteTensor",
            DType::I8 => "CharTensor",
            DType::I16 => "ShortTensor",
            DType::I32 => "IntTensor",
            DType::I64 => "LongTensor",
            DType::F16 => "HalfTensor",
            DType::BF16 => "BFloat16Tensor",
            DType::F32 => "FloatTensor",
            DType::F64 => "DoubleTensor",
        }
    }

    /// PyTorch's C++ ScalarType name, as in `result type Float can't be cast to Long`.
    pub fn scalar_type_name(self) -> &'static str {
        match self {
            DType::Bool => "Bool",
            DType::U8 => "Byte",
            DType::I8 => "Char",
            DType::I16 => "Short",
            DType::I32 => "Int",
            DType::I64 => "Long",
            DType::F16 => "Half",
            DType::BF16 => "BFloat16",
            DType::F32 => "Float",
            DType::F64 => "Double",
        }
    }

    /// The C++ type PyTorch names in some dtype errors ("Expected out tensor to have
    /// dtype long int, but got int instead").
    pub fn cpp_type_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "unsigned char",
            DType::I8 => "signed char",
            DType::I16 => "short int",
            DType::I32 => "int",
            DType::I64 => "long int",
            DType::F16 => "c10::Half",
            DType::BF16 => "c10::BFloat16",
            DType::F32 => "float",
            DType::F64 => "double",
        }
    }

    pub fn from_name(name: &str) -> Result<DType> {
        let name = name.strip_prefix("torch.").unwrap_or(name);
        Ok(match name {
            "bool" => DType::Bool,
            "uint8" => DType::U8,
            "int8" => DType::I8,
            "int16" | "short" => DType::I16,
            "int32" | "int" => DType::I32,
            "int64" | "long" => DType::I64,
            "float16" | "half" => DType::F16,
            "bfloat16" => DType::BF16,
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            _ => return Err(Error::Type(format!("unknown dtype '{name}'"))),
        })
    }

    /// Can a value of `self` be stored into `to` without PyTorch complaining
    /// (`can_cast`: no float -> integral, no non-bool -> bool)?
    pub fn can_cast_to(self, to: DType) -> bool {
        if self.is_floating_point() && !to.is_floating_point() {
            return false;
        }
        if self != DType::Bool && to == DType::Bool {
            return false;
        }
        true
    }
}

/// PyTorch's `promote_types` for two dtypes.
pub fn promote_types(a: DType, b: DType) -> DType {
    use DType::*;
    if a == b {
        return a;
    }
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    match (lo, hi) {
        (Bool, x) => x,
        // uint8 mixed with a signed int needs the next signed size up.
        (U8, I8) => I16,
        (F16, BF16) => F32,
        (_, x) => x,
    }
}

/// A Python number as an op argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Scalar {
    pub fn to_f64(self) -> f64 {
        match self {
            Scalar::Bool(b) => b as u8 as f64,
            Scalar::Int(i) => i as f64,
            Scalar::Float(f) => f,
        }
    }

    pub fn to_i64(self) -> i64 {
        match self {
            Scalar::Bool(b) => b as i64,
            Scalar::Int(i) => i,
            Scalar::Float(f) => f as i64,
        }
    }

    pub fn to_bool(self) -> bool {
        match self {
            Scalar::Bool(b) => b,
            Scalar::Int(i) => i != 0,
            Scalar::Float(f) => f != 0.0,
        }
    }

    pub fn category(self) -> Category {
        match self {
            Scalar::Bool(_) => Category::Bool,
            Scalar::Int(_) => Category::Integral,
            Scalar::Float(_) => Category::Floating,
        }
    }

    /// The dtype a Python number becomes on its own (`tensor(3.0)` -> default float).
    pub fn default_dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::Int(_) => DType::I64,
            Scalar::Float(_) => crate::get_default_dtype(),
        }
    }
}

/// What one operand contributes to `result_type`.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// A tensor with at least one dimension.
    Dim(DType),
    /// A zero-dimensional tensor.
    ZeroDim(DType),
    /// A Python number.
    Scalar(Scalar),
}

/// PyTorch's `result_type`: dimensioned tensors win within a category; zero-dim
/// tensors and Python numbers only raise the category.
pub fn result_type(operands: &[Operand]) -> DType {
    let mut dim: Option<DType> = None;
    let mut zero: Option<DType> = None;
    let mut wrapped: Option<DType> = None;
    let fold = |acc: Option<DType>, d: DType| Some(acc.map_or(d, |a| promote_types(a, d)));
    for op in operands {
        match *op {
            Operand::Dim(d) => dim = fold(dim, d),
            Operand::ZeroDim(d) => zero = fold(zero, d),
            Operand::Scalar(s) => wrapped = fold(wrapped, s.default_dtype()),
        }
    }
    combine(dim, combine(zero, wrapped)).unwrap_or_else(crate::get_default_dtype)
}

fn combine(higher: Option<DType>, lower: Option<DType>) -> Option<DType> {
    match (higher, lower) {
        (None, l) => l,
        (h, None) => h,
        (Some(h), Some(l)) => {
            if h.is_floating_point() {
                Some(h)
            } else if h == DType::Bool || l.category() > h.category() {
                Some(promote_types(h, l))
            } else {
                Some(h)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn promote_table() {
        assert_eq!(promote_types(U8, I8), I16);
        assert_eq!(promote_types(Bool, U8), U8);
        assert_eq!(promote_types(I32, F16), F16);
        assert_eq!(promote_types(F16, BF16), F32);
        assert_eq!(promote_types(I64, F32), F32);
        assert_eq!(promote_types(U8, I64), I64);
    }

    #[test]
    fn scalars_do_not_widen_same_category() {
        let r = result_type(&[Operand::Dim(F32), Operand::Scalar(Scalar::Float(1.0))]);
        assert_eq!(r, F32);
        let r = result_type(&[Operand::Dim(I32), Operand::Scalar(Scalar::Float(1.0))]);
        assert_eq!(r, F32);
        let r = result_type(&[Operand::Dim(U8), Operand::Scalar(Scalar::Int(1000))]);
        assert_eq!(r, U8);
        let r = result_type(&[Operand::Dim(Bool), Operand::Scalar(Scalar::Int(1))]);
        assert_eq!(r, I64);
    }

    #[test]
    fn zero_dim_tensors() {
        assert_eq!(
            result_type(&[Operand::Dim(F32), Operand::ZeroDim(F64)]),
            F32
        );
        assert_eq!(
            result_type(&[Operand::Dim(I32), Operand::ZeroDim(I64)]),
            I32
        );
        assert_eq!(
            result_type(&[Operand::Dim(I32), Operand::ZeroDim(F64)]),
            F64
        );
        assert_eq!(result_type(&[Operand::Dim(F32), Operand::Dim(F64)]), F64);
        assert_eq!(
            result_type(&[Operand::ZeroDim(I64), Operand::Scalar(Scalar::Float(1.0))]),
            F32
        );
    }
}
