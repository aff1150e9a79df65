//! "Did you mean" suggestions by edit distance.

/// Optimal-string-alignment distance (Levenshtein plus adjacent swaps),
/// comparing ASCII case-insensitively.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
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

/// The candidate closest to `word`, if it is close enough to be a likely typo:
/// distance at most 1 for words up to 4 characters, 2 up to 9, 3 beyond.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let limit = match len {
        0..=4 => 1,
        5..=9 => 2,
        _ => 3,
    };
    // The distance is at least the difference in length: skipping those
    // candidates keeps a long unknown word (a garbage line in a 16 MiB file)
    // linear instead of costing its length times every keyword's.
    candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(len) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
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
