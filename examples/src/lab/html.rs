//! The lab's report as one self-contained HTML page (inline SVG and CSS,
//! no scripts, nothing fetched): for each timed fault a timeline per
//! implementation on a shared time axis (the client's requests per 20 ms
//! slot, the VIP polls, the adverts, the health checks), then the
//! side-by-side table and every verdict.
//!
//! It draws the records the scenarios kept ([`Figures::timelines`] and the
//! figures' samples); it measures nothing itself.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::harness::{NODE01, NODE02};
use super::report::Figures;
use super::seed::Verdict;
use super::timeline::{Fault, Timeline};

/// The prober's period: one request per slot.
pub const SLOT: Duration = Duration::from_millis(20);

/// Fill of a slot whose requests all succeeded.
pub const OK_COLOUR: &str = "#2ca02c";
/// Fill of a slot with a failed request.
pub const FAILED_COLOUR: &str = "#d62728";
/// A VIP lane between two polls that both saw the VIP.
pub const HELD_COLOUR: &str = "#1f77b4";
/// A VIP lane between two polls that both did not see it.
pub const NOT_HELD_COLOUR: &str = "#d9d9d9";
/// Between two polls that disagree: the change happened somewhere there.
pub const CHANGING_COLOUR: &str = "#c6dbef";
/// An advert from NODE01.
pub const NODE01_COLOUR: &str = "#1f77b4";
/// An advert from NODE02.
pub const NODE02_COLOUR: &str = "#ff7f0e";
/// One of NODE01's health checks reaching the backend.
pub const CHECK_COLOUR: &str = "#9467bd";

const WIDTH: f64 = 600.0;
const LABEL: f64 = 118.0;
const PLOT: f64 = WIDTH - LABEL - 12.0;
const LANE: f64 = 16.0;
const GAP: f64 = 6.0;

/// One implementation's run, as a column of the report.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// Its name: `director`, `keepalived`.
    pub name: &'a str,
    /// What its run recorded.
    pub figures: &'a Figures,
}

/// A titled list of verdicts.
#[derive(Debug, Clone, Copy)]
pub struct Verdicts<'a> {
    /// E.g. `gated` or `keepalived (reported, not gated)`.
    pub title: &'a str,
    /// The verdicts, in the order printed.
    pub items: &'a [Verdict],
}

/// `text` with `& < > " '` escaped, for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The client's requests as runs of 20 ms slots: `(first slot, slot count,
/// ok)`, in time order; a slot with any failed request is failed, a slot
/// with no request is left out (a gap between runs).
pub fn slot_runs(samples: &[super::probe::Sample]) -> Vec<(u64, u64, bool)> {
    let mut slots: Vec<(u64, bool)> = Vec::new();
    for s in samples {
        let slot = (s.at.as_nanos() / SLOT.as_nanos()) as u64;
        let ok = matches!(s.reply, super::probe::Reply::Body(_));
        match slots.last_mut() {
            Some((last, all_ok)) if *last == slot => *all_ok &= ok,
            _ => slots.push((slot, ok)),
        }
    }
    let mut runs: Vec<(u64, u64, bool)> = Vec::new();
    for (slot, ok) in slots {
        match runs.last_mut() {
            Some((first, n, run_ok)) if *run_ok == ok && *first + *n == slot => *n += 1,
            _ => runs.push((slot, 1, ok)),
        }
    }
    runs
}

