//! The lab's HTML report as a person sees it: built from lab-like records
//! (four timed faults, director and keepalived side by side), rendered by
//! headless Chromium to a PNG, and the picture checked: not blank; each
//! timeline with client requests shows both ok and failed slots on each
//! side, with its VIP lanes (and the link cut its adverts) below; the
//! backend faults show their checks. Fails (never skips) when Chromium is
//! missing.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lvs_examples::lab::html::{
    self, CHANGING_COLOUR, CHECK_COLOUR, FAILED_COLOUR, HELD_COLOUR, NODE02_COLOUR, OK_COLOUR,
    Side, Verdicts,
};
use lvs_examples::lab::probe::{Reply, Sample};
use lvs_examples::lab::report::{Figures, comparison};
use lvs_examples::lab::seed::Verdict;
use lvs_examples::lab::series::Series;
use lvs_examples::lab::timeline::{Fault, Requests, Timeline, VipPoll};
use lvs_examples::lab::watch::Seen;

const NODE01: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 81);
const NODE02: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 82);
const WIDTH: u32 = 1300;
const HEIGHT: u32 = 1600;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A prober that ran `before` ms before the fault and `after` ms past it,
/// one request every 20 ms, failing from `out.0` to `out.1` ms after the fault.
fn requests(at: Instant, before: u64, after: u64, out: (u64, u64)) -> Requests {
    let origin = at - ms(before);
    let samples = (0..(before + after) / 20)
        .map(|i| {
            let t = i * 20;
            let failed = t >= before + out.0 && t < before + out.1;
            Sample {
                at: ms(t),
                reply: if failed {
                    Reply::Failed("timed out".into())
                } else {
                    Reply::Body(if i % 2 == 0 { "www1" } else { "www2" }.into())
                },
            }
        })
        .collect();
    Requests { origin, samples }
}

fn seen(at: Instant, src: Ipv4Addr, priority: u8) -> Seen {
    Seen { at, src, priority }
}

fn poll(at: Instant, node: &'static str, holds: bool) -> VipPoll {
    VipPoll { at, node, holds }
}

/// One implementation's run: a link cut with an `outage_ms` outage, a
/// killed HTTP backend, a SIGTERM and a killed DNS backend.
fn figures(base: Instant, outage_ms: u64) -> Figures {
    let mut fig = Figures::default();
    // NODE01's link cut 20 ms after its advert; NODE02 adverts after the outage.
    let cut = base + Duration::from_secs(10);
    let mut t = Timeline::new(Fault::LinkCut, 0, cut);
    t.requests = Some(requests(cut, 1500, outage_ms + 1000, (0, outage_ms)));
    t.adverts = (0..2)
        .map(|i| seen(cut - ms(20 + 1000 * i), NODE01, 100))
        .chain((0..2).map(|i| seen(cut + ms(outage_ms - 100 + 1000 * i), NODE02, 90)))
        .collect();
    t.vip = vec![
        poll(cut - ms(1400), "NODE01", true),
        poll(cut - ms(1300), "NODE02", false),
        poll(cut + ms(outage_ms / 2), "NODE02", false),
        poll(cut + ms(outage_ms - 50), "NODE02", true),
        poll(cut + ms(outage_ms + 800), "NODE01", true),
        poll(cut + ms(outage_ms + 900), "NODE02", true),
    ];
    fig.timelines.push(t);
    fig.link_cut_outage.push(Some(ms(outage_ms)));

    // WWW2's HTTP killed 20 ms after a check; every other request fails
    // until the removal 2.4 s later.
    let kill = base + Duration::from_secs(30);
    let mut t = Timeline::new(Fault::HttpKill, 0, kill);
    let mut r = requests(kill, 400, 3000, (0, 0));
    for s in &mut r.samples {
        let after = s.at.as_millis() as i64 - 400;
        if (0..2400).contains(&after) && (s.at.as_millis() / 20) % 2 == 1 {
            s.reply = Reply::Failed("connection refused".into());
        }
    }
    t.requests = Some(r);
    t.checks = vec![kill - ms(20), kill + ms(2000), kill + ms(2400)]
        .into_iter()
        .map(|a| seen(a, NODE01, 0))
        .collect();
    t.vip = vec![
        poll(kill - ms(350), "NODE01", true),
        poll(kill - ms(300), "NODE02", false),
        poll(kill + ms(2500), "NODE01", true),
        poll(kill + ms(2600), "NODE02", false),
    ];
    fig.timelines.push(t);
    fig.http_removal.push(Some(ms(2400)));
    fig.http_failed_requests.push(60);

    // SIGTERM: priority 0 hands over within 300 ms.
    let stop = base + Duration::from_secs(50);
    let mut t = Timeline::new(Fault::Sigterm, 0, stop);
    t.requests = Some(requests(stop, 500, 1500, (100, 300)));
    t.vip = vec![
        poll(stop - ms(450), "NODE01", true),
        poll(stop - ms(400), "NODE02", false),
        poll(stop + ms(250), "NODE02", true),
        poll(stop + ms(1400), "NODE01", false),
    ];
    fig.timelines.push(t);
    fig.sigterm_outage.push(Some(ms(200)));

    // DNS: no prober, the checks and the removal only.
    let kill = base + Duration::from_secs(70);
    let mut t = Timeline::new(Fault::DnsKill, 0, kill);
    t.checks = [-20i64, 2000, 4000, 6000]
        .into_iter()
        .map(|m| seen(kill - ms(20) + ms((m + 20) as u64), NODE01, 0))
        .collect();
    fig.timelines.push(t);
    fig.dns_removal = Series {
        samples: vec![Some(ms(6100))],
    };
    fig
}

