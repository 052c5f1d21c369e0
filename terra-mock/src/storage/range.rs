//! `Range` headers as S3 and OSS read them: a syntactically valid single range within the
//! object is served (206), one that starts past the end is unsatisfiable (416), anything
//! else (another unit, several ranges, garbage, an end before the start) is ignored and
//! the whole object served (200). Numbers too large for 64 bits mean "past any end".

/// What a `Range` header asks for, given the object's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Wanted {
    Whole,
    Part(std::ops::Range<u64>),
    Unsatisfiable,
}

/// A parsed single byte range: `a-b`, `a-` or `-n` (u64::MAX for overflowing numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    From(u64, Option<u64>),
    Suffix(u64),
}

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse::<u64>().unwrap_or(u64::MAX))
}

fn spec(value: &str) -> Option<Spec> {
    let s = value.trim().strip_prefix("bytes=")?.trim();
    if s.contains(',') {
        return None;
    }
    let (a, b) = s.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (true, false) => number(b).map(Spec::Suffix),
        (false, true) => number(a).map(|a| Spec::From(a, None)),
        (false, false) => {
            let (a, b) = (number(a)?, number(b)?);
            (b >= a).then_some(Spec::From(a, Some(b)))
        }
        (true, true) => None,
    }
}

/// Reads a `Range` header for an object of `size` bytes.
pub(crate) fn wanted(value: &str, size: u64) -> Wanted {
    match spec(value) {
        None => Wanted::Whole,
        Some(Spec::Suffix(0)) => Wanted::Unsatisfiable,
        Some(Spec::Suffix(n)) => Wanted::Part(size.saturating_sub(n)..size),
        Some(Spec::From(a, _)) if a >= size => Wanted::Unsatisfiable,
        Some(Spec::From(a, b)) => {
            let end = b.map_or(size, |b| b.saturating_add(1).min(size));
            Wanted::Part(a..end)
        }
    }
}

/// The header rewritten in a form the s3s parser takes with the same meaning (numbers
/// clamped to `i64::MAX`), or `None` when it is to be ignored (whole object).
pub(crate) fn normalized(value: &str) -> Option<String> {
    const MAX: u64 = i64::MAX as u64;
    Some(match spec(value)? {
        Spec::Suffix(n) => format!("bytes=-{}", n.min(MAX)),
        Spec::From(a, None) => format!("bytes={}-", a.min(MAX)),
        Spec::From(a, Some(b)) => format!("bytes={}-{}", a.min(MAX), b.min(MAX)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(wanted("bytes=0-9", 100), Wanted::Part(0..10));
        assert_eq!(wanted("bytes=90-", 100), Wanted::Part(90..100));
        assert_eq!(wanted("bytes=-5", 100), Wanted::Part(95..100));
        assert_eq!(wanted("bytes=-500", 100), Wanted::Part(0..100));
        assert_eq!(wanted("bytes=50-500", 100), Wanted::Part(50..100));
        assert_eq!(
            wanted("bytes=0-18446744073709551615", 2000),
            Wanted::Part(0..2000)
        );
        assert_eq!(
            wanted("bytes=0-99999999999999999999999", 2000),
            Wanted::Part(0..2000)
        );
        assert_eq!(wanted("bytes=9-1", 100), Wanted::Whole);
        assert_eq!(wanted("bytes=0-1,5-6", 100), Wanted::Whole);
        assert_eq!(wanted("items=0-1", 100), Wanted::Whole);
        assert_eq!(wanted("bytes=x-1", 100), Wanted::Whole);
        assert_eq!(wanted("bytes=-", 100), Wanted::Whole);
        assert_eq!(wanted("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(wanted("bytes=-0", 100), Wanted::Unsatisfiable);
        assert_eq!(
            wanted("bytes=99999999999999999999-", 100),
            Wanted::Unsatisfiable
        );
        assert_eq!(
            normalized("bytes=0-18446744073709551615").unwrap(),
            "bytes=0-9223372036854775807"
        );
        assert_eq!(normalized("bytes=0-1,2-3"), None);
    }
}
