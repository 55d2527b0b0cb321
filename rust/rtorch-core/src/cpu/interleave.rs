//! Splitting a row of floats into its even and odd elements, and merging them back:
//! loops that compilers leave scalar, written with shuffles for AVX-512 and AVX2 (the
//! Winograd convolution's column split and output rows).

use super::math::Capability;

/// `first[j] = src[2j]` and `second[j] = src[2j + 1]` for the whole pairs of `src`
/// (`first` and `second` have room for them), with the kernels of `level`.
pub fn deinterleave(level: Capability, src: &[f32], first: &mut [f32], second: &mut [f32]) {
    let pairs = src.len() / 2;
    let (first, second) = (&mut first[..pairs], &mut second[..pairs]);
    let done = match level {
        // SAFETY: `level` is a level the CPU supports (from `capability()`); the
        // kernels stay inside the three slices, whose lengths they are given.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { x86::deinterleave_avx512(src, first, second) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { x86::deinterleave_avx2(src, first, second) },
        _ => 0,
    };
    for ((p, a), b) in src[2 * done..]
        .chunks_exact(2)
        .zip(&mut first[done..])
        .zip(&mut second[done..])
    {
        *a = p[0];
        *b = p[1];
    }
}

/// `dst[2j] = first[j]`, `dst[2j + 1] = second[j]` for the whole pairs of `dst`, with
/// the kernels of `level`.
pub fn interleave(level: Capability, first: &[f32], second: &[f32], dst: &mut [f32]) {
    let pairs = dst.len() / 2;
    let (first, second) = (&first[..pairs], &second[..pairs]);
    let done = match level {
        // SAFETY: as in `deinterleave`.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { x86::interleave_avx512(first, second, dst) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { x86::interleave_avx2(first, second, dst) },
        _ => 0,
    };
    for ((p, a), b) in dst[2 * done..]
        .chunks_exact_mut(2)
        .zip(&first[done..])
        .zip(&second[done..])
    {
        p[0] = *a;
        p[1] = *b;
    }
}

