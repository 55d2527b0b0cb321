//! The piecewise-constant weights of derivative formulas as named kinds: where a
//! gradient flows to which input of `maximum`/`minimum`, `clamp` and `pow`, computed
//! from the inputs' values (as f64) and written in the gradient's dtype.
//!
//! Like the other kind families (`ops::binary_kinds`), a kind is one type per formula
//! with its kernel name; `ops::map::weight2`/`weight3` are the one dispatch point.

/// A weight from two values.
pub trait Weight2: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn weight(self, x: f64, y: f64) -> f64;
}

/// A weight from an input and its two clamp bounds.
pub trait Weight3: Copy + Send + Sync + 'static {
    /// The kernel's name, for a backend that compiles one kernel per op.
    const NAME: &'static str;
    fn weight(self, x: f64, lo: f64, hi: f64) -> f64;
}

#[inline(always)]
fn b(c: bool) -> f64 {
    c as u8 as f64
}

/// 1 where the base is 0 and the exponent is not negative: pow's exponent derivative
/// `out log(a)` takes `log(a + 1) = 0` there instead of `0 * -inf`.
#[derive(Clone, Copy, Debug)]
pub struct PowZeroBase;

impl Weight2 for PowZeroBase {
    const NAME: &'static str = "pow_zero_base";
    #[inline(always)]
    fn weight(self, x: f64, y: f64) -> f64 {
        b(x == 0.0 && y >= 0.0)
    }
}

/// Which of `maximum`, `minimum`, `fmax`, `fmin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extreme {
    Max,
    Min,
    FMax,
    FMin,
}

/// The share of `x` (`first`) or of `y` in the gradient of `extreme(x, y)`: a tie
/// splits evenly for maximum/minimum; fmax/fmin give it to the value they returned (x
/// unless it loses or y is NaN).
#[derive(Clone, Copy, Debug)]
pub struct ExtremeShare {
    pub which: Extreme,
    pub first: bool,
}

impl Weight2 for ExtremeShare {
    const NAME: &'static str = "extreme_share";
    #[inline(always)]
    fn weight(self, x: f64, y: f64) -> f64 {
        // The other operand's share is this formula with the roles swapped, except for
        // fmax/fmin, whose choice is one-sided.
        let (p, q) = if self.first { (x, y) } else { (y, x) };
        let split = |loses: bool| {
            if loses {
                0.0
            } else if p == q {
                0.5
            } else {
                1.0
            }
        };
        match self.which {
            Extreme::Max => split(p < q),
            Extreme::Min => split(p > q),
            Extreme::FMax => b((x >= y || y.is_nan()) == self.first),
            Extreme::FMin => b((x <= y || y.is_nan()) == self.first),
        }
    }
}

/// clamp with number bounds: the gradient flows strictly inside the bounds it has (a
/// NaN bound or a NaN input stops it).
#[derive(Clone, Copy, Debug)]
pub struct ClampInside {
    pub has_lo: bool,
    pub has_hi: bool,
}

impl Weight3 for ClampInside {
    const NAME: &'static str = "clamp_inside";
    #[inline(always)]
    fn weight(self, x: f64, lo: f64, hi: f64) -> f64 {
        b((!self.has_lo || x > lo) && (!self.has_hi || x < hi))
    }
}

/// clamp with one tensor bound (`upper`: the maximum, else the minimum), as
/// maximum/minimum: a tie splits evenly; `input` is the share of x, else of the bound.
/// A NaN on either side passes the gradient to both.
#[derive(Clone, Copy, Debug)]
pub struct ClampOneBound {
    pub upper: bool,
    pub input: bool,
}

impl Weight3 for ClampOneBound {
    const NAME: &'static str = "clamp_one_bound";
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn weight(self, x: f64, lo: f64, hi: f64) -> f64 {
        let v = if self.upper { hi } else { lo };
        if x == v {
            return 0.5;
        }
        // x keeps its gradient unless the bound wins; the bound gets it unless x wins.
        let bound_wins = if self.upper { x > v } else { x < v };
        let x_wins = if self.upper { x < v } else { x > v };
        if self.input {
            b(!bound_wins)
        } else {
            b(!x_wins)
        }
    }
}

/// The part of clamp's gradient with both bounds, one a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClampPart {
    Input,
    Lo,
    Hi,
}

