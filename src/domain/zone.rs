//! A session's time zone: an IANA name such as `Europe/Berlin` (the tz database of
//! `chrono-tz`), `UTC` by default. A recurring session repeats at the same wall-clock time
//! in its zone, across daylight-saving changes; its calendar files carry the zone as
//! `TZID` with a matching `VTIMEZONE`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, TimeZone as _, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// An IANA time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub const UTC: TimeZone = TimeZone(chrono_tz::UTC);

    /// Its IANA name, as the client sent it (links such as `US/Eastern` stay as they are).
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The zone, for date arithmetic.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// Whether `instant` is the second of two instants that share a wall-clock time in
    /// this zone (in the hour the clocks go back): a repetition at that wall-clock time
    /// would be taken as the first.
    pub fn is_second_of_repeated_time(self, instant: DateTime<Utc>) -> bool {
        let local = instant.with_timezone(&self.0).naive_local();
        matches!(
            self.0.from_local_datetime(&local),
            LocalResult::Ambiguous(first, _) if first.with_timezone(&Utc) != instant
        )
    }

    /// Whether this is UTC, in which sessions behave as they did before time zones.
    pub fn is_utc(self) -> bool {
        matches!(self.0, chrono_tz::UTC | chrono_tz::Etc::UTC)
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::UTC
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for TimeZone {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        chrono_tz::Tz::from_str(name).map(TimeZone).map_err(|_| {
            format!("unknown time zone {name:?}: use an IANA name such as Europe/Berlin or UTC")
        })
    }
}

impl Serialize for TimeZone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(de::Error::custom)
    }
}

impl schemars::JsonSchema for TimeZone {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TimeZone".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "an IANA time zone name such as Europe/Berlin; UTC by default",
            "examples": ["UTC", "Europe/Berlin", "America/New_York"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_are_accepted_and_kept_as_written() {
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        assert_eq!(berlin.name(), "Europe/Berlin");
        assert!(!berlin.is_utc());
        assert!(TimeZone::default().is_utc());
        assert!("Etc/UTC".parse::<TimeZone>().unwrap().is_utc());
        assert_eq!(
            serde_json::to_value(berlin).unwrap(),
            serde_json::json!("Europe/Berlin")
        );
    }

    #[test]
    fn the_second_half_past_two_of_a_fall_back_night_is_told_apart() {
        let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
        // 2030-10-27: 02:30 CEST is 00:30 UTC, 02:30 CET is 01:30 UTC.
        let first = Utc.with_ymd_and_hms(2030, 10, 27, 0, 30, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2030, 10, 27, 1, 30, 0).unwrap();
        assert!(!berlin.is_second_of_repeated_time(first));
        assert!(berlin.is_second_of_repeated_time(second));
        assert!(!TimeZone::UTC.is_second_of_repeated_time(second));
    }

    #[test]
    fn unknown_names_are_refused() {
        for name in ["", "Mars/Olympus", "europe/berlin", "+02:00", "CEST"] {
            let refused = name.parse::<TimeZone>().unwrap_err();
            assert!(refused.contains("unknown time zone"), "{name}: {refused}");
        }
        assert!(serde_json::from_value::<TimeZone>(serde_json::json!(5)).is_err());
    }
}
