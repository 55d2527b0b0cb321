//! The 32-bit Mersenne Twister (MT19937), kept in the form PyTorch's CPU generator keeps
//! it, so that a seed gives PyTorch's stream and a state moves between the libraries.
//!
//! The state is PyTorch's `mt19937_data_pod`: the seed as given (64 bits; only its low
//! 32 seed the twister), the 624 words, `next` (the word the next draw reads) and `left`
//! (one more than the draws left before the next twist; 1 right after seeding, when no
//! twist has run yet).

/// Words in the state.
pub const STATE_N: usize = 624;
const STATE_M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mt19937 {
    seed: u64,
    left: u32,
    next: u32,
    state: [u32; STATE_N],
}

impl Mt19937 {
    /// The twister seeded with the low 32 bits of `seed` (Knuth's initialisation, as
    /// `std::mt19937` and PyTorch); `seed` itself is kept for [`Mt19937::seed`].
    pub fn new(seed: u64) -> Self {
        let mut state = [0u32; STATE_N];
        state[0] = seed as u32;
        for j in 1..STATE_N {
            let prev = state[j - 1];
            state[j] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(j as u32);
        }
        Mt19937 {
            seed,
            left: 1,
            next: 0,
            state,
        }
    }

    /// A twister from a saved state, or `None` where PyTorch would call the state invalid
    /// (`left` outside 1..=624, `next` past the end, or never seeded).
    pub fn from_parts(
        seed: u64,
        left: i32,
        seeded: bool,
        next: u64,
        state: [u32; STATE_N],
    ) -> Option<Self> {
        let left = u32::try_from(left).ok()?;
        let valid = seeded && (1..=STATE_N as u32).contains(&left) && next <= STATE_N as u64;
        valid.then_some(Mt19937 {
            seed,
            left,
            next: next as u32,
            state,
        })
    }

    /// The seed the twister was made with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// `(left, next, state words)` for a saved state.
    pub fn parts(&self) -> (u32, u32, &[u32; STATE_N]) {
        (self.left, self.next, &self.state)
    }

    /// The next 32-bit value.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let mut one = [0u32];
        self.fill(&mut one);
        one[0]
    }

    /// The next values, in order, into `out`: the words of the current twist first, then
    /// a twist for each further 624.
    pub fn fill(&mut self, mut out: &mut [u32]) {
        while !out.is_empty() {
            // Words left before the next twist. A state restored with `next + left - 1`
            // past the end (PyTorch reads beyond its array there) twists at the end.
            let ready = (self.left as usize - 1).min(STATE_N - self.next as usize);
            if ready == 0 {
                self.twist();
                continue;
            }
            let take = ready.min(out.len());
            let start = self.next as usize;
            let (head, rest) = out.split_at_mut(take);
            for (o, &s) in head.iter_mut().zip(&self.state[start..start + take]) {
                *o = temper(s);
            }
            self.left -= take as u32;
            self.next += take as u32;
            out = rest;
        }
    }

    /// Regenerates all 624 words. `left` becomes 625 and `next` 0: after the first
    /// draw that is PyTorch's (624, 1), where its draw that twists leaves it.
    fn twist(&mut self) {
        let s = &mut self.state;
        // Word i from words i, i + 1 and i + 397 (mod 624); split where the indices wrap
        // so that each loop reads fixed offsets (and vectorises).
        for i in 0..STATE_N - STATE_M {
            s[i] = s[i + STATE_M] ^ twisted(s[i], s[i + 1]);
        }
        for i in STATE_N - STATE_M..STATE_N - 1 {
            s[i] = s[i + STATE_M - STATE_N] ^ twisted(s[i], s[i + 1]);
        }
        s[STATE_N - 1] = s[STATE_M - 1] ^ twisted(s[STATE_N - 1], s[0]);
        self.left = STATE_N as u32 + 1;
        self.next = 0;
    }
}

/// The twist of word `u` with its successor `v`.
#[inline(always)]
fn twisted(u: u32, v: u32) -> u32 {
    let y = (u & UPPER_MASK) | (v & LOWER_MASK);
    (y >> 1) ^ if v & 1 == 1 { MATRIX_A } else { 0 }
}

#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_thousandth_value_of_the_default_seed() {
        // The C++ standard fixes it: the 10000th value of std::mt19937 seeded 5489.
        let mut mt = Mt19937::new(5489);
        let mut v = vec![0u32; 10_000];
        mt.fill(&mut v);
        assert_eq!(v[9_999], 4_123_659_995);
        assert_eq!(v[0], 3_499_211_612);
    }

    #[test]
    fn bulk_and_single_draws_agree_across_twists() {
        let mut a = Mt19937::new(42);
        let mut b = Mt19937::new(42);
        let mut bulk = vec![0u32; 2000];
        a.fill(&mut bulk[..700]);
        a.fill(&mut bulk[700..]);
        let single: Vec<u32> = (0..2000).map(|_| b.next_u32()).collect();
        assert_eq!(bulk, single);
        assert_eq!(a, b);
    }

    #[test]
    fn only_the_low_32_bits_seed_the_state() {
        let mut a = Mt19937::new(7);
        let mut b = Mt19937::new(7 + (1 << 32));
        assert_eq!(a.next_u32(), b.next_u32());
        assert_eq!(b.seed(), 7 + (1 << 32));
    }

    #[test]
    fn state_counters_follow_pytorch() {
        let mut mt = Mt19937::new(3);
        assert_eq!((mt.left, mt.next), (1, 0));
        let mut v = [0u32; 8];
        mt.fill(&mut v);
        assert_eq!((mt.left, mt.next), (617, 8));
        let mut rest = vec![0u32; STATE_N - 8];
        mt.fill(&mut rest);
        assert_eq!((mt.left, mt.next), (1, 624));
    }

    #[test]
    fn invalid_saved_states_are_refused_and_odd_ones_do_not_panic() {
        let words = [5u32; STATE_N];
        assert!(Mt19937::from_parts(1, 0, true, 0, words).is_none());
        assert!(Mt19937::from_parts(1, 625, true, 0, words).is_none());
        assert!(Mt19937::from_parts(1, 3, false, 0, words).is_none());
        assert!(Mt19937::from_parts(1, 3, true, 625, words).is_none());
        assert!(Mt19937::from_parts(1, -1, true, 0, words).is_none());
        let mut odd = Mt19937::from_parts(1, 624, true, 620, words).unwrap();
        let mut v = [0u32; 1000];
        odd.fill(&mut v);
    }
}
