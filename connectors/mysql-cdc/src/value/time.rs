//! Time zones (`server-time-zone`) and calendar arithmetic between wall clocks, days and epoch
//! units.

use rust_core::{BridgeError, Result};

/// Flink CDC's `server-time-zone`: the zone MySQL's wall-clock values are in. Needed where a
/// TIMESTAMP column is declared as Flink TIMESTAMP (its wall clock in this zone) and where a
/// DATETIME is declared as TIMESTAMP_LTZ (its wall clock read in this zone). Fixed offsets
/// (`UTC`, `GMT`, `Z`, `+08:00`, `-05:30`, `+0800`, `UTC+8`, `GMT-03:30`) or IANA names
/// (`Asia/Shanghai`, `America/New_York`), as Java's `ZoneId.of` takes them. A named zone's offset
/// is that of each value's own instant (daylight saving time included, through jiff); a wall
/// clock that occurs twice (the hour repeated when clocks go back) is the earlier instant, and one
/// that does not occur (skipped when clocks go forward) moves forward by the gap, as
/// `LocalDateTime.atZone` resolves them in Flink CDC.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerTimeZone {
    name: String,
    zone: Zone,
}

#[derive(Clone, Debug, PartialEq)]
enum Zone {
    /// Seconds east of UTC.
    Fixed(i32),
    Named(jiff::tz::TimeZone),
}

impl ServerTimeZone {
    pub fn parse(s: &str) -> Result<Self> {
        let text = s.trim();
        match Self::parse_fixed(text) {
            Some(offset_seconds) => Ok(ServerTimeZone { name: text.to_string(), zone: Zone::Fixed(offset_seconds) }),
            None => match jiff::tz::TimeZone::get(text) {
                Ok(zone) if !text.is_empty() => Ok(ServerTimeZone { name: text.to_string(), zone: Zone::Named(zone) }),
                _ => Err(BridgeError::validation(format!(
                    "'server-time-zone' = '{s}' is not a time zone: use an IANA name such as 'Asia/Shanghai' \
                     or 'America/New_York', UTC, or a fixed offset such as '+08:00'"
                ))),
            },
        }
    }

