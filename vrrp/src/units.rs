//! Time units carried on the wire, and the RFC timer formulas over them.
//!
//! VRRPv2 (RFC 3768) counts the advertisement interval in whole seconds in
//! an 8-bit field; VRRPv3 (RFC 5798) counts the maximum advertisement
//! interval in centiseconds in a 12-bit field. They are distinct types so a
//! value of one can never be read as the other, and every conversion to a
//! [`Duration`] is exact integer arithmetic.

use core::fmt;
use core::time::Duration;

/// A whole number of seconds: the VRRPv2 `Adver Int` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds(pub u8);

/// A number of centiseconds: the VRRPv3 `Max Adver Int` field (12 bits, so
/// at most [`Centiseconds::MAX`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centiseconds(u16);

/// A value does not fit the 12-bit `Max Adver Int` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} cs does not fit the 12-bit Max Adver Int field (max 4095)")]
pub struct IntervalOutOfRange(pub u32);

impl Seconds {
    /// The value as a [`Duration`].
    pub const fn to_duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }

    /// The same interval in centiseconds (always exact, always fits 12 bits).
    pub const fn to_centiseconds(self) -> Centiseconds {
        Centiseconds(self.0 as u16 * 100)
    }
}

impl Centiseconds {
    /// The largest value the 12-bit field carries (40.95 s).
    pub const MAX: Centiseconds = Centiseconds(0x0fff);

    /// `cs` centiseconds, if it fits 12 bits.
    pub const fn new(cs: u16) -> Result<Centiseconds, IntervalOutOfRange> {
        if cs > Self::MAX.0 {
            Err(IntervalOutOfRange(cs as u32))
        } else {
            Ok(Centiseconds(cs))
        }
    }

    /// The low 12 bits of `raw`: how the field is read off the wire.
    pub const fn from_field(raw: u16) -> Centiseconds {
        Centiseconds(raw & 0x0fff)
    }

    /// The number of centiseconds.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The value as a [`Duration`] (exact: one centisecond is 10 ms).
    pub const fn to_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }

    /// The interval in whole seconds, if it is a whole number of seconds
    /// below 256 (what a VRRPv2 packet can carry).
    pub const fn to_seconds(self) -> Option<Seconds> {
        if self.0.is_multiple_of(100) && self.0 / 100 <= u8::MAX as u16 {
            Some(Seconds((self.0 / 100) as u8))
        } else {
            None
        }
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} cs", self.0)
    }
}

/// The advertisement interval of a virtual router, in the unit its
/// protocol version uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdvertInterval {
    /// VRRPv2: whole seconds.
    V2(Seconds),
    /// VRRPv3: centiseconds.
    V3(Centiseconds),
}

impl AdvertInterval {
    /// The interval as a [`Duration`].
    pub const fn to_duration(self) -> Duration {
        match self {
            AdvertInterval::V2(s) => s.to_duration(),
            AdvertInterval::V3(cs) => cs.to_duration(),
        }
    }

    /// `Skew_Time` for `priority`.
    ///
    /// RFC 3768 §6.1: `(256 - Priority) / 256` seconds, independent of the
    /// interval; exactly `(256 - Priority) * 3_906_250` ns.
    /// RFC 5798 §6.1: `((256 - Priority) * Master_Adver_Interval) / 256`
    /// in centiseconds, integer division (as keepalived computes it).
    pub const fn skew_time(self, priority: u8) -> Duration {
        let weight = 256 - priority as u64;
        match self {
            AdvertInterval::V2(_) => Duration::from_nanos(weight * 3_906_250),
            AdvertInterval::V3(cs) => Duration::from_millis(weight * cs.0 as u64 / 256 * 10),
        }
    }

    /// `Master_Down_Interval` for `priority`: three intervals plus
    /// [`skew_time`](Self::skew_time).
    pub const fn master_down_interval(self, priority: u8) -> Duration {
        let three = match self {
            AdvertInterval::V2(s) => Duration::from_secs(3 * s.0 as u64),
            AdvertInterval::V3(cs) => Duration::from_millis(30 * cs.0 as u64),
        };
        three.saturating_add(self.skew_time(priority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_skew_is_exact() {
        let i = AdvertInterval::V2(Seconds(1));
        // (256 - 90) / 256 s = 0.6484375 s
        assert_eq!(i.skew_time(90), Duration::from_nanos(648_437_500));
        assert_eq!(
            i.master_down_interval(90),
            Duration::from_nanos(3_648_437_500)
        );
        assert_eq!(i.skew_time(255), Duration::from_nanos(3_906_250));
    }

    #[test]
    fn v3_skew_uses_centisecond_integer_division() {
        let i = AdvertInterval::V3(Centiseconds::new(100).unwrap());
        // (166 * 100) / 256 = 64 cs
        assert_eq!(i.skew_time(90), Duration::from_millis(640));
        assert_eq!(i.master_down_interval(90), Duration::from_millis(3640));
        let fast = AdvertInterval::V3(Centiseconds::new(10).unwrap());
        // (166 * 10) / 256 = 6 cs
        assert_eq!(fast.master_down_interval(90), Duration::from_millis(360));
    }

    #[test]
    fn centiseconds_are_twelve_bits() {
        assert!(Centiseconds::new(4095).is_ok());
        assert_eq!(Centiseconds::new(4096), Err(IntervalOutOfRange(4096)));
        assert_eq!(Centiseconds::from_field(0xf123).get(), 0x123);
        assert_eq!(Seconds(2).to_centiseconds().get(), 200);
        assert_eq!(
            Centiseconds::new(300).unwrap().to_seconds(),
            Some(Seconds(3))
        );
        assert_eq!(Centiseconds::new(150).unwrap().to_seconds(), None);
    }
}
