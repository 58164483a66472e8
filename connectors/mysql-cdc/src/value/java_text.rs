//! Numbers as Flink CDC's Java code turns them into text or decimals: `Float.toString` /
//! `Double.toString` (a FLOAT or DOUBLE column declared STRING: Debezium hands Flink CDC a
//! `Float` or `Double` and its string converter calls `toString()`), the same text rounded
//! HALF_UP to a DECIMAL(p, s) (Flink CDC reads a FLOAT or DOUBLE declared DECIMAL through
//! `new BigDecimal(value.toString())` / `BigDecimal.valueOf(double)` and `DecimalData.fromBigDecimal`,
//! which gives NULL when the rounded value has more than p digits), and a coordinate of its
//! spatial JSON.
//!
//! Hand-written, not a crate: the digits are Rust's own shortest round-trip digits (`{:e}`, the
//! digits JDK 19+ prints, JDK-4511638), and only the layout is Java's, which no formatting crate
//! writes: plain notation with at least one fraction digit (`100.0`) from 10^-3 up to 10^7,
//! otherwise `d.dddE±x` with at least one fraction digit and no `+` (`1.0E10`, `1.5E-5`).
//! JDK 17's `toString` occasionally prints one digit more than the shortest.

use std::fmt::LowerExp;

/// A finite non-zero number's shortest digits (no leading or trailing zeros) and the decimal
/// exponent of its first digit: `1.25e-3` is `(false, "125", -3)`.
struct Digits {
    negative: bool,
    digits: Vec<u8>,
    exponent: i32,
}

fn digits(v: impl LowerExp) -> Digits {
    let text = format!("{v:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Digits {
        negative,
        digits,
        exponent: exponent.parse().unwrap_or(0),
    }
}

/// Java's `Float.toString` of `v`.
pub fn push_java_float(out: &mut String, v: f32) {
    if !special(out, f64::from(v)) {
        layout(out, digits(v));
    }
}

/// Java's `Double.toString` of `v`.
pub fn push_java_double(out: &mut String, v: f64) {
    if !special(out, v) {
        layout(out, digits(v));
    }
}

/// NaN, infinities and zeros, which have no digits; true when `v` was one of them.
fn special(out: &mut String, v: f64) -> bool {
    let text = if v.is_nan() {
        "NaN"
    } else if v.is_infinite() {
        if v > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
    } else if v == 0.0 {
        if v.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
    } else {
        return false;
    };
    out.push_str(text);
    true
}

fn layout(out: &mut String, d: Digits) {
    if d.negative {
        out.push('-');
    }
    let digit = |i: usize| char::from(d.digits.get(i).copied().unwrap_or(b'0'));
    let n = d.digits.len();
    if (-3..7).contains(&d.exponent) {
        if d.exponent < 0 {
            out.push_str("0.");
            (1..-d.exponent).for_each(|_| out.push('0'));
            (0..n).for_each(|i| out.push(digit(i)));
        } else {
            let int_len = d.exponent as usize + 1;
            (0..int_len).for_each(|i| out.push(digit(i)));
            out.push('.');
            if n > int_len {
                (int_len..n).for_each(|i| out.push(digit(i)));
            } else {
                out.push('0');
            }
        }
    } else {
        out.push(digit(0));
        out.push('.');
        if n > 1 {
            (1..n).for_each(|i| out.push(digit(i)));
        } else {
            out.push('0');
        }
        out.push('E');
        out.push_str(&d.exponent.to_string());
    }
}

/// A coordinate as Flink CDC's spatial JSON holds it: the geometry library writes `%.17g` with
/// trailing zeros removed, and Jackson reads that again and writes an integral value below 10^17
/// as an integer (`10000000`), anything else as `Double.toString` (`1.5`, `1.0E17`, `1.0E-5`).
pub fn push_json_coordinate(out: &mut String, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e17 {
        // -0.0 too: "-0" is read back as the integer 0.
        out.push_str(&(v as i64).to_string());
    } else {
        push_java_double(out, v);
    }
}

