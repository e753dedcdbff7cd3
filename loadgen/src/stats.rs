//! Latency samples and their summary.

/// Relay latencies in microseconds, from every client, summarised at the end.
#[derive(Debug, Default, Clone)]
pub struct Latencies(Vec<u32>);

/// p50 / p99 / max of a run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub count: usize,
    pub p50: u32,
    pub p99: u32,
    pub max: u32,
}

impl Latencies {
    pub fn push(&mut self, micros: u64) {
        self.0.push(u32::try_from(micros).unwrap_or(u32::MAX));
    }

    pub fn extend(&mut self, other: Latencies) {
        self.0.extend(other.0);
    }

    /// Nearest-rank percentiles; `None` without samples.
    pub fn summary(mut self) -> Option<Summary> {
        if self.0.is_empty() {
            return None;
        }
        self.0.sort_unstable();
        let at = |p: f64| {
            // Nearest rank: the smallest sample with at least p of them at or below it.
            let rank = (p * self.0.len() as f64).ceil() as usize;
            self.0[rank.clamp(1, self.0.len()) - 1]
        };
        Some(Summary {
            count: self.0.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: *self.0.last().expect("not empty"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(samples: impl IntoIterator<Item = u64>) -> Latencies {
        let mut l = Latencies::default();
        for s in samples {
            l.push(s);
        }
        l
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = of((1..=100).rev()).summary().unwrap();
        assert_eq!((s.count, s.p50, s.p99, s.max), (100, 50, 99, 100));
        let s = of([7]).summary().unwrap();
        assert_eq!((s.p50, s.p99, s.max), (7, 7, 7));
        // One slow outlier in 1,000 stays out of p99 but sets the max.
        let s = of((0..999).map(|_| 300).chain([90_000])).summary().unwrap();
        assert_eq!((s.p50, s.p99, s.max), (300, 300, 90_000));
    }

    #[test]
    fn nothing_measured_is_no_summary() {
        assert_eq!(Latencies::default().summary(), None);
    }

    #[test]
    fn merged_samples_count_once_each() {
        let mut a = of([1, 2]);
        a.extend(of([3]));
        assert_eq!(a.summary().unwrap().count, 3);
    }
}
