//! Repeated samples of one measure, and their summary (median, min, max),
//! for the side-by-side figures of `director` and keepalived.

use std::time::Duration;

/// A measured quantity: a duration or a count.
pub trait Measure: Copy + Ord {
    /// The midpoint of two values (for an even number of samples).
    fn midpoint(a: Self, b: Self) -> Self;
    /// The value as a plain number (seconds for durations), for ratios.
    fn value(self) -> f64;
    /// The value as printed in the tables (`3.71` seconds, `42` requests).
    fn text(self) -> String;
}

impl Measure for Duration {
    fn midpoint(a: Self, b: Self) -> Self {
        (a + b) / 2
    }
    fn value(self) -> f64 {
        self.as_secs_f64()
    }
    fn text(self) -> String {
        format!("{:.2}", self.as_secs_f64())
    }
}

impl Measure for usize {
    fn midpoint(a: Self, b: Self) -> Self {
        a.midpoint(b)
    }
    fn value(self) -> f64 {
        self as f64
    }
    fn text(self) -> String {
        self.to_string()
    }
}

/// The samples of one measure, in the order taken; `None` is a sample that
/// never completed (timed out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series<T = Duration> {
    /// Every sample.
    pub samples: Vec<Option<T>>,
}

impl<T> Default for Series<T> {
    fn default() -> Self {
        Series {
            samples: Vec::new(),
        }
    }
}

impl<T: Measure> Series<T> {
    /// Adds one sample.
    pub fn push(&mut self, sample: Option<T>) {
        self.samples.push(sample);
    }

    /// The first sample (the one the verdicts were drawn from).
    pub fn first(&self) -> Option<T> {
        self.samples.first().copied().flatten()
    }

    fn completed(&self) -> Vec<T> {
        let mut v: Vec<T> = self.samples.iter().flatten().copied().collect();
        v.sort();
        v
    }

    /// How many samples timed out.
    pub fn timed_out(&self) -> usize {
        self.samples.iter().filter(|s| s.is_none()).count()
    }

    /// The median of the completed samples (the midpoint of the middle two
    /// for an even count).
    pub fn median(&self) -> Option<T> {
        let v = self.completed();
        let n = v.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some(T::midpoint(v[n / 2 - 1], v[n / 2])),
        }
    }

    /// The smallest completed sample.
    pub fn min(&self) -> Option<T> {
        self.completed().first().copied()
    }

    /// The largest completed sample.
    pub fn max(&self) -> Option<T> {
        self.completed().last().copied()
    }

    /// Every sample, e.g. `3.71 3.64 never 3.70`.
    pub fn samples_text(&self) -> String {
        self.samples
            .iter()
            .map(|s| s.map_or_else(|| "never".to_string(), T::text))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `ours / theirs`, when both exist and `theirs` is not zero.
pub fn ratio<T: Measure>(ours: Option<T>, theirs: Option<T>) -> Option<f64> {
    match (ours, theirs) {
        (Some(a), Some(b)) if b.value() != 0.0 => Some(a.value() / b.value()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[Option<u64>]) -> Series {
        Series {
            samples: v.iter().map(|x| x.map(Duration::from_millis)).collect(),
        }
    }

    #[test]
    fn median_min_max_skip_timeouts() {
        let s = ms(&[Some(300), None, Some(100), Some(200)]);
        assert_eq!(s.median(), Some(Duration::from_millis(200)));
        assert_eq!(s.min(), Some(Duration::from_millis(100)));
        assert_eq!(s.max(), Some(Duration::from_millis(300)));
        assert_eq!(s.timed_out(), 1);
        assert_eq!(s.first(), Some(Duration::from_millis(300)));
        assert_eq!(s.samples_text(), "0.30 never 0.10 0.20");
    }

    #[test]
    fn even_count_takes_the_middle_two() {
        let s = ms(&[Some(400), Some(100), Some(200), Some(300)]);
        assert_eq!(s.median(), Some(Duration::from_millis(250)));
        assert_eq!(ms(&[None]).median(), None);
        assert_eq!(Series::<Duration>::default().median(), None);
        let counts = Series::<usize> {
            samples: vec![Some(7), Some(1), Some(4), Some(2)],
        };
        assert_eq!(counts.median(), Some(3));
        assert_eq!(counts.samples_text(), "7 1 4 2");
    }

    #[test]
    fn ratio_of_medians() {
        let r = ratio(
            Some(Duration::from_millis(300)),
            Some(Duration::from_millis(600)),
        );
        assert_eq!(r, Some(0.5));
        assert_eq!(
            ratio(Some(Duration::from_secs(1)), Some(Duration::ZERO)),
            None
        );
        assert_eq!(ratio(None, Some(Duration::from_secs(1))), None);
        assert_eq!(ratio(Some(3usize), Some(4)), Some(0.75));
    }
}