/// `v` (a FLOAT's `Float.toString`, a DOUBLE's `Double.toString`) as an unscaled DECIMAL(p, s)
/// value rounded HALF_UP to `scale`; None when the result has more than `precision` digits
/// (Flink CDC reads NULL then) or `v` is not finite.
pub fn java_decimal(v: impl LowerExp + Into<f64> + Copy, precision: u8, scale: u8) -> Option<i128> {
    let f: f64 = v.into();
    if !f.is_finite() {
        return None;
    }
    if f == 0.0 {
        return Some(0);
    }
    let d = digits(v);
    let mantissa = d
        .digits
        .iter()
        .fold(0i128, |acc, &c| acc * 10 + i128::from(c - b'0'));
    // value = mantissa * 10^shift at the target scale.
    let shift = d.exponent - (d.digits.len() as i32 - 1) + i32::from(scale);
    let unscaled = if shift >= 0 {
        mantissa.checked_mul(10i128.checked_pow(shift as u32)?)?
    } else if -shift > 38 {
        0
    } else {
        let divisor = 10i128.pow((-shift) as u32);
        let (q, r) = (mantissa / divisor, mantissa % divisor);
        if 2 * r >= divisor {
            q + 1
        } else {
            q
        }
    };
    if unscaled >= 10i128.pow(u32::from(precision)) {
        return None;
    }
    Some(if d.negative { -unscaled } else { unscaled })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(v: f32) -> String {
        let mut s = String::new();
        push_java_float(&mut s, v);
        s
    }

    fn double(v: f64) -> String {
        let mut s = String::new();
        push_java_double(&mut s, v);
        s
    }

    fn coordinate(v: f64) -> String {
        let mut s = String::new();
        push_json_coordinate(&mut s, v);
        s
    }

    /// Expected texts are Java 17's (`jshell`), and Flink CDC's rows in the conformance suite.
    #[test]
    fn java_layouts() {
        assert_eq!(float(123.102), "123.102");
        assert_eq!(float(0.0), "0.0");
        assert_eq!(float(-1.5), "-1.5");
        assert_eq!(float(1e10), "1.0E10");
        assert_eq!(float(1e7), "1.0E7");
        assert_eq!(float(9999999.0), "9999999.0");
        assert_eq!(float(1234567.0), "1234567.0");
        assert_eq!(float(16777216.0), "1.6777216E7");
        assert_eq!(float(3.4e38), "3.4E38");
        assert_eq!(float(1e-5), "1.0E-5");
        assert_eq!(float(0.001), "0.001");
        assert_eq!(float(0.1), "0.1");
        // The shortest digits, as JDK 19+ prints them; JDK 17 prints "1.17549435E-38" (JDK-4511638).
        assert_eq!(float(f32::MIN_POSITIVE), "1.1754944E-38");
        assert_eq!(float(-100.25), "-100.25");
        assert_eq!(double(3.25), "3.25");
        assert_eq!(double(-1e-5), "-1.0E-5");
        assert_eq!(double(1e20), "1.0E20");
        assert_eq!(double(1e-300), "1.0E-300");
        assert_eq!(double(1.7976931348623157e308), "1.7976931348623157E308");
        assert_eq!(double(12345678.9), "1.23456789E7");
        assert_eq!(double(0.0009999), "9.999E-4");
        assert_eq!(double(-2.5e-7), "-2.5E-7");
        assert_eq!(double(100.0), "100.0");
        assert_eq!(double(-0.0), "-0.0");
        assert_eq!(double(f64::INFINITY), "Infinity");
    }

    #[test]
    fn json_coordinates() {
        assert_eq!(coordinate(1.0), "1");
        assert_eq!(coordinate(-200.0), "-200");
        assert_eq!(coordinate(1e7), "10000000");
        assert_eq!(coordinate(123456789012.0), "123456789012");
        assert_eq!(coordinate(12345678901234567.0), "12345678901234568");
        assert_eq!(coordinate(1e17), "1.0E17");
        assert_eq!(coordinate(1e20), "1.0E20");
        assert_eq!(coordinate(1e-4), "1.0E-4");
        assert_eq!(coordinate(-0.3333333333333333), "-0.3333333333333333");
        assert_eq!(coordinate(1234567.5), "1234567.5");
        assert_eq!(coordinate(0.0), "0");
        assert_eq!(coordinate(-0.0), "0");
    }

    #[test]
    fn decimals_round_half_up_and_overflow_to_none() {
        assert_eq!(java_decimal(123.102f32, 10, 3), Some(123_102));
        assert_eq!(java_decimal(-0.5f32, 10, 3), Some(-500));
        assert_eq!(java_decimal(1e-4f32, 10, 3), Some(0));
        assert_eq!(java_decimal(-0.0005f64, 10, 3), Some(-1));
        assert_eq!(java_decimal(1.0006f64, 10, 3), Some(1001));
        assert_eq!(java_decimal(0.12345f64, 10, 3), Some(123));
        assert_eq!(java_decimal(9999999.999f64, 10, 3), Some(9_999_999_999));
        // Float.toString(1.0005f) is "1.0005": HALF_UP of the text, not of the binary value.
        assert_eq!(java_decimal(1.0005f32, 10, 3), Some(1001));
        assert_eq!(java_decimal(12345f32, 4, 1), None);
        assert_eq!(java_decimal(999.96f32, 4, 1), None);
        assert_eq!(java_decimal(999.95f64, 4, 1), None);
        assert_eq!(java_decimal(999.94f64, 4, 1), Some(9999));
        assert_eq!(java_decimal(1e300f64, 38, 0), None);
        assert_eq!(java_decimal(1e-300f64, 38, 10), Some(0));
        assert_eq!(java_decimal(f64::INFINITY, 10, 0), None);
    }
}
