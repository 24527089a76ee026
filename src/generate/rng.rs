//! A small deterministic pseudo-random number generator: SplitMix64 to seed
//! and to hash, xoshiro256** for the streams, Box-Muller for normals.
//!
//! Every stream is derived from `(seed, domain, index)` by hashing, so the
//! numbers a referral gets do not depend on how the work is chunked or which
//! thread runs it.

/// The SplitMix64 output function: a strong 64-bit mixer (a bijection).
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// Named independent streams; each value is mixed into the hash.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub(crate) enum Domain {
    Partnerships = 1,
    Header = 2,
    Person = 3,
    Referral = 4,
}

/// xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from one 64-bit value.
    pub(crate) fn from_u64(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(GOLDEN);
            mix64(x)
        };
        let s = [next(), next(), next(), next()];
        Rng { s }
    }

    /// The stream for one item (`index`) of one `domain` under `seed`.
    pub(crate) fn stream(seed: u64, domain: Domain, index: u64) -> Rng {
        let h = mix64(mix64(seed ^ (domain as u64).wrapping_mul(GOLDEN)) ^ index);
        Rng::from_u64(h)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Uniform integer in `lo..=hi` (`lo <= hi`).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        let span = (hi - lo) as u64 + 1;
        // Lemire's multiply-shift; the tiny bias is irrelevant here.
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as i64
    }

    /// Uniform index in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.range(0, n as i64 - 1) as usize
    }

    /// Standard normal (Box-Muller; one of the pair is used, so the stream
    /// position never depends on earlier calls' parity).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1]
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Pick from `(value, weight)` pairs.
    pub(crate) fn pick<T: Copy>(&mut self, table: &[(T, f64)]) -> T {
        let total: f64 = table.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (v, w) in table {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        table[table.len() - 1].0
    }
}

/// A cumulative table for fast weighted sampling by binary search.
#[derive(Debug, Clone)]
pub(crate) struct Cumulative {
    cum: Vec<f64>,
}

impl Cumulative {
    pub(crate) fn new(weights: &[f64]) -> Cumulative {
        let mut acc = 0.0;
        let cum = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        Cumulative { cum }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
        let total = *self.cum.last().unwrap_or(&0.0);
        let x = rng.f64() * total;
        self.cum
            .partition_point(|c| *c <= x)
            .min(self.cum.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::stream(7, Domain::Referral, 3).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let b = Rng::stream(7, Domain::Referral, 4).next_u64();
        let c = Rng::stream(8, Domain::Referral, 3).next_u64();
        let d = Rng::stream(7, Domain::Person, 3).next_u64();
        assert!(a[0] != b && a[0] != c && a[0] != d);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = Rng::from_u64(1);
        let n = 100_000;
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "var {var}");
    }

    #[test]
    fn range_stays_in_bounds() {
        let mut r = Rng::from_u64(2);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let x = r.range(3, 7);
            assert!((3..=7).contains(&x));
            seen[(x - 3) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn cumulative_matches_weights() {
        let c = Cumulative::new(&[1.0, 0.0, 3.0]);
        let mut r = Rng::from_u64(3);
        let mut counts = [0usize; 3];
        for _ in 0..40_000 {
            counts[c.sample(&mut r)] += 1;
        }
        assert_eq!(counts[1], 0);
        let share = counts[2] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "{share}");
    }
}
