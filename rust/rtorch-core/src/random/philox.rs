//! The Philox4x32-10 block function (Salmon, Moraes, Dror & Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3", SC 2011), written from the algorithm's definition.
//!
//! Philox is a keyed bijection on 128-bit counters: `philox4x32_10(counter, key)` maps a
//! four-word counter and a two-word key to four pseudo-random 32-bit words. There is no
//! hidden state, so any block of the stream is computed in O(1) from its index. One round
//! multiplies words 0 and 2 by fixed odd constants, keeps both halves of each 64-bit
//! product, mixes the high halves with words 1 and 3 and the key, and permutes the words.
//! Between rounds the key is bumped by a Weyl sequence (the fractional parts of the golden
//! ratio and of sqrt(3)). Ten rounds is the variant that passes TestU01's BigCrush with a
//! safety margin and the one cuRAND and Random123 use by default.
//!
//! Only integer multiplies, xors and adds are used, so a CUDA kernel (with `__umulhi`)
//! reproduces these words bit for bit.

/// Multiplier applied to counter word 0 in every round.
pub const PHILOX_M0: u32 = 0xD251_1F53;
/// Multiplier applied to counter word 2 in every round.
pub const PHILOX_M1: u32 = 0xCD9E_8D57;
/// Weyl increment added to key word 0 between rounds (golden ratio).
pub const PHILOX_W0: u32 = 0x9E37_79B9;
/// Weyl increment added to key word 1 between rounds (sqrt(3) - 1).
pub const PHILOX_W1: u32 = 0xBB67_AE85;
/// Number of rounds of the `-10` variant.
pub const PHILOX_ROUNDS: usize = 10;

/// The low and high 32-bit halves of the 64-bit product `a * b`.
#[inline]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    (p as u32, (p >> 32) as u32)
}

/// One Philox4x32 round with round key `key`.
#[inline]
fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (lo0, hi0) = mulhilo(PHILOX_M0, ctr[0]);
    let (lo1, hi1) = mulhilo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// The key schedule step between two rounds.
#[inline]
fn bump_key(key: [u32; 2]) -> [u32; 2] {
    [
        key[0].wrapping_add(PHILOX_W0),
        key[1].wrapping_add(PHILOX_W1),
    ]
}

/// Philox4x32 with ten rounds: the four random words of block `counter` under `key`.
#[inline]
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut ctr = round(counter, key);
    let mut k = key;
    for _ in 1..PHILOX_ROUNDS {
        k = bump_key(k);
        ctr = round(ctr, k);
    }
    ctr
}

/// The counter of block number `block`: the 128-bit number split little-endian into four
/// 32-bit words (word 0 holds the least significant bits).
#[inline]
pub fn block_counter(block: u128) -> [u32; 4] {
    [
        block as u32,
        (block >> 32) as u32,
        (block >> 64) as u32,
        (block >> 96) as u32,
    ]
}

