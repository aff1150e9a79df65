//! Parsing of individual values: numbers, timers, addresses, argv, hex.

use std::net::IpAddr;
use std::time::Duration;

/// Parses non-negative decimal seconds (`5`, `0.92`, `1.000001`) with
/// microsecond resolution. Returns `None` for anything else (signs,
/// exponents, more than 6 decimals, over `max_secs`).
pub fn parse_seconds(s: &str, max_secs: u64) -> Option<Duration> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 6 || (s.contains('.') && frac.is_empty() && whole.is_empty()) {
        return None;
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if secs > max_secs {
        return None;
    }
    let mut micros: u32 = 0;
    for (i, b) in frac.bytes().enumerate() {
        micros += u32::from(b - b'0') * 10u32.pow(5 - u32::try_from(i).ok()?);
    }
    let d = Duration::from_secs(secs) + Duration::from_micros(u64::from(micros));
    (d <= Duration::from_secs(max_secs)).then_some(d)
}

/// Parses an integer in `min..=max`.
pub fn parse_int(s: &str, min: i64, max: i64) -> Option<i64> {
    let v: i64 = s.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// keepalived's booleans: on/off, true/false, yes/no (any case).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// `ADDR` or `ADDR/LEN`; the length defaults to the full address.
pub fn parse_prefix(s: &str) -> Option<(IpAddr, u8)> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => {
            let v: u8 = l.parse().ok()?;
            if v > max || !l.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            v
        }
        None => max,
    };
    Some((addr, len))
}

/// Splits a command line into words the way a shell would split them
/// (whitespace; `'...'` literal; `"..."` with `\"` `\\` `\$` `` \` `` escapes;
/// backslash outside quotes), without expanding anything.
pub fn split_words(s: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => return Err("unterminated double quote"),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(e) => cur.push(e),
                    None => return Err("trailing backslash"),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// keepalived's free-form hex: each word is read two digits at a time, a
/// trailing odd digit being a byte of its own (`Ab12f 3` → AB 12 0F 03).
/// With `wildcards`, `X`/`x` stands for "any nibble" (`None`).
/// Returns nibbles, two per byte.
pub fn parse_hex_nibbles<'a>(
    words: impl IntoIterator<Item = &'a str>,
    wildcards: bool,
) -> Option<Vec<Option<u8>>> {
    let mut out = Vec::new();
    for w in words {
        let digits: Vec<Option<u8>> = w
            .chars()
            .map(|c| match c {
                'x' | 'X' if wildcards => Some(None),
                c => c.to_digit(16).and_then(|d| u8::try_from(d).ok()).map(Some),
            })
            .collect::<Option<_>>()?;
        for pair in digits.chunks(2) {
            match pair {
                [a, b] => {
                    out.push(*a);
                    out.push(*b);
                }
                [a] => {
                    out.push(Some(0));
                    out.push(*a);
                }
                _ => {}
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("5", 100), Some(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.92", 100), Some(Duration::from_millis(920)));
        assert_eq!(parse_seconds(".5", 100), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_seconds("1.000001", 100),
            Some(Duration::from_micros(1_000_001))
        );
        assert_eq!(parse_seconds("-1", 100), None);
        assert_eq!(parse_seconds("1e3", 10000), None);
        assert_eq!(parse_seconds("101", 100), None);
        assert_eq!(parse_seconds("100.5", 100), None);
        assert_eq!(parse_seconds(".", 100), None);
        assert_eq!(parse_seconds("", 100), None);
        assert_eq!(parse_seconds("99999999999999999999999", 100), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            parse_prefix("172.20.0.83/24"),
            Some(("172.20.0.83".parse().unwrap(), 24))
        );
        assert_eq!(
            parse_prefix("10.0.0.1"),
            Some(("10.0.0.1".parse().unwrap(), 32))
        );
        assert_eq!(
            parse_prefix("fe80::1/64"),
            Some(("fe80::1".parse().unwrap(), 64))
        );
        assert_eq!(parse_prefix("10.0.0.1/33"), None);
        assert_eq!(parse_prefix("10.0.0.1/+3"), None);
        assert_eq!(parse_prefix("10.0.0/24"), None);
    }

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"/bin/x 'a b' "c \"d\"" e\ f"#).unwrap(),
            vec!["/bin/x", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("'abc").is_err());
        assert_eq!(
            split_words("$(rm -rf /)").unwrap(),
            vec!["$(rm", "-rf", "/)"]
        );
    }

    #[test]
    fn hex() {
        let bytes: Vec<Option<u8>> = parse_hex_nibbles(["Ab12f", "3", "456"], false).unwrap();
        let v: Vec<u8> = bytes
            .chunks(2)
            .map(|p| (p[0].unwrap() << 4) | p[1].unwrap())
            .collect();
        assert_eq!(v, vec![0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06]);
        assert_eq!(
            parse_hex_nibbles(["1x"], true).unwrap(),
            vec![Some(1), None]
        );
        assert_eq!(parse_hex_nibbles(["1x"], false), None);
    }
}