/// The kernels: each handles whole vectors of pairs and answers how many pairs it
/// did; `first` and `second` have `src.len() / 2` (`dst.len() / 2`) elements.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    const EVEN: [i32; 16] = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30];
    const ODD: [i32; 16] = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31];
    const LOW: [i32; 16] = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
    const HIGH: [i32; 16] = [8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31];

    #[target_feature(enable = "avx512f")]
    pub unsafe fn deinterleave_avx512(src: &[f32], first: &mut [f32], second: &mut [f32]) -> usize {
        let n = first.len() / 16 * 16;
        // SAFETY: the index vectors are 16 i32 each; pair block j..j+16 reads
        // src[2j..2j+32] and writes first/second[j..j+16], in bounds for j + 16 <= n
        // (src has 2 * first.len() elements or more).
        unsafe {
            let (even, odd) = (
                _mm512_loadu_si512(EVEN.as_ptr().cast()),
                _mm512_loadu_si512(ODD.as_ptr().cast()),
            );
            for j in (0..n).step_by(16) {
                let lo = _mm512_loadu_ps(src.as_ptr().add(2 * j));
                let hi = _mm512_loadu_ps(src.as_ptr().add(2 * j + 16));
                _mm512_storeu_ps(
                    first.as_mut_ptr().add(j),
                    _mm512_permutex2var_ps(lo, even, hi),
                );
                _mm512_storeu_ps(
                    second.as_mut_ptr().add(j),
                    _mm512_permutex2var_ps(lo, odd, hi),
                );
            }
        }
        n
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn deinterleave_avx2(src: &[f32], first: &mut [f32], second: &mut [f32]) -> usize {
        let n = first.len() / 8 * 8;
        // SAFETY: as the AVX-512 kernel, in blocks of 8 pairs.
        unsafe {
            for j in (0..n).step_by(8) {
                let lo = _mm256_loadu_ps(src.as_ptr().add(2 * j));
                let hi = _mm256_loadu_ps(src.as_ptr().add(2 * j + 8));
                // [lo0 lo2 hi0 hi2 | lo4 lo6 hi4 hi6], then the 64-bit lanes in
                // order 0, 2, 1, 3; the odd ones alike.
                let e = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
                let o = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
                let fix = |v: __m256| {
                    _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
                };
                _mm256_storeu_ps(first.as_mut_ptr().add(j), fix(e));
                _mm256_storeu_ps(second.as_mut_ptr().add(j), fix(o));
            }
        }
        n
    }

    #[target_feature(enable = "avx512f")]
    pub unsafe fn interleave_avx512(first: &[f32], second: &[f32], dst: &mut [f32]) -> usize {
        let n = first.len() / 16 * 16;
        // SAFETY: block j..j+16 reads first/second[j..j+16] and writes
        // dst[2j..2j+32], in bounds for j + 16 <= n.
        unsafe {
            let (low, high) = (
                _mm512_loadu_si512(LOW.as_ptr().cast()),
                _mm512_loadu_si512(HIGH.as_ptr().cast()),
            );
            for j in (0..n).step_by(16) {
                let a = _mm512_loadu_ps(first.as_ptr().add(j));
                let b = _mm512_loadu_ps(second.as_ptr().add(j));
                _mm512_storeu_ps(
                    dst.as_mut_ptr().add(2 * j),
                    _mm512_permutex2var_ps(a, low, b),
                );
                _mm512_storeu_ps(
                    dst.as_mut_ptr().add(2 * j + 16),
                    _mm512_permutex2var_ps(a, high, b),
                );
            }
        }
        n
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn interleave_avx2(first: &[f32], second: &[f32], dst: &mut [f32]) -> usize {
        let n = first.len() / 8 * 8;
        // SAFETY: as the AVX-512 kernel, in blocks of 8 pairs.
        unsafe {
            for j in (0..n).step_by(8) {
                let a = _mm256_loadu_ps(first.as_ptr().add(j));
                let b = _mm256_loadu_ps(second.as_ptr().add(j));
                // [a0 b0 a1 b1 | a4 b4 a5 b5] and [a2 b2 a3 b3 | a6 b6 a7 b7]: the
                // low halves of both, then the high halves.
                let lo = _mm256_unpacklo_ps(a, b);
                let hi = _mm256_unpackhi_ps(a, b);
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(2 * j),
                    _mm256_permute2f128_ps::<0x20>(lo, hi),
                );
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(2 * j + 8),
                    _mm256_permute2f128_ps::<0x31>(lo, hi),
                );
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::math::capability;

    /// Every length from empty to past two AVX-512 blocks (tails of every size), at
    /// each level up to the machine's.
    #[test]
    fn shuffles_match_the_scalar_loops() {
        let levels = [Capability::Default, Capability::Avx2, Capability::Avx512];
        for level in levels.into_iter().filter(|&l| l <= capability()) {
            for len in 0..70 {
                let src: Vec<f32> = (0..len).map(|i| i as f32).collect();
                let (mut a, mut b) = (vec![-1.0; len / 2 + 1], vec![-1.0; len / 2 + 1]);
                deinterleave(level, &src, &mut a, &mut b);
                for j in 0..len / 2 {
                    assert_eq!(
                        (a[j], b[j]),
                        ((2 * j) as f32, (2 * j + 1) as f32),
                        "{level:?} {len}"
                    );
                }
                assert_eq!((a[len / 2], b[len / 2]), (-1.0, -1.0), "{level:?} {len}");
                let mut dst = vec![-1.0; len];
                interleave(level, &a, &b, &mut dst);
                let pairs = 2 * (len / 2);
                assert_eq!(&dst[..pairs], &src[..pairs], "{level:?} {len}");
                assert!(dst[pairs..].iter().all(|&v| v == -1.0), "{level:?} {len}");
            }
        }
    }
}
