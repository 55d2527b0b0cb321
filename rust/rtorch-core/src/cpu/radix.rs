//! Sorting of `u64` keys by their bytes (least significant first), for sorts that need
//! the keys alone (`unique` without its inverse or counts). Bytes every key shares are
//! skipped: int64 values below 2^24 take three passes instead of eight. (`unique` of 1M
//! random int64 below 100,000 went from 58 to 7.4 ms with this and block-cached
//! buffers, from sorting (key, position) pairs by comparison.)

/// Below this many keys the comparison sort is as fast and allocates nothing.
const SMALL: usize = 2048;

/// Sorts `keys` ascending (unstable: equal keys are indistinguishable), with `tmp` (as
/// long as `keys`, contents unspecified) as the second buffer; returns the one that
/// holds the sorted keys (the other holds garbage).
pub fn sort_u64<'a>(keys: &'a mut [u64], tmp: &'a mut [u64]) -> &'a [u64] {
    let n = keys.len().min(tmp.len());
    if n < SMALL {
        keys.sort_unstable();
        return keys;
    }
    let (mut src, mut dst) = (&mut keys[..n], &mut tmp[..n]);
    // Which bits vary at all (one vectorised pass); a byte that does not is skipped.
    let (any, all) = src
        .iter()
        .fold((0u64, u64::MAX), |(any, all), &k| (any | k, all & k));
    let varying = any ^ all;
    for shift in (0..64).step_by(8) {
        if (varying >> shift) & 0xff == 0 {
            continue;
        }
        let digit = |k: u64| ((k >> shift) & 0xff) as usize;
        let mut next = [0usize; 256];
        for &k in src.iter() {
            next[digit(k)] += 1;
        }
        let mut total = 0;
        for slot in next.iter_mut() {
            let c = *slot;
            *slot = total;
            total += c;
        }
        for &k in src.iter() {
            let d = digit(k);
            // (In bounds: `next[d]` stays below the digit's end, at most n.)
            dst[next[d]] = k;
            next[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    src
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the comparison sort: keys with every byte varying, with some bytes
    /// constant (skipped), duplicates, the extremes, short and long inputs.
    #[test]
    fn sorts_like_the_comparison_sort() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (n, mask, or) in [
            (0, u64::MAX, 0),
            (5, u64::MAX, 0),
            (3000, u64::MAX, 0),
            (5000, 0xff_ffff, 1 << 63),
            (4099, 0xff00_00ff_0000, 0),
            (10_000, 0x3f, 0),
        ] {
            let mut keys: Vec<u64> = (0..n).map(|_| (next() & mask) | or).collect();
            if n > 10 {
                keys[3] = u64::MAX;
                keys[7] = 0;
            }
            let mut want = keys.clone();
            want.sort_unstable();
            let mut tmp = vec![0; n];
            assert_eq!(sort_u64(&mut keys, &mut tmp), want, "n {n} mask {mask:x}");
        }
    }
}