/// The page: a timeline pair per timed fault (in the order run), the
/// side-by-side `table` when there is one, and every verdict.
pub fn render(sides: &[Side<'_>], table: Option<&str>, verdicts: &[Verdicts<'_>]) -> String {
    let mut page = String::new();
    page.push_str(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        "<title>lvs lab report</title>\n<style>\n",
        "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\n",
        ".pair{display:flex;gap:16px;flex-wrap:nowrap}\n",
        "figure{margin:0}figcaption{font-weight:bold;font-size:13px}\n",
        "h3{margin:18px 0 4px;font-size:15px}\n",
        "pre{font-size:12px;background:#f6f6f6;padding:8px}\n",
        ".pass{background:#e8f5e9}.fail{background:#fdecea}\n",
        "li{font-size:13px;margin:2px 0;list-style:none}\n",
        ".legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 12px}\n",
        "</style></head><body>\n<h1>lvs lab report</h1>\n"
    ));
    page.push_str(&legend());
    page.push_str("<h2>Timed faults</h2>\n");
    let mut keys: Vec<(Fault, usize)> = Vec::new();
    for side in sides {
        for t in &side.figures.timelines {
            if !keys.contains(&(t.fault, t.index)) {
                keys.push((t.fault, t.index));
            }
        }
    }
    if keys.is_empty() {
        page.push_str("<p>No timed fault was run.</p>\n");
    }
    for (fault, index) in keys {
        let found: Vec<(Side<'_>, Option<&Timeline>)> = sides
            .iter()
            .map(|s| {
                let t = s
                    .figures
                    .timelines
                    .iter()
                    .find(|t| t.fault == fault && t.index == index);
                (*s, t)
            })
            .collect();
        let _ = writeln!(
            page,
            "<section class=\"fault\"><h3>{} #{}</h3><div class=\"pair\">",
            escape(fault.name()),
            index + 1
        );
        let span = common_span(found.iter().filter_map(|(_, t)| *t));
        let lanes = Lanes::of(found.iter().filter_map(|(_, t)| *t));
        for (side, t) in &found {
            let _ = write!(
                page,
                "<figure><figcaption>{}</figcaption>",
                escape(side.name)
            );
            match t {
                Some(t) => page.push_str(&timeline_svg(t, side.figures, span, lanes)),
                None => page.push_str("<p>not run</p>"),
            }
            page.push_str("</figure>");
        }
        page.push_str("</div></section>\n");
    }
    page.push_str("<h2>Side by side</h2>\n");
    match table {
        Some(t) => {
            let _ = writeln!(page, "<pre>{}</pre>", escape(t));
        }
        None => page.push_str("<p>Only one implementation ran: no table.</p>\n"),
    }
    page.push_str("<h2>Verdicts</h2>\n");
    for group in verdicts {
        let failed = group.items.iter().filter(|v| !v.pass).count();
        let _ = writeln!(
            page,
            "<h3>{} ({} passed, {failed} failed)</h3><ul>",
            escape(group.title),
            group.items.len() - failed
        );
        for v in group.items {
            let (class, mark) = if v.pass {
                ("pass", "PASS")
            } else {
                ("fail", "FAIL")
            };
            let _ = writeln!(
                page,
                "<li class=\"{class}\"><b>{mark}</b> {}: {}</li>",
                escape(&v.item),
                escape(&v.detail)
            );
        }
        page.push_str("</ul>\n");
    }
    page.push_str("</body></html>\n");
    page
}

/// Writes [`render`]'s page to `dir/report.html`; returns its path.
pub fn write(
    dir: &Path,
    sides: &[Side<'_>],
    table: Option<&str>,
    verdicts: &[Verdicts<'_>],
) -> io::Result<PathBuf> {
    let path = dir.join("report.html");
    std::fs::write(&path, render(sides, table, verdicts))?;
    Ok(path)
}

fn legend() -> String {
    let item =
        |colour: &str, what: &str| format!("<span style=\"background:{colour}\"></span>{what}");
    format!(
        "<p class=\"legend\">{}{}{}{}{}{}{}{} &nbsp;time 0 (dashed) is the fault; times in seconds; \
         a blank 20 ms slot is one in which the prober started no request; \
         a dark tick on a VIP lane is a poll.</p>\n",
        item(OK_COLOUR, "request ok"),
        item(FAILED_COLOUR, "request failed (per 20 ms slot)"),
        item(HELD_COLOUR, "holds the VIP (as polled)"),
        item(NOT_HELD_COLOUR, "does not"),
        item(CHANGING_COLOUR, "changed between two polls"),
        item(NODE01_COLOUR, "advert from NODE01"),
        item(NODE02_COLOUR, "advert from NODE02"),
        item(CHECK_COLOUR, "NODE01's health check"),
    )
}

/// Which lanes a pair of timelines draws (the same for both, so they line up).
#[derive(Debug, Clone, Copy)]
struct Lanes {
    vip: bool,
    adverts: bool,
    checks: bool,
}

impl Lanes {
    fn of<'a>(ts: impl Iterator<Item = &'a Timeline>) -> Lanes {
        let mut l = Lanes {
            vip: false,
            adverts: false,
            checks: false,
        };
        for t in ts {
            l.vip |= !t.vip.is_empty();
            l.adverts |= !t.adverts.is_empty();
            l.checks |= !t.checks.is_empty();
        }
        l
    }

    fn names(self) -> Vec<&'static str> {
        let mut v = vec!["client requests"];
        if self.vip {
            v.extend(["VIP on NODE01", "VIP on NODE02"]);
        }
        if self.adverts {
            v.extend(["adverts NODE01", "adverts NODE02"]);
        }
        if self.checks {
            v.push("checks NODE01");
        }
        v
    }
}

