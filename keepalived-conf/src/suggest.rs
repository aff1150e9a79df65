//! "Did you mean" suggestions by edit distance.

/// Optimal-string-alignment distance (Levenshtein plus adjacent swaps),
/// comparing ASCII case-insensitively.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a = lowered(a);
    let b = lowered(b);
    let whole = a.len().max(b.len());
    // Every distance is at most the longer length, so this bound cuts nothing.
    distance_within(&a, &b, whole).unwrap_or(whole)
}

fn lowered(s: &str) -> Vec<char> {
    s.chars().map(|c| c.to_ascii_lowercase()).collect()
}

/// The distance of `a` and `b` if it is at most `limit`, else `None`.
///
/// Only the cells within `limit` of the diagonal are computed, in two
/// rolling rows plus one for swaps, and the scan stops at the first row
/// whose every cell is past `limit`: every unknown word in a block is
/// compared with all of that block's keywords, and the full table per pair
/// (one allocation per row) made parsing a garbage-filled file cost
/// milliseconds per line.
fn distance_within(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let (n, m) = (a.len(), b.len());
    if n.abs_diff(m) > limit {
        return None;
    }
    // Stands for any value past `limit`; cells outside the band hold it,
    // which is exact there as a cell's distance is at least |i - j|.
    let over = limit + 1;
    let mut before: Vec<usize> = vec![over; m + 1];
    let mut prev: Vec<usize> = (0..=m).map(|j| j.min(over)).collect();
    let mut cur: Vec<usize> = vec![over; m + 1];
    for i in 1..=n {
        let lo = i.saturating_sub(limit).max(1);
        let hi = (i + limit).min(m);
        cur.fill(over);
        cur[0] = i.min(over);
        let mut row_min = cur[0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            cur[j] = v.min(over);
            row_min = row_min.min(cur[j]);
        }
        // A cell is never below some cell of the row above (a swap's source
        // two rows up is covered: the diagonal cell between costs at most
        // one more), so no later row can come back within `limit`.
        if row_min > limit {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[m]).filter(|d| *d <= limit)
}

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// distance at most 1 for words up to 4 characters, 2 up to 9, 3 beyond.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = lowered(word);
    let limit = match word.len() {
        0..=4 => 1,
        5..=9 => 2,
        _ => 3,
    };
    // The distance is at least the difference in length: skipping those
    // candidates keeps a long unknown word (a garbage line in a 16 MiB file)
    // linear instead of costing its length times every keyword's.
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if c.chars().count().abs_diff(word.len()) > limit {
            continue;
        }
        // Only a strictly closer candidate can replace the best one (the
        // first of equals wins), so the bound tightens as candidates come.
        let bound = match best {
            None => limit,
            Some((0, _)) => break,
            Some((d, _)) => d - 1,
        };
        if let Some(d) = distance_within(&word, &lowered(c), bound) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("vrp_instance", "vrrp_instance"), 1);
        assert_eq!(edit_distance("tcp_check", "TCP_CHECK"), 0);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    /// The whole table, as it was computed before the band and the early
    /// stop: the reference the bounded distance must agree with.
    fn full_table(a: &str, b: &str) -> usize {
        let a = lowered(a);
        let b = lowered(b);
        let (n, m) = (a.len(), b.len());
        let mut d = vec![vec![0usize; m + 1]; n + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=n {
            for j in 1..=m {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = v;
            }
        }
        d[n][m]
    }

    proptest::proptest! {
        // Small alphabets, so that words are often near each other.
        #[test]
        fn bounded_distance_agrees_with_the_full_table(
            a in "[abcAB_]{0,12}",
            b in "[abcAB_]{0,12}",
            limit in 0usize..6,
        ) {
            let full = full_table(&a, &b);
            proptest::prop_assert_eq!(edit_distance(&a, &b), full);
            let within = distance_within(&lowered(&a), &lowered(&b), limit);
            proptest::prop_assert_eq!(within, (full <= limit).then_some(full));
        }

        #[test]
        fn suggestion_is_the_first_closest_within_the_limit(
            word in "[abc_]{1,12}",
            cands in proptest::collection::vec("[abc_]{1,12}", 0..8),
        ) {
            let limit = match word.chars().count() {
                0..=4 => 1,
                5..=9 => 2,
                _ => 3,
            };
            let expected = cands
                .iter()
                .map(|c| (full_table(&word, c), c.as_str()))
                .filter(|(d, _)| *d <= limit)
                .min_by_key(|(d, _)| *d)
                .map(|(_, c)| c);
            proptest::prop_assert_eq!(suggest(&word, cands.iter().map(String::as_str)), expected);
        }
    }

    #[test]
    fn suggestions() {
        let kws = ["vrrp_instance", "virtual_server", "global_defs"];
        assert_eq!(suggest("vrp_instance", kws), Some("vrrp_instance"));
        assert_eq!(suggest("virtual_sever", kws), Some("virtual_server"));
        assert_eq!(suggest("frobnicate", kws), None);
    }

    #[test]
    fn long_words_are_not_compared_with_every_candidate() {
        // A megabyte-long word gets no suggestion, and without 13 × 1 MiB
        // distance tables per keyword (this took seconds before).
        let word = "x".repeat(1 << 20);
        let started = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(suggest(&word, ["vrrp_instance", "virtual_server"]), None);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Within the length bound the answer is what it was.
        assert_eq!(
            suggest("vrrp_instanceXY", ["vrrp_instance"]),
            Some("vrrp_instance")
        );
        assert_eq!(suggest("vrrp_instanceXYZW", ["vrrp_instance"]), None);
    }
}
