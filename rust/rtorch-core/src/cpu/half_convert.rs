//! float16/bfloat16 <-> float32 over slices, the conversions around every half-precision
//! kernel that computes in float32. float16 uses the F16C instructions where the CPU
//! has them (with AVX2; `RTORCH_CPU_CAPABILITY=default` takes the portable path);
//! bfloat16 is a 16-bit shift, rounded to nearest even, in loops the compiler
//! vectorises. Every path gives exactly the `half` crate's scalar conversions (tested
//! over all 65,536 inputs one way and the rounding boundaries the other).

use half::{bf16, f16};

/// F16C is usable: the AVX2 level is in use and the CPU has it (checked once).
#[cfg(target_arch = "x86_64")]
pub(crate) fn f16c() -> bool {
    static F16C: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *F16C.get_or_init(|| super::math::has_avx2_fma() && is_x86_feature_detected!("f16c"))
}

/// `dst[i] = src[i]` widened. The slices have the same length.
pub fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() && f16c() {
        // SAFETY: AVX-512 F, AVX and F16C were detected at run time.
        unsafe { x86::f16_to_f32_avx512(src, dst) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if f16c() {
        // SAFETY: F16C and AVX were detected at run time.
        unsafe { x86::f16_to_f32(src, dst) };
        return;
    }
    portable_f16_to_f32(src, dst);
}

/// `dst[i] = src[i]` rounded to nearest even. The slices have the same length.
pub fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
    #[cfg(target_arch = "x86_64")]
    if super::math::has_avx512() && f16c() {
        // SAFETY: AVX-512 F, AVX and F16C were detected at run time.
        unsafe { x86::f32_to_f16_avx512(src, dst) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if f16c() {
        // SAFETY: F16C and AVX were detected at run time.
        unsafe { x86::f32_to_f16(src, dst) };
        return;
    }
    portable_f32_to_f16(src, dst);
}

pub(crate) fn portable_f16_to_f32(src: &[f16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = widen_f16(*s);
    }
}

pub(crate) fn portable_f32_to_f16(src: &[f32], dst: &mut [f16]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = narrow_f16(*s);
    }
}

/// `dst[i] = src[i]` widened (exact: the top half of a float32).
pub fn bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match super::math::capability() {
        // SAFETY: `capability()` only answers a level the CPU supports.
        super::math::Capability::Avx512 => return unsafe { x86::bf16_to_f32_avx512(src, dst) },
        // SAFETY: as above.
        super::math::Capability::Avx2 => return unsafe { x86::bf16_to_f32_avx2(src, dst) },
        super::math::Capability::Default => {}
    }
    portable_bf16_to_f32(src, dst)
}

/// `dst[i] = src[i]` rounded to nearest even; NaN stays a (quiet) NaN.
pub fn f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    #[cfg(target_arch = "x86_64")]
    match super::math::capability() {
        // SAFETY: `capability()` only answers a level the CPU supports.
        super::math::Capability::Avx512 => return unsafe { x86::f32_to_bf16_avx512(src, dst) },
        // SAFETY: as above.
        super::math::Capability::Avx2 => return unsafe { x86::f32_to_bf16_avx2(src, dst) },
        super::math::Capability::Default => {}
    }
    portable_f32_to_bf16(src, dst)
}

/// A float16 widened (exact), branch-free so that a loop over it vectorises at any SIMD
/// level (`half`'s conversion checks for F16C at run time on each call, which keeps such
/// loops scalar): the magnitude's bits moved to float32's position and scaled by 2^112,
/// exact for normal and subnormal values alike; infinity and NaN (quieted, as `half`
/// and F16C do) set apart; the sign put back.
#[inline(always)]
pub(crate) fn widen_f16(h: f16) -> f32 {
    let h = u32::from(h.to_bits());
    let magnitude = (h & 0x7fff) << 13;
    let scaled = f32::from_bits(magnitude) * f32::from_bits(0x7780_0000);
    let quiet = if h & 0x03ff != 0 { 0x0040_0000 } else { 0 };
    let special = f32::from_bits(magnitude | 0x7f80_0000 | quiet);
    let v = if h & 0x7c00 == 0x7c00 {
        special
    } else {
        scaled
    };
    f32::from_bits(v.to_bits() | (h & 0x8000) << 16)
}

/// A float32 rounded to float16, to nearest even, branch-free (as `widen_f16`, so that a
/// loop over it vectorises at any SIMD level): a subnormal result is rounded by the
/// float addition of 0.5 (whose ulp is float16's subnormal step, 2^-24), a normal one by
/// adding the half-ulp less one plus the lowest kept bit to the rebiased bits (a carry
/// into the exponent is right, up to infinity); NaN is quieted with its top payload bits
/// kept, as `half` and F16C do.
#[inline(always)]
pub(crate) fn narrow_f16(s: f32) -> f16 {
    let x = s.to_bits();
    let sign = (x >> 16) & 0x8000;
    let a = x & 0x7fff_ffff;
    let nan = 0x7e00 | ((a >> 13) & 0x03ff);
    let subnormal = (f32::from_bits(a) + 0.5)
        .to_bits()
        .wrapping_sub(0x3f00_0000);
    let odd = (a >> 13) & 1;
    // (15 - 127) << 23 rebiases the exponent (wrapping: it is negative).
    let normal = a.wrapping_sub(112 << 23).wrapping_add(0x0fff + odd) >> 13;
    let h = if a > 0x7f80_0000 {
        nan
    } else if a >= 0x477f_f000 {
        0x7c00 // 65520 and above round to infinity
    } else if a < 0x3880_0000 {
        subnormal // below 2^-14
    } else {
        normal
    };
    f16::from_bits((h | sign) as u16)
}