/// Seconds from the fault covered by a timeline: the prober's run when
/// there was one, else everything recorded.
fn span_of(t: &Timeline) -> Option<(f64, f64)> {
    if let Some(r) = &t.requests {
        let start = t.secs(r.origin);
        let end = start
            + r.samples
                .last()
                .map_or(0.0, |s| (s.at + SLOT).as_secs_f64());
        return Some((start, end));
    }
    let times: Vec<f64> = t
        .checks
        .iter()
        .chain(&t.adverts)
        .map(|s| t.secs(s.at))
        .chain(t.vip.iter().map(|p| t.secs(p.at)))
        .collect();
    let lo = times.iter().copied().reduce(f64::min)?;
    let hi = times.iter().copied().reduce(f64::max)?;
    Some((lo.min(0.0), hi.max(0.0)))
}

fn common_span<'a>(ts: impl Iterator<Item = &'a Timeline>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for (a, b) in ts.filter_map(span_of) {
        lo = lo.min(a);
        hi = hi.max(b);
    }
    (lo, hi)
}

/// When the figures say the backend was removed, from the fault.
fn removed_after(t: &Timeline, fig: &Figures) -> Option<Duration> {
    let series = match t.fault {
        Fault::HttpKill => &fig.http_removal,
        Fault::DnsKill => &fig.dns_removal,
        Fault::LinkCut | Fault::Sigterm => return None,
    };
    series.samples.get(t.index).copied().flatten()
}

fn tick_step(span: f64) -> f64 {
    [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0]
        .into_iter()
        .find(|s| span / s <= 10.0)
        .unwrap_or(120.0)
}

