//! The snapshot's common values appended without the general path.
//!
//! Most snapshot values are integers, text, canonical DECIMALs and non-zero DATETIMEs. For those,
//! normalizing to a [`ValueRef`] and then converting it costs more than reading them: about
//! 1,100 instructions per row of the benchmark table went to that dispatch. This file appends
//! them in one step. Anything else (NULL, errors, unusual text, zero dates, other types and
//! conversions) returns `false` with nothing appended, and the general path
//! ([`super::normalize::normalize_snapshot`] then `ColumnBuilder::append`) takes the value, errors included.
//! Each case computes exactly what the general path does; `tests/values.rs` compares both on every
//! type and the unit tests below compare DECIMAL parsing.

use super::column_builder::ColumnBuilder;
use super::flink_type::Conv;
use super::kind::Kind;
use super::normalize::{is_zero_date, trim_trailing_spaces};
use super::time::timestamp_micros;
use super::value_ref::ValueRef;

impl ColumnBuilder {
    /// Appends `value` (a non-NULL snapshot value of a column of `kind`, converted with `conv`)
    /// when it is one of the common cases; `false`: nothing appended, use the general path.
    #[inline]
    pub(super) fn append_snapshot_fast(
        &mut self,
        kind: Kind,
        conv: Conv,
        value: &ValueRef<'_>,
    ) -> bool {
        match (self, kind, conv, value) {
            (
                this,
                Kind::Int { unsigned, bits },
                Conv::Int,
                &ValueRef::Int(_) | &ValueRef::UInt(_),
            ) => {
                let raw = match *value {
                    ValueRef::Int(v) => v as u64,
                    ValueRef::UInt(v) => v,
                    _ => return false,
                };
                // `int_value`'s reinterpretation of the low `bits` bits.
                let shift = 64 - bits;
                let v = if unsigned {
                    i128::from((raw << shift) >> shift)
                } else {
                    i128::from(((raw << shift) as i64) >> shift)
                };
                // Appends nothing when the value does not fit; the general path reports it.
                this.append_int(v).is_ok()
            }
            (Self::Utf8(b), Kind::Text | Kind::Char, Conv::Utf8, ValueRef::Bytes(bytes)) => {
                let bytes: &[u8] = bytes;
                let text = if kind == Kind::Char {
                    trim_trailing_spaces(bytes)
                } else {
                    bytes
                };
                match std::str::from_utf8(text) {
                    Ok(s) => {
                        b.append_value(s);
                        true
                    }
                    Err(_) => false,
                }
            }
            (
                Self::Decimal(b),
                Kind::Decimal { scale },
                Conv::Decimal { scale: to_scale },
                ValueRef::Bytes(text),
            ) => {
                match small_canonical_decimal(text.as_ref(), scale) {
                    // `to_scale >= scale` (validation) and at most 18 digits: no overflow.
                    Some(unscaled) => {
                        b.append_value(
                            i128::from(unscaled) * 10i128.pow(u32::from(to_scale) - scale),
                        );
                        true
                    }
                    None => false,
                }
            }
            (
                this,
                Kind::DateTime | Kind::Timestamp,
                Conv::Timestamp {
                    shift_seconds,
                    truncate_micros,
                },
                &ValueRef::Date(y, mo, d, h, mi, s, us),
            ) if !is_zero_date(y, mo, d) => {
                let micros =
                    timestamp_micros((y, mo, d, h, mi, s, us), shift_seconds, truncate_micros);
                this.append_micros(micros).is_ok()
            }
            _ => false,
        }
    }
}

/// The unscaled value of DECIMAL text already in canonical form (`-?(0|[1-9][0-9]*)`, then `.`
/// and exactly `scale` digits when `scale > 0`, not `-0.00`) with at most 18 digits, which the
/// server sends for every DECIMAL(18, s) or narrower; None for anything else.
fn small_canonical_decimal(text: &[u8], scale: u32) -> Option<i64> {
    let (negative, body) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let scale = scale as usize;
    let int_len = if scale > 0 {
        body.len().checked_sub(scale + 1)?
    } else {
        body.len()
    };
    if int_len == 0 || (scale > 0 && body[int_len] != b'.') || int_len + scale > 18 {
        return None;
    }
    let (int, frac) = (&body[..int_len], &body[body.len() - scale..]);
    if int.len() > 1 && int[0] == b'0' {
        return None;
    }
    let mut acc: i64 = 0;
    for &c in int.iter().chain(frac) {
        if !c.is_ascii_digit() {
            return None;
        }
        acc = acc * 10 + i64::from(c - b'0');
    }
    if negative && acc == 0 {
        return None;
    }
    Some(if negative { -acc } else { acc })
}

#[cfg(test)]
mod tests {
    use super::super::decimal::{canonical_decimal, parse_decimal};
    use super::small_canonical_decimal;

    /// Wherever the fast parse answers, it equals the general path's canonical text parsed.
    #[test]
    fn small_decimals_parse_as_the_general_path_does() {
        let cases: &[(&str, u32)] = &[
            ("0.00", 2),
            ("1.50", 2),
            ("-1.50", 2),
            ("12345.67", 2),
            ("-0.01", 2),
            ("999999999999999.999", 3),
            ("9999999999999999.999", 3),
            ("0", 0),
            ("-7", 0),
            ("123456789012345678", 0),
            ("1234567890123456789", 0),
            ("-0.00", 2),
            ("01.50", 2),
            ("1.5", 2),
            ("1.500", 2),
            (".50", 2),
            ("+1.50", 2),
            ("1,50", 2),
            ("1.5a", 2),
            ("", 0),
            ("-", 0),
            ("1.", 0),
        ];
        let mut fast_answers = 0;
        for &(text, scale) in cases {
            let general = canonical_decimal(text.as_bytes(), scale)
                .and_then(|c| parse_decimal(&c, scale as u8));
            if let Some(v) = small_canonical_decimal(text.as_bytes(), scale) {
                fast_answers += 1;
                assert_eq!(Ok(i128::from(v)), general, "{text} at scale {scale}");
                assert_eq!(
                    canonical_decimal(text.as_bytes(), scale).unwrap().as_ref(),
                    text.as_bytes(),
                    "{text}"
                );
            }
        }
        assert_eq!(fast_answers, 9, "the canonical small ones");
        assert_eq!(
            small_canonical_decimal(b"-0.00", 2),
            None,
            "negative zero is not canonical"
        );
        assert_eq!(
            small_canonical_decimal(b"1234567890123456789", 0),
            None,
            "19 digits"
        );
    }
}
