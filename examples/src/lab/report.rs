//! The side-by-side comparison of two runs' [`Figures`]: ours against
//! keepalived, medians and their ratio, then every sample.

#[cfg(doc)]
use super::harness::ALIGN_DELAY;
use super::series::{Measure, Series, ratio};
use super::timeline::Timeline;

/// Figures measured in one run, for the side-by-side table: one sample per
/// repetition of each fault.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Client-visible outage when NODE01's link is cut [`ALIGN_DELAY`]
    /// after one of its adverts.
    pub link_cut_outage: Series,
    /// From NODE01's last advert before the cut to NODE02's first advert.
    pub link_cut_advert_gap: Series,
    /// From restoring NODE01's link to NODE01 holding the VIP alone again.
    pub link_restored_preempt: Series,
    /// Client-visible outage when NODE01's director is stopped (SIGTERM);
    /// one sample (the stop is not repeated).
    pub sigterm_outage: Series,
    /// From killing WWW2's HTTP server ([`ALIGN_DELAY`] after NODE01's
    /// check reached it) to its removal from IPVS.
    pub http_removal: Series,
    /// Failed client requests (one every 20 ms) in each of those times.
    pub http_failed_requests: Vec<usize>,
    /// From restarting it to its return to IPVS.
    pub http_readd: Series,
    /// From killing a backend's DNS server ([`ALIGN_DELAY`] after NODE01's
    /// check reached it) to its removal from IPVS.
    pub dns_removal: Series,
    /// From restarting it to its return to IPVS.
    pub dns_readd: Series,
    /// Whether an established TCP connection survived the failover.
    pub connection_survived: Option<bool>,
    /// What was recorded around each timed fault, in the order run (the
    /// HTML report's timelines).
    pub timelines: Vec<Timeline>,
}

/// The side-by-side table: ours vs keepalived, the median of each measure's
/// phase-aligned samples, with the ratio of medians (ours / keepalived),
/// then every sample with its min and max.
///
/// These are figures, not verdicts: a speed target is never a pass/fail
/// test here. The samples are aligned (see the module docs) so that the
/// medians compare the implementations rather than the random phase at
/// which a single fault happened to land; the VRRP timing itself is also
/// compared, phase-aligned, by lvs-vrrp's `failover_ratio` example.
pub fn comparison(ours: &Figures, theirs: &Figures) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "{:<44} {:>10} {:>11} {:>7}\n",
        "measure (median; seconds unless said)", "director", "keepalived", "ratio"
    ));
    // `true`: a target of the issue (no worse than keepalived).
    let durations: [(&str, &Series, &Series, bool); 8] = [
        (
            "client outage, NODE01 link cut",
            &ours.link_cut_outage,
            &theirs.link_cut_outage,
            true,
        ),
        (
            "NODE01's last advert -> NODE02's first",
            &ours.link_cut_advert_gap,
            &theirs.link_cut_advert_gap,
            false,
        ),
        (
            "link restored -> NODE01 sole VIP holder",
            &ours.link_restored_preempt,
            &theirs.link_restored_preempt,
            false,
        ),
        (
            "client outage, NODE01 SIGTERM",
            &ours.sigterm_outage,
            &theirs.sigterm_outage,
            true,
        ),
        (
            "HTTP backend killed -> removed",
            &ours.http_removal,
            &theirs.http_removal,
            true,
        ),
        (
            "HTTP backend restarted -> re-added",
            &ours.http_readd,
            &theirs.http_readd,
            false,
        ),
        (
            "DNS backend killed -> removed",
            &ours.dns_removal,
            &theirs.dns_removal,
            true,
        ),
        (
            "DNS backend restarted -> re-added",
            &ours.dns_readd,
            &theirs.dns_readd,
            false,
        ),
    ];
    for (name, a, b, target) in durations {
        row(&mut text, name, a, b, target);
    }
    let counts = |v: &[usize]| Series::<usize> {
        samples: v.iter().copied().map(Some).collect(),
    };
    row(
        &mut text,
        "failed requests while HTTP backend dead",
        &counts(&ours.http_failed_requests),
        &counts(&theirs.http_failed_requests),
        true,
    );
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    text.push_str(&format!(
        "{:<44} {:>10} {:>11}\n",
        "connection survives failover (sync daemon)",
        yes_no(ours.connection_survived),
        yes_no(theirs.connection_survived)
    ));
    text
}

/// One measure: the medians and their ratio, then each side's samples.
fn row<T: Measure>(text: &mut String, name: &str, a: &Series<T>, b: &Series<T>, target: bool) {
    let show = |v: Option<T>| v.map_or_else(|| "-".to_string(), T::text);
    let (ma, mb) = (a.median(), b.median());
    let r = ratio(ma, mb).map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
    text.push_str(&format!(
        "{name:<44} {:>10} {:>11} {r:>7}\n",
        show(ma),
        show(mb)
    ));
    for (who, s) in [("director", a), ("keepalived", b)] {
        text.push_str(&format!(
            "    {who:<10} n={}: {}  (min {}, max {})\n",
            s.samples.len(),
            s.samples_text(),
            show(s.min()),
            show(s.max())
        ));
    }
    if target {
        // Compared as printed, so two equal-looking medians read as equal.
        let note = match (ma.map(T::text), mb.map(T::text)) {
            (Some(a), Some(b)) if a == b => "medians equal",
            _ => match (ma, mb) {
                (Some(a), Some(b)) if a < b => "median better than keepalived's",
                (Some(_), Some(_)) => "median WORSE than keepalived's",
                _ => "not measured on both sides",
            },
        };
        text.push_str(&format!("    ({note}; a figure, not a verdict)\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn series(ms: &[u64]) -> Series {
        Series {
            samples: ms.iter().map(|m| Some(Duration::from_millis(*m))).collect(),
        }
    }

    #[test]
    fn comparison_prints_samples_medians_and_ratio_of_medians() {
        let ours = Figures {
            link_cut_outage: series(&[3930, 3640, 3630]),
            http_removal: series(&[4010, 4012]),
            http_failed_requests: vec![88, 98, 87],
            ..Figures::default()
        };
        let theirs = Figures {
            link_cut_outage: series(&[3980, 3670, 3920]),
            http_removal: Series {
                samples: vec![Some(Duration::from_millis(4009)), None],
            },
            http_failed_requests: vec![100, 100, 101],
            ..Figures::default()
        };
        let t = comparison(&ours, &theirs);
        let line = |start: &str| {
            t.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no line {start:?} in\n{t}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        // Medians 3.64 / 3.92, ratio 0.93.
        let outage = line("client outage, NODE01 link cut");
        assert_eq!(outage[outage.len() - 3..], ["3.64", "3.92", "0.93"]);
        assert!(t.contains("    director   n=3: 3.93 3.64 3.63  (min 3.63, max 3.93)"));
        assert!(t.contains("median better than keepalived's"));
        // 4.011 vs 4.009 print alike: equal, not worse; a timeout shows as such.
        assert!(t.contains("keepalived n=2: 4.01 never  (min 4.01, max 4.01)"));
        assert!(t.contains("medians equal"));
        let failed = line("failed requests while HTTP backend dead");
        assert_eq!(failed[failed.len() - 3..], ["88", "100", "0.88"]);
        // Not measured: a dash, no ratio.
        let sigterm = line("client outage, NODE01 SIGTERM");
        assert_eq!(sigterm[sigterm.len() - 3..], ["-", "-", "-"]);
    }
}