/// `out[j] = philox4x32_10(block_counter(first + j), key)` for every `j`: sixteen
/// blocks per pass in AVX-512 registers where the CPU has them (the same words as one
/// block at a time; fills spend most of their time here).
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
pub fn philox_blocks(first: u128, key: [u32; 2], out: &mut [[u32; 4]]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::math::capability() == crate::cpu::math::Capability::Avx512 {
        for chunk in out.chunks_exact_mut(16) {
            // SAFETY: AVX-512F is present (the capability check above).
            unsafe { avx512::philox16(first.wrapping_add(done as u128), key, chunk) };
            done += 16;
        }
    }
    for (j, o) in out.iter_mut().enumerate().skip(done) {
        *o = philox4x32_10(block_counter(first.wrapping_add(j as u128)), key);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::*;
    use std::arch::x86_64::*;

    /// The low and high halves of sixteen 32x32-bit products `m * a`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn mulhilo16(m: __m512i, a: __m512i) -> (__m512i, __m512i) {
        // The 64-bit products of the even words and of the odd words (moved down). Low
        // halves: the even products' sit in the even lanes, the odd products' move up
        // into the odd lanes (cheaper than `vpmulld`, a second multiply); high halves:
        // the even products' move down, the odd products' already sit in the odd lanes.
        let even = _mm512_mul_epu32(m, a);
        let odd = _mm512_mul_epu32(m, _mm512_srli_epi64::<32>(a));
        let lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64::<32>(odd));
        let hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64::<32>(even), odd);
        (lo, hi)
    }

    /// Sixteen blocks, counters `first .. first + 16`, into `out` (16 entries).
    #[target_feature(enable = "avx512f")]
    pub fn philox16(first: u128, key: [u32; 2], out: &mut [[u32; 4]]) {
        assert!(out.len() >= 16);
        let [w0, w1, w2, w3] = block_counter(first);
        // Counter words: word 0 counts up across the lanes; when it would wrap inside
        // the sixteen (once in 2^28 passes) the carries are worked out block by block.
        let [mut c0, mut c1, mut c2, mut c3] = if w0 <= u32::MAX - 15 {
            let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            [
                _mm512_add_epi32(_mm512_set1_epi32(w0 as i32), iota),
                _mm512_set1_epi32(w1 as i32),
                _mm512_set1_epi32(w2 as i32),
                _mm512_set1_epi32(w3 as i32),
            ]
        } else {
            let mut words = [[0u32; 16]; 4];
            for j in 0..16 {
                let c = block_counter(first.wrapping_add(j as u128));
                for (w, v) in words.iter_mut().zip(c) {
                    w[j] = v;
                }
            }
            // SAFETY: each load covers one [u32; 16] (64 bytes) of `words`.
            words.map(|w| unsafe { _mm512_loadu_epi32(w.as_ptr() as *const i32) })
        };
        let (m0, m1) = (
            _mm512_set1_epi32(PHILOX_M0 as i32),
            _mm512_set1_epi32(PHILOX_M1 as i32),
        );
        let mut k = key;
        for r in 0..PHILOX_ROUNDS {
            if r > 0 {
                k = bump_key(k);
            }
            let (lo0, hi0) = mulhilo16(m0, c0);
            let (lo1, hi1) = mulhilo16(m1, c2);
            let n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(k[0] as i32));
            let n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(k[1] as i32));
            (c0, c1, c2, c3) = (n0, lo1, n2, lo0);
        }
        // Word-major to block-major (a 4 x 16 transpose): unpacks put block 4L + i in
        // lane L of b[i], lane shuffles gather blocks 4L..4L + 4 into register L.
        let (t0, t1) = (_mm512_unpacklo_epi32(c0, c1), _mm512_unpackhi_epi32(c0, c1));
        let (t2, t3) = (_mm512_unpacklo_epi32(c2, c3), _mm512_unpackhi_epi32(c2, c3));
        let b = [
            _mm512_unpacklo_epi64(t0, t2),
            _mm512_unpackhi_epi64(t0, t2),
            _mm512_unpacklo_epi64(t1, t3),
            _mm512_unpackhi_epi64(t1, t3),
        ];
        let lo01 = _mm512_shuffle_i32x4::<0x44>(b[0], b[1]);
        let hi01 = _mm512_shuffle_i32x4::<0xEE>(b[0], b[1]);
        let lo23 = _mm512_shuffle_i32x4::<0x44>(b[2], b[3]);
        let hi23 = _mm512_shuffle_i32x4::<0xEE>(b[2], b[3]);
        let regs = [
            _mm512_shuffle_i32x4::<0x88>(lo01, lo23),
            _mm512_shuffle_i32x4::<0xDD>(lo01, lo23),
            _mm512_shuffle_i32x4::<0x88>(hi01, hi23),
            _mm512_shuffle_i32x4::<0xDD>(hi01, hi23),
        ];
        let dst = out.as_mut_ptr() as *mut i32;
        for (l, v) in regs.iter().enumerate() {
            // SAFETY: `out` holds at least 16 blocks of four u32 (asserted): register l
            // fills blocks 4l..4l + 4, 64 bytes from u32 16l.
            unsafe { _mm512_storeu_epi32(dst.add(16 * l), *v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_blocks_match_one_at_a_time() {
        for &(first, key, n) in &[
            (0u128, [0u32, 0u32], 16usize),
            (5, [1, 2], 37),
            (u128::from(u64::MAX) - 20, [0xdead_beef, 7], 50),
            (u128::from(u32::MAX) - 3, [u32::MAX, u32::MAX], 33),
            (9, [3, 4], 5),
        ] {
            let mut out = vec![[0u32; 4]; n];
            philox_blocks(first, key, &mut out);
            for (j, o) in out.iter().enumerate() {
                assert_eq!(
                    *o,
                    philox4x32_10(block_counter(first + j as u128), key),
                    "{first} {j}"
                );
            }
        }
    }

    // Known-answer vectors shipped with Random123 (kat_vectors, philox4x32 10 rounds).
    #[test]
    fn known_answer_zero() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
    }

    #[test]
    fn known_answer_all_ones() {
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
    }

    #[test]
    fn known_answer_pi() {
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn counter_layout_is_little_endian() {
        assert_eq!(block_counter(0), [0, 0, 0, 0]);
        assert_eq!(block_counter(1), [1, 0, 0, 0]);
        assert_eq!(block_counter(1 << 32), [0, 1, 0, 0]);
        assert_eq!(block_counter(u128::from(u64::MAX) + 1), [0, 0, 1, 0]);
        assert_eq!(
            block_counter(0x0370_7344_1319_8a2e_85a3_08d3_243f_6a88),
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344]
        );
    }

    #[test]
    fn neighbouring_counters_differ() {
        let a = philox4x32_10(block_counter(0), [1, 2]);
        let b = philox4x32_10(block_counter(1), [1, 2]);
        let c = philox4x32_10(block_counter(0), [1, 3]);
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