/// One timeline as an inline SVG drawn over `span` (seconds from the fault).
fn timeline_svg(t: &Timeline, fig: &Figures, span: (f64, f64), lanes: Lanes) -> String {
    let (lo, hi) = span;
    let x = |s: f64| LABEL + (s.clamp(lo, hi) - lo) / (hi - lo) * PLOT;
    let inside = |s: f64| (lo..=hi).contains(&s);
    let names = lanes.names();
    let top = |i: usize| 4.0 + i as f64 * (LANE + GAP);
    let axis_y = top(names.len());
    let height = axis_y + 26.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-size=\"11\" shape-rendering=\"crispEdges\">"
    );
    for (i, name) in names.iter().enumerate() {
        let _ = write!(
            svg,
            "<text x=\"2\" y=\"{:.1}\">{}</text><rect x=\"{LABEL}\" y=\"{:.1}\" width=\"{PLOT}\" height=\"{LANE}\" fill=\"#f7f7f7\"/>",
            top(i) + LANE - 4.0,
            escape(name),
            top(i)
        );
    }
    // Client requests: one rectangle per run of equal 20 ms slots.
    match &t.requests {
        Some(r) => {
            let base = t.secs(r.origin);
            for (first, n, ok) in slot_runs(&r.samples) {
                let a = base + first as f64 * SLOT.as_secs_f64();
                let b = a + n as f64 * SLOT.as_secs_f64();
                if b < lo || a > hi {
                    continue;
                }
                let _ = write!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{LANE}\" fill=\"{}\"><title>{n} slot(s) {} from {a:.2}s</title></rect>",
                    x(a),
                    top(0),
                    (x(b) - x(a)).max(1.0),
                    if ok { OK_COLOUR } else { FAILED_COLOUR },
                    if ok { "ok" } else { "failed" },
                );
            }
        }
        None => {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#777\">no client prober during this fault</text>",
                LABEL + 4.0,
                top(0) + LANE - 4.0
            );
        }
    }
    let mut lane = 1;
    if lanes.vip {
        for (k, node) in ["NODE01", "NODE02"].into_iter().enumerate() {
            let polls: Vec<_> = t.vip.iter().filter(|p| p.node == node).collect();
            let y = top(lane + k);
            // Two polls that agree: so it was between them (as far as
            // polling knows); that disagree: it changed somewhere between.
            for w in polls.windows(2) {
                let (a, b) = (t.secs(w[0].at), t.secs(w[1].at));
                let fill = match (w[0].holds, w[1].holds) {
                    (true, true) => HELD_COLOUR,
                    (false, false) => NOT_HELD_COLOUR,
                    _ => CHANGING_COLOUR,
                };
                let _ = write!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{:.1}\" fill=\"{fill}\"/>",
                    x(a),
                    y + 3.0,
                    (x(b) - x(a)).max(0.0),
                    LANE - 6.0,
                );
            }
            for p in polls {
                let s = t.secs(p.at);
                if inside(s) {
                    let _ = write!(
                        svg,
                        "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"2\" height=\"{LANE}\" fill=\"#333\"><title>{node} {} at {s:.2}s</title></rect>",
                        x(s) - 1.0,
                        y,
                        if p.holds {
                            "holds the VIP"
                        } else {
                            "does not hold the VIP"
                        }
                    );
                }
            }
        }
        lane += 2;
    }
    if lanes.adverts {
        for (k, (node, colour)) in [(NODE01, NODE01_COLOUR), (NODE02, NODE02_COLOUR)]
            .into_iter()
            .enumerate()
        {
            for a in t.adverts.iter().filter(|a| a.src == node) {
                let s = t.secs(a.at);
                if inside(s) {
                    let _ = write!(
                        svg,
                        "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"3\" height=\"{LANE}\" fill=\"{colour}\"><title>advert from {node}, priority {}, at {s:.3}s</title></rect>",
                        x(s) - 1.5,
                        top(lane + k),
                        a.priority
                    );
                }
            }
        }
        lane += 2;
    }
    if lanes.checks {
        for c in &t.checks {
            let s = t.secs(c.at);
            if inside(s) {
                let _ = write!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"3\" height=\"{LANE}\" fill=\"{CHECK_COLOUR}\"><title>check at {s:.3}s</title></rect>",
                    x(s) - 1.5,
                    top(lane)
                );
            }
        }
    }
    // The fault at time 0, and the removal the figures measured.
    let _ = write!(
        svg,
        "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"0\" y2=\"{axis_y:.1}\" stroke=\"#000\" stroke-dasharray=\"4 3\"/>",
        x(0.0)
    );
    if let Some(d) = removed_after(t, fig) {
        let s = d.as_secs_f64();
        if inside(s) {
            // Labelled on the side with room.
            let (dx, anchor) = if x(s) > LABEL + PLOT * 0.75 {
                (-3.0, "end")
            } else {
                (3.0, "start")
            };
            let _ = write!(
                svg,
                "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"0\" y2=\"{axis_y:.1}\" stroke=\"#555\"/><text x=\"{1:.2}\" y=\"{2:.1}\" fill=\"#555\" text-anchor=\"{anchor}\">removed {s:.2}s</text>",
                x(s),
                x(s) + dx,
                axis_y - 2.0
            );
        }
    }
    // The axis, in seconds from the fault.
    let _ = write!(
        svg,
        "<line x1=\"{LABEL}\" x2=\"{:.1}\" y1=\"{axis_y:.1}\" y2=\"{axis_y:.1}\" stroke=\"#444\"/>",
        LABEL + PLOT
    );
    let step = tick_step(hi - lo);
    // Whole multiples of the step, so labels neither drift nor read "-0".
    let mut k = (lo / step).ceil() as i64;
    while k as f64 * step <= hi {
        let tick = k as f64 * step;
        let label = format!("{tick:.2}");
        let label = label.trim_end_matches('0').trim_end_matches('.');
        let _ = write!(
            svg,
            "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{axis_y:.1}\" y2=\"{1:.1}\" stroke=\"#444\"/><text x=\"{0:.2}\" y=\"{2:.1}\" text-anchor=\"middle\">{3}</text>",
            x(tick),
            axis_y + 4.0,
            axis_y + 16.0,
            if k == 0 { "0" } else { label }
        );
        k += 1;
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::super::probe::tests::s;
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<b>"a" & 'b'</b>"#),
            "&lt;b&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn slots_merge_into_runs_and_a_failure_taints_its_slot() {
        let v = [
            s(0, true),
            s(21, true),
            s(40, false),
            s(45, true),
            s(60, false),
            s(100, true),
        ];
        // Slots 0-1 ok, 2-3 failed, 4 missing, 5 ok.
        assert_eq!(
            slot_runs(&v),
            vec![(0, 2, true), (2, 2, false), (5, 1, true)]
        );
    }

    #[test]
    fn text_is_escaped_in_the_page() {
        let v = [Verdict {
            item: "<script>x</script>".into(),
            pass: false,
            detail: "a & b".into(),
        }];
        let page = render(
            &[],
            Some("x < y"),
            &[Verdicts {
                title: "gated",
                items: &v,
            }],
        );
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt;: a &amp; b"));
        assert!(page.contains("<pre>x &lt; y</pre>"));
        assert!(page.contains("(0 passed, 1 failed)"));
    }
}
