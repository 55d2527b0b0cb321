//! The Winograd weight gradient's transform of `dy` tiles, over runs of channels:
//! `A dy A^T` for `dy = [[a, b], [c, d]]`, where `a`, `b`, `c` and `d` are the runs of
//! one tile's four outputs over every output channel (`dy` channels-last). Written
//! with AVX-512 (masked tails) and AVX2 registers: compilers leave the sixteen
//! interleaved output streams scalar.

use super::math::Capability;

/// The sixteen values of `A dy A^T` (row-major 4x4) for one channel: rows (a, b),
/// (a + c, b + d), (a - c, b - d), (-c, -d), each row (u, v) giving
/// (u, u + v, u - v, -v). The SIMD kernels compute the same operations.
#[inline(always)]
fn tile(a: f32, b: f32, c: f32, d: f32) -> [f32; 16] {
    let (t0, t1, t2, t3) = (a + c, b + d, a - c, b - d);
    [
        a,
        a + b,
        a - b,
        -b,
        t0,
        t0 + t1,
        t0 - t1,
        -t1,
        t2,
        t2 + t3,
        t2 - t3,
        -t3,
        -c,
        -c - d,
        -c + d,
        d,
    ]
}

/// `z[j * stride + k] = tile(a[k], b[k], c[k], d[k])[j]` for every channel `k`.
///
/// # Panics
/// If `b`, `c` or `d` is shorter than `a`, or `z` shorter than `15 * stride + a.len()`.
pub fn transform(level: Capability, [a, b, c, d]: [&[f32]; 4], z: &mut [f32], stride: usize) {
    let co = a.len();
    let (b, c, d) = (&b[..co], &c[..co], &d[..co]);
    if co == 0 {
        return;
    }
    assert!(z.len() >= 15 * stride + co, "winograd_dy: output too short");
    let done = match level {
        // SAFETY: `level` is a level the CPU supports (from `capability()`); the four
        // inputs have `co` elements and `z` covers every `j * stride + k` (checked).
        #[cfg(target_arch = "x86_64")]
        Capability::Avx512 => unsafe { x86::avx512([a, b, c, d], z.as_mut_ptr(), stride, co) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Capability::Avx2 => unsafe { x86::avx2([a, b, c, d], z.as_mut_ptr(), stride, co) },
        _ => 0,
    };
    for k in done..co {
        for (j, v) in tile(a[k], b[k], c[k], d[k]).into_iter().enumerate() {
            z[j * stride + k] = v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Every channel, 16 at a time with masked tails; answers how many it did.
    ///
    /// # Safety
    /// AVX-512F is present; the inputs have `co` elements; `z` is valid for writes at
    /// every `j * stride + k` (`j < 16`, `k < co`).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512(inp: [&[f32]; 4], z: *mut f32, stride: usize, co: usize) -> usize {
        // SAFETY: masked loads and stores touch lanes k..min(k + 16, co) only.
        unsafe {
            let sign = _mm512_set1_epi32(i32::MIN);
            let neg =
                |x: __m512| _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), sign));
            for k in (0..co).step_by(16) {
                let m: __mmask16 = if co - k >= 16 {
                    0xffff
                } else {
                    (1u16 << (co - k)) - 1
                };
                let [a, b, c, d] = inp.map(|s| _mm512_maskz_loadu_ps(m, s.as_ptr().add(k)));
                let (t0, t1) = (_mm512_add_ps(a, c), _mm512_add_ps(b, d));
                let (t2, t3) = (_mm512_sub_ps(a, c), _mm512_sub_ps(b, d));
                let nc = neg(c);
                let out = [
                    a,
                    _mm512_add_ps(a, b),
                    _mm512_sub_ps(a, b),
                    neg(b),
                    t0,
                    _mm512_add_ps(t0, t1),
                    _mm512_sub_ps(t0, t1),
                    neg(t1),
                    t2,
                    _mm512_add_ps(t2, t3),
                    _mm512_sub_ps(t2, t3),
                    neg(t3),
                    nc,
                    _mm512_sub_ps(nc, d),
                    _mm512_add_ps(nc, d),
                    d,
                ];
                for (j, v) in out.into_iter().enumerate() {
                    _mm512_mask_storeu_ps(z.add(j * stride + k), m, v);
                }
            }
        }
        co
    }

    /// Channels 8 at a time; answers how many it did (the whole vectors).
    ///
    /// # Safety
    /// As [`avx512`], with AVX2 present.
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(inp: [&[f32]; 4], z: *mut f32, stride: usize, co: usize) -> usize {
        let whole = co / 8 * 8;
        // SAFETY: loads and stores of lanes k..k + 8 <= co.
        unsafe {
            let sign = _mm256_set1_ps(-0.0);
            let neg = |x: __m256| _mm256_xor_ps(x, sign);
            for k in (0..whole).step_by(8) {
                let [a, b, c, d] = inp.map(|s| _mm256_loadu_ps(s.as_ptr().add(k)));
                let (t0, t1) = (_mm256_add_ps(a, c), _mm256_add_ps(b, d));
                let (t2, t3) = (_mm256_sub_ps(a, c), _mm256_sub_ps(b, d));
                let nc = neg(c);
                let out = [
                    a,
                    _mm256_add_ps(a, b),
                    _mm256_sub_ps(a, b),
                    neg(b),
                    t0,
                    _mm256_add_ps(t0, t1),
                    _mm256_sub_ps(t0, t1),
                    neg(t1),
                    t2,
                    _mm256_add_ps(t2, t3),
                    _mm256_sub_ps(t2, t3),
                    neg(t3),
                    nc,
                    _mm256_sub_ps(nc, d),
                    _mm256_add_ps(nc, d),
                    d,
                ];
                for (j, v) in out.into_iter().enumerate() {
                    _mm256_storeu_ps(z.add(j * stride + k), v);
                }
            }
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::math::capability;

    /// Each level against the scalar formula, bit for bit, on channel counts with
    /// every tail (and empty), values including signed zeros.
    #[test]
    fn levels_match_the_scalar_tile() {
        let levels = [Capability::Default, Capability::Avx2, Capability::Avx512];
        for level in levels.into_iter().filter(|&l| l <= capability()) {
            for co in 0..40 {
                let vals = |s: usize| -> Vec<f32> {
                    (0..co)
                        .map(|k| [0.0, -0.0, 1.5, -2.25, 3.0][(k + s) % 5] * (k + 1) as f32)
                        .collect()
                };
                let (a, b, c, d) = (vals(0), vals(1), vals(2), vals(3));
                let stride = co + 3;
                let mut z = vec![f32::NAN; 16 * stride];
                transform(level, [&a, &b, &c, &d], &mut z, stride);
                for k in 0..co {
                    let want = tile(a[k], b[k], c[k], d[k]);
                    for j in 0..16 {
                        assert_eq!(
                            z[j * stride + k].to_bits(),
                            want[j].to_bits(),
                            "{level:?} {co} {k} {j}"
                        );
                    }
                }
            }
        }
    }
}