/// Renders `html` with headless Chromium into `png`.
fn screenshot(html: &Path, png: &Path, profile: &Path) {
    let run = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", html.display()))
        .output();
    let out = match run {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run chromium ({e}): this test needs Debian's `chromium` (cargo xtask setup installs it)"
        ),
    };
    assert!(
        out.status.success() && png.exists(),
        "chromium failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rgb(hex: &str) -> [u8; 3] {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).expect("hex colour");
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// The decoded picture as rows of RGB pixels.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Picture {
    fn read(path: &Path) -> Picture {
        let file = std::fs::File::open(path).expect("open the PNG");
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader.next_frame(&mut buf).expect("a PNG frame");
        let channels = info.color_type.samples();
        assert!(
            channels >= 3,
            "a colour screenshot, got {:?}",
            info.color_type
        );
        let rgb = buf[..info.buffer_size()]
            .chunks(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Picture {
            width: info.width as usize,
            height: info.height as usize,
            rgb,
        }
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }

    /// Bands of at least 15 consecutive rows holding any of `colours` (a
    /// timeline lane is 16 px tall; the legend's swatches are 12).
    fn bands(&self, colours: &[[u8; 3]]) -> Vec<(usize, usize)> {
        let mut bands: Vec<(usize, usize)> = Vec::new();
        for y in 0..self.height {
            if (0..self.width).any(|x| colours.contains(&self.at(x, y))) {
                match bands.last_mut() {
                    Some((_, end)) if *end + 1 == y => *end = y,
                    _ => bands.push((y, y)),
                }
            }
        }
        bands.retain(|(a, b)| b - a + 1 >= 15);
        bands
    }

    fn count(&self, rows: (usize, usize), cols: (usize, usize), colour: [u8; 3]) -> usize {
        (rows.0..=rows.1)
            .flat_map(|y| (cols.0..cols.1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.at(x, y) == colour)
            .count()
    }
}

/// Cargo's scratch directory for integration tests: the report and its
/// PNG stay there for a look after the run, replaced by the next one.
fn scratch() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_png");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

#[test]
fn the_report_renders_in_chromium_with_every_timeline_drawn() {
    let base = Instant::now();
    let ours = figures(base, 3640);
    let theirs = figures(base, 3920);
    let table = comparison(&ours, &theirs);
    let gated = [
        Verdict {
            item: "7. NODE01 cut off: NODE02 takes over".into(),
            pass: true,
            detail: "NODE02 holds the VIP after 3.60s; client outage 3.64s".into(),
        },
        Verdict {
            item: "8. WWW2's HTTP stopped: <removed>".into(),
            pass: false,
            detail: "removed after 2.40s & then www1 www1".into(),
        },
    ];
    let dir = scratch();
    let path = html::write(
        &dir,
        &[
            Side {
                name: "director",
                figures: &ours,
            },
            Side {
                name: "keepalived",
                figures: &theirs,
            },
        ],
        Some(&table),
        &[Verdicts {
            title: "verdicts",
            items: &gated,
        }],
    )
    .expect("write the report");
    let page = std::fs::read_to_string(&path).expect("read it back");
    assert!(!page.contains("<script"), "no scripts in the report");
    assert!(
        !page.contains("src=") && !page.contains("href="),
        "nothing loaded from elsewhere"
    );
    assert!(page.contains("&lt;removed&gt;"), "text is escaped");

    let png = dir.join("report.png");
    screenshot(&path, &png, &dir.join("chromium-profile"));
    let pic = Picture::read(&png);
    assert_eq!((pic.width, pic.height), (WIDTH as usize, HEIGHT as usize));

    // Not blank: a good part of the page is drawn, in many colours.
    let white = pic.rgb.iter().filter(|p| **p == [255, 255, 255]).count();
    let drawn = pic.rgb.len() - white;
    let mut colours: Vec<[u8; 3]> = pic.rgb.clone();
    colours.sort();
    colours.dedup();
    assert!(
        drawn * 20 > pic.rgb.len() && colours.len() > 20,
        "the page looks blank: {drawn} of {} pixels drawn, {} colours",
        pic.rgb.len(),
        colours.len()
    );

    // Three faults had a client prober (link cut, HTTP kill, SIGTERM):
    // three bands of request slots, each with ok and failed slots on both
    // sides (director on the left, keepalived on the right).
    let (ok, failed) = (rgb(OK_COLOUR), rgb(FAILED_COLOUR));
    let bands = pic.bands(&[ok, failed]);
    assert_eq!(
        bands.len(),
        3,
        "request lanes found at rows {bands:?}, expected 3"
    );
    let half = pic.width / 2;
    for band in &bands {
        for (side, cols) in [("director", (0, half)), ("keepalived", (half, pic.width))] {
            let (n_ok, n_failed) = (pic.count(*band, cols, ok), pic.count(*band, cols, failed));
            assert!(
                n_ok > 50 && n_failed > 20,
                "{side}'s requests at rows {band:?}: {n_ok} ok and {n_failed} failed pixels"
            );
        }
    }
    // Below each one, in both halves: the VIP lanes (polls that saw the
    // VIP, or disagreed), and for the link cut NODE02's adverts.
    for (i, band) in bands.iter().enumerate() {
        let below = (band.1 + 1, (band.1 + 120).min(pic.height - 1));
        for (side, cols) in [("director", (0, half)), ("keepalived", (half, pic.width))] {
            let vip = pic.count(below, cols, rgb(HELD_COLOUR))
                + pic.count(below, cols, rgb(CHANGING_COLOUR));
            assert!(
                vip > 100,
                "{side}'s VIP lanes under fault {i}: {vip} pixels"
            );
            if i == 0 {
                let adverts = pic.count(below, cols, rgb(NODE02_COLOUR));
                assert!(
                    adverts > 30,
                    "{side}'s NODE02 adverts in the link cut: {adverts} pixels"
                );
            }
        }
    }
    // The two backend faults draw NODE01's checks.
    let checks = pic.bands(&[rgb(CHECK_COLOUR)]);
    assert!(
        checks.len() >= 2,
        "check lanes at rows {checks:?}, expected the HTTP and DNS faults'"
    );
    let _ = std::fs::remove_dir_all(dir.join("chromium-profile"));
    eprintln!("report rendered: {}", png.display());
}
