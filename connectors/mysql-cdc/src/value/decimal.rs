//! DECIMAL text: its canonical form, its parts, numeric comparison, and parsing or rounding it
//! into an unscaled integer or a float.

use std::borrow::Cow;
use std::cmp::Ordering;

/// DECIMAL text in canonical form: optional `-`, integer digits without leading zeros (at least
/// one), and exactly `scale` fraction digits. Already-canonical text (the usual case) is returned
/// as is, without copying.
pub(super) fn normalize_decimal(text: Vec<u8>, scale: u32) -> Result<Vec<u8>, String> {
    let rewritten = match canonical_decimal(&text, scale)? {
        Cow::Borrowed(_) => None,
        Cow::Owned(canonical) => Some(canonical),
    };
    Ok(rewritten.unwrap_or(text))
}

/// [`normalize_decimal`] by reference: already-canonical text is borrowed.
pub(super) fn canonical_decimal(text: &[u8], scale: u32) -> Result<Cow<'_, [u8]>, String> {
    let bad = || format!("bad DECIMAL {:?}", String::from_utf8_lossy(text));
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (int, frac) = match body.iter().position(|&c| c == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &body[..0]),
    };
    if (int.is_empty() && frac.is_empty()) || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let int = {
        let first = int.iter().position(|&c| c != b'0').unwrap_or(int.len());
        &int[first..]
    };
    let scale = scale as usize;
    let is_zero = int.is_empty() && frac.iter().all(|&c| c == b'0');
    let canonical_len = usize::from(negative && !is_zero)
        + int.len().max(1)
        + if scale > 0 { scale + 1 } else { 0 };
    if canonical_len == text.len()
        && frac.len() == scale
        && !(negative && is_zero)
        && text[0] != b'+'
    {
        return Ok(Cow::Borrowed(text));
    }
    let mut out = Vec::with_capacity(canonical_len);
    if negative && !is_zero {
        out.push(b'-');
    }
    if int.is_empty() {
        out.push(b'0');
    } else {
        out.extend_from_slice(int);
    }
    if scale > 0 {
        out.push(b'.');
        for i in 0..scale {
            out.push(frac.get(i).copied().unwrap_or(b'0'));
        }
    }
    Ok(Cow::Owned(out))
}

/// A decimal text's sign (a leading `-`), integer digits and fraction digits, unchecked:
/// `-12.5` is `(true, "12", "5")`, `7` is `(false, "7", "")`.
fn decimal_parts(text: &[u8]) -> (bool, &[u8], &[u8]) {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    match body.iter().position(|&c| c == b'.') {
        Some(dot) => (negative, &body[..dot], &body[dot + 1..]),
        None => (negative, body, &body[..0]),
    }
}

/// Compares two decimal texts (`-?digits[.digits]`, no leading zeros) numerically.
pub(super) fn compare_decimal_text(a: &[u8], b: &[u8]) -> Ordering {
    let split = |t: &[u8]| -> (bool, Vec<u8>, Vec<u8>) {
        let (neg, int, frac) = decimal_parts(t);
        let int: Vec<u8> = int.iter().copied().skip_while(|&c| c == b'0').collect();
        let mut frac = frac.to_vec();
        while frac.last() == Some(&b'0') {
            frac.pop();
        }
        let neg = neg && !(int.is_empty() && frac.is_empty());
        (neg, int, frac)
    };
    let (an, ai, af) = split(a);
    let (bn, bi, bf) = split(b);
    let magnitude = ai
        .len()
        .cmp(&bi.len())
        .then_with(|| ai.cmp(&bi))
        .then_with(|| af.cmp(&bf));
    match (an, bn) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

pub(super) fn scale_int(v: i128, scale: u8) -> Result<i128, String> {
    v.checked_mul(10i128.pow(u32::from(scale)))
        .ok_or_else(|| format!("{v} overflows DECIMAL"))
}

/// Decimal text to an unscaled i128 at `scale`; fraction digits beyond `scale` are an error
/// (validation only allows scales at least as large as the column's).
pub(super) fn parse_decimal(text: &[u8], scale: u8) -> Result<i128, String> {
    let bad = || format!("bad DECIMAL {:?}", String::from_utf8_lossy(text));
    let (negative, int, frac) = decimal_parts(text);
    if frac.len() > usize::from(scale) && frac[usize::from(scale)..].iter().any(|&c| c != b'0') {
        return Err(format!(
            "{} has more than {scale} fraction digits",
            String::from_utf8_lossy(text)
        ));
    }
    let mut acc: i128 = 0;
    let digits = int.iter().chain(frac.iter().take(usize::from(scale)));
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(bad());
        }
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(i128::from(c - b'0')))
            .ok_or_else(bad)?;
    }
    for _ in frac.len()..usize::from(scale) {
        acc = acc.checked_mul(10).ok_or_else(bad)?;
    }
    Ok(if negative { -acc } else { acc })
}