    /// `UTC`/`GMT`/`Z` with an optional offset, or a bare offset: seconds east of UTC.
    fn parse_fixed(text: &str) -> Option<i32> {
        let bad = || None;
        let upper = text.to_ascii_uppercase();
        let rest = ["ETC/UTC", "ETC/GMT", "UTC", "GMT", "Z"]
            .iter()
            .find_map(|p| upper.strip_prefix(p))
            .unwrap_or(&upper);
        if text.is_empty() {
            return bad();
        }
        if rest.is_empty() {
            return Some(0);
        }
        let (sign, digits) = match rest.as_bytes()[0] {
            b'+' => (1, &rest[1..]),
            b'-' => (-1, &rest[1..]),
            _ => return bad(),
        };
        // H, HH, HHMM, H:MM or HH:MM.
        let (h, m) = match digits.split_once(':') {
            Some((h, m)) if m.len() == 2 => (h, m),
            Some(_) => return bad(),
            None if digits.len() == 4 => digits.split_at(2),
            None => (digits, "00"),
        };
        let number = |t: &str| -> Option<i32> {
            (!t.is_empty() && t.len() <= 2 && t.bytes().all(|c| c.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        match (number(h), number(m)) {
            (Some(h), Some(m)) if h <= 18 && m < 60 => Some(sign * (h * 3600 + m * 60)),
            _ => bad(),
        }
    }

    pub fn utc() -> Self {
        ServerTimeZone {
            name: "UTC".into(),
            zone: Zone::Fixed(0),
        }
    }

    /// Seconds east of UTC when the zone has one offset for all time; None for a named zone.
    pub fn fixed_offset_seconds(&self) -> Option<i32> {
        match self.zone {
            Zone::Fixed(offset) => Some(offset),
            Zone::Named(_) => None,
        }
    }

    /// The zone's offset (seconds east of UTC) at the instant `epoch_seconds`.
    pub(super) fn offset_at_instant(&self, epoch_seconds: i64) -> Result<i64, String> {
        match &self.zone {
            Zone::Fixed(offset) => Ok(i64::from(*offset)),
            Zone::Named(tz) => {
                let instant = jiff::Timestamp::from_second(epoch_seconds)
                    .map_err(|e| format!("instant out of the time zone's range: {e}"))?;
                Ok(i64::from(tz.to_offset(instant).seconds()))
            }
        }
    }

    /// The zone's offset (seconds east of UTC) for the wall clock `wall_seconds` (seconds since
    /// 1970-01-01 00:00 on the wall): the earlier offset for a repeated hour, the offset before a
    /// skipped hour (which moves the wall clock forward by the gap).
    pub(super) fn offset_at_wall(&self, wall_seconds: i64) -> Result<i64, String> {
        match &self.zone {
            Zone::Fixed(offset) => Ok(i64::from(*offset)),
            Zone::Named(tz) => {
                let out_of_range =
                    |e: jiff::Error| format!("wall clock out of the time zone's range: {e}");
                let as_utc = jiff::Timestamp::from_second(wall_seconds).map_err(out_of_range)?;
                let civil = jiff::tz::Offset::UTC.to_datetime(as_utc);
                let instant = tz
                    .to_ambiguous_timestamp(civil)
                    .compatible()
                    .map_err(out_of_range)?;
                Ok(wall_seconds - instant.as_second())
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Epoch microseconds of a wall clock, `shift_seconds` subtracted and truncated to a multiple of
/// `truncate_micros` (see [`Conv::Timestamp`](super::flink_type::Conv::Timestamp)).
pub(super) fn timestamp_micros(
    (y, mo, d, h, mi, s, us): (u16, u8, u8, u8, u8, u8, u32),
    shift_seconds: i64,
    truncate_micros: i64,
) -> i64 {
    let days = days_from_civil(i64::from(y), u32::from(mo), u32::from(d));
    let secs =
        days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s) - shift_seconds;
    let micros = secs * 1_000_000 + i64::from(us);
    micros - micros.rem_euclid(truncate_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_time_zones() {
        let off = |s: &str| ServerTimeZone::parse(s).map(|z| z.fixed_offset_seconds());
        assert_eq!(off("UTC").unwrap(), Some(0));
        assert_eq!(off("Etc/UTC").unwrap(), Some(0));
        assert_eq!(off("+08:00").unwrap(), Some(8 * 3600));
        assert_eq!(off("-05:30").unwrap(), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(off("+0800").unwrap(), Some(8 * 3600));
        assert_eq!(off("UTC+8").unwrap(), Some(8 * 3600));
        assert_eq!(off("GMT-03:30").unwrap(), Some(-(3 * 3600 + 30 * 60)));
        for bad in ["Mars/Olympus_Mons", "+25:00", "+08:0", "8", "", "+"] {
            let e = off(bad).expect_err(bad).to_string();
            assert!(
                e.contains("is not a time zone") && e.contains("Asia/Shanghai"),
                "{e}"
            );
        }
        // Named zones: the offset of each instant, and of each wall clock.
        let shanghai = ServerTimeZone::parse(" Asia/Shanghai ").unwrap();
        assert_eq!(shanghai.fixed_offset_seconds(), None);
        assert_eq!(shanghai.offset_at_instant(1_721_044_800), Ok(8 * 3600));
        let ny = ServerTimeZone::parse("America/New_York").unwrap();
        assert_eq!(
            ny.offset_at_instant(1_705_320_000),
            Ok(-5 * 3600),
            "January"
        );
        assert_eq!(ny.offset_at_instant(1_721_044_800), Ok(-4 * 3600), "July");
        // 2024-03-10 02:30 on the wall (skipped): the offset before the change.
        assert_eq!(ny.offset_at_wall(1_710_037_800), Ok(-5 * 3600));
        // 2024-11-03 01:30 on the wall (repeated): the earlier instant's offset.
        assert_eq!(ny.offset_at_wall(1_730_597_400), Ok(-4 * 3600));
    }

    #[test]
    fn civil_days_round_trip() {
        for days in [-719_162, -1, 0, 1, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, u32::from(m), u32::from(d)), days);
        }
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
    }
}