/// A bfloat16 widened (exact: the top half of a float32).
#[inline(always)]
pub(crate) fn widen_bf16(b: bf16) -> f32 {
    f32::from_bits(u32::from(b.to_bits()) << 16)
}

/// A float32 rounded to bfloat16, to nearest even; NaN stays a (quiet) NaN. In a loop
/// it vectorises (a shift, an add and a select).
#[inline(always)]
pub(crate) fn narrow_bf16(s: f32) -> bf16 {
    let x = s.to_bits();
    // Adding 0x7fff plus the lowest kept bit rounds to nearest even; a carry into the
    // exponent is the right answer (up to infinity included).
    let rounded = (x.wrapping_add(0x7fff + ((x >> 16) & 1)) >> 16) as u16;
    let nan = ((x >> 16) as u16) | 0x0040;
    bf16::from_bits(if s.is_nan() { nan } else { rounded })
}

/// The bfloat16 loops, inlined into each SIMD level's copy to be vectorised for it.
#[inline(always)]
pub(crate) fn portable_bf16_to_f32(src: &[bf16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = widen_bf16(*s);
    }
}

#[inline(always)]
pub(crate) fn portable_f32_to_bf16(src: &[f32], dst: &mut [bf16]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = narrow_bf16(*s);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use half::{bf16, f16};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn bf16_to_f32_avx2(src: &[bf16], dst: &mut [f32]) {
        super::portable_bf16_to_f32(src, dst)
    }

    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn f32_to_bf16_avx2(src: &[f32], dst: &mut [bf16]) {
        super::portable_f32_to_bf16(src, dst)
    }

    /// # Safety
    /// The CPU must have AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn bf16_to_f32_avx512(src: &[bf16], dst: &mut [f32]) {
        super::portable_bf16_to_f32(src, dst)
    }

    /// # Safety
    /// The CPU must have AVX-512 F and BW.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn f32_to_bf16_avx512(src: &[f32], dst: &mut [bf16]) {
        super::portable_f32_to_bf16(src, dst)
    }

    /// 16 at a time (AVX-512 F has both conversions), then the 8-wide loop's.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, AVX and F16C.
    #[target_feature(enable = "avx512f,avx,f16c")]
    pub unsafe fn f16_to_f32_avx512(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n elements of both slices; unaligned loads and stores.
            let h = unsafe { _mm256_loadu_si256(src.as_ptr().add(i) as *const __m256i) };
            unsafe { _mm512_storeu_ps(dst.as_mut_ptr().add(i), _mm512_cvtph_ps(h)) };
            i += 16;
        }
        // SAFETY: the caller's contract includes AVX and F16C.
        unsafe { f16_to_f32(&src[i..n], &mut dst[i..n]) }
    }

    /// # Safety
    /// The CPU must have AVX-512 F, AVX and F16C.
    #[target_feature(enable = "avx512f,avx,f16c")]
    pub unsafe fn f32_to_f16_avx512(src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: as above. Rounding: to nearest even (not from MXCSR).
            let v = unsafe { _mm512_loadu_ps(src.as_ptr().add(i)) };
            let h = _mm512_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().add(i) as *mut __m256i, h) };
            i += 16;
        }
        // SAFETY: the caller's contract includes AVX and F16C.
        unsafe { f32_to_f16(&src[i..n], &mut dst[i..n]) }
    }

    /// # Safety
    /// The CPU must have F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub unsafe fn f16_to_f32(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n elements of both slices; unaligned loads and stores.
            let h = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
            _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            i += 8;
        }
        super::portable_f16_to_f32(&src[i..n], &mut dst[i..n]);
    }

    /// # Safety
    /// The CPU must have F16C and AVX.
    #[target_feature(enable = "avx,f16c")]
    pub unsafe fn f32_to_f16(src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: as above. Rounding: to nearest even (not from MXCSR).
            let v = _mm256_loadu_ps(src.as_ptr().add(i));
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v);
            _mm_storeu_si128(dst.as_mut_ptr().add(i) as *mut __m128i, h);
            i += 8;
        }
        super::portable_f32_to_f16(&src[i..n], &mut dst[i..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every float16/bfloat16 bit pattern.
    fn all_bits() -> Vec<u16> {
        (0..=u16::MAX).collect()
    }

    /// float32 values around every rounding boundary of both half types (ties, one ulp
    /// either side), the extremes, subnormals, infinities and NaNs.
    fn boundary_f32s() -> Vec<f32> {
        let mut v = Vec::new();
        for h in all_bits() {
            for base in [u32::from(h) << 16, u32::from(h) << 13] {
                for d in [
                    0u32, 1, 0x0fff, 0x1000, 0x1001, 0x7fff, 0x8000, 0x8001, 0xffff,
                ] {
                    v.push(f32::from_bits(base.wrapping_add(d)));
                    v.push(f32::from_bits(base.wrapping_sub(d)));
                }
            }
        }
        v.extend([
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-45,
            65504.0,
            65520.0,
            65519.99,
        ]);
        v.extend([f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN]);
        v
    }

    fn same_f32(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn widen_f16_matches_the_scalar_conversion_bit_for_bit() {
        for h in all_bits().into_iter().map(f16::from_bits) {
            let (want, got) = (h.to_f32(), widen_f16(h));
            assert!(
                want.to_bits() == got.to_bits() || (want.is_nan() && got.is_nan()),
                "{h:?}"
            );
            assert_eq!(want.is_sign_negative(), got.is_sign_negative(), "{h:?}");
        }
    }

    /// float32 bit patterns from a fixed-seed generator (every exponent, random
    /// mantissas), beside the boundary values.
    fn spread_f32s() -> Vec<f32> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut v = boundary_f32s();
        v.extend((0..1 << 20).map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            f32::from_bits((state >> 32) as u32)
        }));
        v
    }

    #[test]
    fn narrow_f16_matches_the_software_conversion_bit_for_bit() {
        // `from_f32_const` never uses F16C: the reference on every machine. NaNs
        // included: the payload's top bits are kept and the result is quiet.
        for x in spread_f32s() {
            let (want, got) = (f16::from_f32_const(x), narrow_f16(x));
            assert_eq!(want.to_bits(), got.to_bits(), "{x:e} ({:#x})", x.to_bits());
        }
    }

    #[test]
    fn bfloat16_matches_the_scalar_conversions_on_every_path() {
        let h: Vec<bf16> = all_bits().into_iter().map(bf16::from_bits).collect();
        let f = boundary_f32s();
        type Widen = fn(&[bf16], &mut [f32]);
        type Narrow = fn(&[f32], &mut [bf16]);
        #[allow(unused_mut)] // (only x86_64 adds paths)
        let mut paths: Vec<(Widen, Narrow)> = vec![(portable_bf16_to_f32, portable_f32_to_bf16)];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                // SAFETY: detected just above.
                paths.push((
                    |s, d| unsafe { x86::bf16_to_f32_avx2(s, d) },
                    |s, d| unsafe { x86::f32_to_bf16_avx2(s, d) },
                ));
            }
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") {
                // SAFETY: detected just above.
                paths.push((
                    |s, d| unsafe { x86::bf16_to_f32_avx512(s, d) },
                    |s, d| unsafe { x86::f32_to_bf16_avx512(s, d) },
                ));
            }
        }
        for (widen, narrow) in paths {
            let mut w = vec![0f32; h.len()];
            widen(&h, &mut w);
            for (x, y) in h.iter().zip(&w) {
                assert!(same_f32(x.to_f32(), *y), "{x:?}");
            }
            let mut n = vec![bf16::ZERO; f.len()];
            narrow(&f, &mut n);
            for (x, y) in f.iter().zip(&n) {
                let want = bf16::from_f32(*x);
                assert!(
                    want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                    "{x:e}"
                );
            }
        }
    }

    #[test]
    fn float16_matches_the_scalar_conversions_on_every_path() {
        let h: Vec<f16> = all_bits().into_iter().map(f16::from_bits).collect();
        let f = boundary_f32s();
        type Widen = fn(&[f16], &mut [f32]);
        type Narrow = fn(&[f32], &mut [f16]);
        #[allow(unused_mut)] // (only x86_64 adds paths)
        let mut paths: Vec<(Widen, Narrow)> = vec![(portable_f16_to_f32, portable_f32_to_f16)];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("f16c") && is_x86_feature_detected!("avx") {
            // SAFETY: detected just above.
            paths.push((
                |s, d| unsafe { x86::f16_to_f32(s, d) },
                |s, d| unsafe { x86::f32_to_f16(s, d) },
            ));
        }
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("f16c") {
            // SAFETY: detected just above (with AVX, which AVX-512 F implies).
            paths.push((
                |s, d| unsafe { x86::f16_to_f32_avx512(s, d) },
                |s, d| unsafe { x86::f32_to_f16_avx512(s, d) },
            ));
        }
        for (widen, narrow) in paths {
            // Odd lengths: the 16- and 8-wide loops and their scalar tails.
            for len in [h.len(), 13, 29, 45] {
                let mut w = vec![0f32; len];
                widen(&h[..len], &mut w);
                for (x, y) in h.iter().zip(&w) {
                    assert!(same_f32(x.to_f32(), *y), "{x:?}");
                }
            }
            let mut n = vec![f16::ZERO; f.len() - 3];
            narrow(&f[..f.len() - 3], &mut n);
            for (x, y) in f.iter().zip(&n) {
                let want = f16::from_f32(*x);
                assert!(
                    want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                    "{x:e}"
                );
            }
        }
    }
}