/// DECIMAL text as the nearest FLOAT or DOUBLE.
pub(super) fn parse_float_text<F: std::str::FromStr>(text: &[u8]) -> Result<F, String> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| format!("bad DECIMAL {:?}", String::from_utf8_lossy(text)))
}

/// Decimal text (an integer or a DECIMAL's canonical text) rounded HALF_UP to `scale`, as an
/// unscaled value of DECIMAL(precision, scale); None when it needs more than `precision` digits
/// (Flink CDC: `DecimalData.fromBigDecimal` gives null) or is not a number.
pub(super) fn round_decimal(text: &[u8], precision: u8, scale: u8) -> Option<i128> {
    let (negative, int, frac) = decimal_parts(text);
    if int.is_empty() && frac.is_empty() || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return None;
    }
    let int = &int[int.iter().position(|&c| c != b'0').unwrap_or(int.len())..];
    // More integer digits than the type holds (before rounding, which adds at most one): NULL,
    // and no i128 overflow for DECIMAL(65) values.
    if int.len() > usize::from(precision - scale) {
        return None;
    }
    let scale = usize::from(scale);
    let mut unscaled: i128 = 0;
    for &c in int.iter().chain(frac.iter().take(scale)) {
        unscaled = unscaled * 10 + i128::from(c - b'0');
    }
    for _ in frac.len().min(scale)..scale {
        unscaled *= 10;
    }
    if frac.get(scale).is_some_and(|&c| c >= b'5') {
        unscaled += 1;
    }
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return None;
    }
    Some(if negative { -unscaled } else { unscaled })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_narrower_decimal_rounds_half_up_and_reads_null_beyond_its_precision() {
        let round = |text: &str, p, s| round_decimal(text.as_bytes(), p, s);
        assert_eq!(round("12.345", 6, 2), Some(1235), "HALF_UP");
        assert_eq!(round("12.344", 6, 2), Some(1234));
        assert_eq!(
            round("-12.345", 6, 2),
            Some(-1235),
            "away from zero, as BigDecimal's HALF_UP"
        );
        assert_eq!(
            round("99.995", 4, 2),
            None,
            "rounds up to 100.00: five digits"
        );
        assert_eq!(round("99.994", 4, 2), Some(9999));
        assert_eq!(round("123456", 5, 0), None);
        assert_eq!(round("00012", 2, 0), Some(12), "leading zeros do not count");
        assert_eq!(round("7", 4, 2), Some(700));
        assert_eq!(
            round(&"9".repeat(65), 38, 0),
            None,
            "a DECIMAL(65) value does not overflow i128"
        );
        assert_eq!(round("1e5", 6, 0), None, "not a decimal's text");
        assert_eq!(parse_float_text::<f32>(b"0.1"), Ok(0.1f32));
        assert_eq!(
            parse_float_text::<f64>(b"-12345678901.25"),
            Ok(-12345678901.25)
        );
    }

    #[test]
    fn decimals_normalize_and_parse() {
        let n = |t: &str, s: u32| {
            String::from_utf8(normalize_decimal(t.as_bytes().to_vec(), s).unwrap()).unwrap()
        };
        assert_eq!(n("1.50", 2), "1.50");
        assert_eq!(n("0000000001.5", 2), "1.50");
        assert_eq!(n(".5", 1), "0.5");
        assert_eq!(n("-0.00", 2), "0.00");
        assert_eq!(n("-000", 0), "0");
        assert_eq!(n("+12", 0), "12");
        assert!(normalize_decimal(b"1e5".to_vec(), 0).is_err());
        assert_eq!(parse_decimal(b"-1.5", 3), Ok(-1500));
        assert_eq!(parse_decimal(b"12.340", 2), Ok(1234));
        assert!(parse_decimal(b"12.345", 2).is_err());
        assert_eq!(
            parse_decimal(b"18446744073709551615", 0),
            Ok(18446744073709551615)
        );
    }
}