/// clamp with both bounds, one a tensor: x gets the gradient where `!(x < lo) &&
/// !(x > hi)`, lo where `x < lo <= hi`, hi where `x > hi >= lo` or everywhere when
/// `lo > hi`; a tie of x with exactly one usable bound splits evenly.
#[derive(Clone, Copy, Debug)]
pub struct ClampBoth {
    pub part: ClampPart,
}

impl Weight3 for ClampBoth {
    const NAME: &'static str = "clamp_both";
    #[inline(always)]
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn weight(self, x: f64, lo: f64, hi: f64) -> f64 {
        let (tie_lo, tie_hi) = (b(x == lo && x < hi), b(x == hi && x > lo));
        match self.part {
            ClampPart::Input => b(!(x < lo) && !(x > hi)) - 0.5 * tie_lo - 0.5 * tie_hi,
            ClampPart::Lo => b(lo <= hi && x < lo) + 0.5 * tie_lo,
            ClampPart::Hi => b(lo > hi) + b(lo <= hi && x > hi) + 0.5 * tie_hi,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one_and_split_ties() {
        let nan = f64::NAN;
        for which in [Extreme::Max, Extreme::Min, Extreme::FMax, Extreme::FMin] {
            for (x, y) in [(1.0, 2.0), (2.0, 1.0), (1.5, 1.5), (nan, 1.0), (1.0, nan)] {
                let a = ExtremeShare { which, first: true }.weight(x, y);
                let c = ExtremeShare {
                    which,
                    first: false,
                }
                .weight(x, y);
                if matches!(which, Extreme::FMax | Extreme::FMin) || !(x.is_nan() || y.is_nan()) {
                    assert_eq!(a + c, 1.0, "{which:?} {x} {y}");
                }
            }
        }
        let max = |first| ExtremeShare {
            which: Extreme::Max,
            first,
        };
        assert_eq!(
            (max(true).weight(3.0, 3.0), max(false).weight(3.0, 3.0)),
            (0.5, 0.5)
        );
        assert_eq!(
            (max(true).weight(1.0, 3.0), max(false).weight(1.0, 3.0)),
            (0.0, 1.0)
        );
        // NaN: maximum passes the gradient to both sides.
        assert_eq!(
            (max(true).weight(nan, 3.0), max(false).weight(nan, 3.0)),
            (1.0, 1.0)
        );
        let fmax = |first| ExtremeShare {
            which: Extreme::FMax,
            first,
        };
        assert_eq!(
            (fmax(true).weight(1.0, nan), fmax(false).weight(1.0, nan)),
            (1.0, 0.0)
        );
        assert_eq!(
            (fmax(true).weight(1.0, 1.0), fmax(false).weight(1.0, 1.0)),
            (1.0, 0.0)
        );
    }

    #[test]
    fn clamp_weights_follow_the_documented_rules() {
        let inside = ClampInside {
            has_lo: true,
            has_hi: true,
        };
        assert_eq!(inside.weight(0.5, 0.0, 1.0), 1.0);
        assert_eq!(inside.weight(0.0, 0.0, 1.0), 0.0);
        assert_eq!(inside.weight(f64::NAN, 0.0, 1.0), 0.0);
        let one = |upper, input| ClampOneBound { upper, input };
        assert_eq!(one(false, true).weight(2.0, 1.0, 0.0), 1.0);
        assert_eq!(one(false, false).weight(2.0, 1.0, 0.0), 0.0);
        assert_eq!(one(false, true).weight(1.0, 1.0, 0.0), 0.5);
        assert_eq!(one(true, true).weight(2.0, 0.0, 1.0), 0.0);
        assert_eq!(one(true, false).weight(2.0, 0.0, 1.0), 1.0);
        let both = |part| ClampBoth { part };
        // x below lo <= hi: lo takes it; lo > hi: hi takes it everywhere.
        assert_eq!(both(ClampPart::Lo).weight(-1.0, 0.0, 1.0), 1.0);
        assert_eq!(both(ClampPart::Input).weight(-1.0, 0.0, 1.0), 0.0);
        assert_eq!(both(ClampPart::Hi).weight(0.5, 2.0, 1.0), 1.0);
        // A tie with lo splits between x and lo.
        assert_eq!(both(ClampPart::Input).weight(0.0, 0.0, 1.0), 0.5);
        assert_eq!(both(ClampPart::Lo).weight(0.0, 0.0, 1.0), 0.5);
        assert_eq!(PowZeroBase.weight(0.0, 2.0), 1.0);
        assert_eq!(PowZeroBase.weight(0.0, -1.0), 0.0);
    }
}
