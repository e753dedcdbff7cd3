//! Sharing one budget among links: max-min fair ("water filling"). Nobody gets more
//! than it wants, what one link cannot use goes to the others, and links that want
//! more than their share all get the same.

use super::units::Bitrate;

/// Splits `budget` among `wants`; the result has one entry per want, in order, and
/// never sums to more than `budget`.
pub(crate) fn max_min_fair(budget: Bitrate, wants: &[Bitrate]) -> Vec<Bitrate> {
    let mut shares = vec![Bitrate::ZERO; wants.len()];
    let mut left = budget;
    // The smallest want first (of equal ones, the first). Picked one at a time rather
    // than sorted: a few links, and a sort adds a few KB to the app's wasm.
    let mut waiting: Vec<usize> = (0..wants.len()).collect();
    while let Some(k) = (0..waiting.len()).min_by_key(|&k| wants[waiting[k]]) {
        let remaining_links = waiting.len() as u64;
        let i = waiting.remove(k);
        let fair = Bitrate::bps(left.as_bps() / remaining_links);
        shares[i] = wants[i].min(fair);
        left = left - shares[i];
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kbps(v: &[u64]) -> Vec<Bitrate> {
        v.iter().map(|k| Bitrate::kbps(*k)).collect()
    }

    #[test]
    fn what_a_small_want_leaves_goes_to_the_others() {
        assert_eq!(
            max_min_fair(Bitrate::kbps(900), &kbps(&[100, 1000, 1000])),
            kbps(&[100, 400, 400])
        );
        assert_eq!(
            max_min_fair(Bitrate::kbps(900), &kbps(&[1000, 0, 50])),
            kbps(&[850, 0, 50])
        );
        assert_eq!(
            max_min_fair(Bitrate::kbps(900), &kbps(&[100, 200])),
            kbps(&[100, 200])
        );
        assert!(max_min_fair(Bitrate::kbps(900), &[]).is_empty());
    }

    proptest! {
        #[test]
        fn shares_fit_the_budget_and_the_wants(
            budget in 0u64..10_000_000,
            wants in proptest::collection::vec(0u64..3_000_000, 0..8),
        ) {
            let wants: Vec<Bitrate> = wants.into_iter().map(Bitrate::bps).collect();
            let shares = max_min_fair(Bitrate::bps(budget), &wants);
            prop_assert!(shares.iter().copied().sum::<Bitrate>() <= Bitrate::bps(budget));
            for (s, w) in shares.iter().zip(&wants) {
                prop_assert!(s <= w);
            }
            // Whoever got less than it wanted got at least as much as anyone else.
            let capped = shares.iter().zip(&wants).filter(|(s, w)| s < w).map(|(s, _)| *s);
            if let Some(min_capped) = capped.min() {
                prop_assert!(shares.iter().all(|s| *s <= min_capped + Bitrate::bps(wants.len() as u64)));
            }
        }
    }
}
