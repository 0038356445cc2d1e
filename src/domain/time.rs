//! Wire timestamps: milliseconds since the Unix epoch (UTC) on output; on input also
//! RFC 3339 strings. The store keeps them as native BSON dates.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The earliest accepted instant, 0000-01-01T00:00:00Z (RFC 3339 and RFC 5545 need 4-digit years).
const MIN_MILLIS: i64 = -62_167_219_200_000;
/// The latest accepted instant, 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// An instant with millisecond precision, as clients send and receive it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current instant, truncated to milliseconds.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }

    /// An instant from milliseconds since the epoch, when inside the supported range.
    pub fn from_millis(millis: i64) -> Option<Self> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then_some(Timestamp(millis))
    }

    /// An instant from milliseconds since the epoch, moved into the supported range.
    pub fn saturating_from_millis(millis: i64) -> Self {
        Timestamp(millis.clamp(MIN_MILLIS, MAX_MILLIS))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The same instant as a chrono value.
    pub fn to_chrono(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// This instant moved by `seconds`, saturating at the ends of the supported range.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self::saturating_from_millis(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// Parses an RFC 3339 string such as `2026-11-25T18:00:00Z`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|instant| Self::from_millis(instant.timestamp_millis()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

/// Sent as milliseconds since the Unix epoch; accepted as that or as an RFC 3339 string.
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let millis = schemars::json_schema!({
            "type": "integer",
            "minimum": MIN_MILLIS,
            "maximum": MAX_MILLIS,
            "description": "milliseconds since the Unix epoch",
        });
        if generator.contract().is_serialize() {
            millis
        } else {
            schemars::json_schema!({
                "oneOf": [millis, { "type": "string", "format": "date-time" }],
            })
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

const OUT_OF_RANGE: &str = "timestamp out of range (years 0000 to 9999)";

impl de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("milliseconds since the Unix epoch or an RFC 3339 string")
    }

    fn visit_i64<E: de::Error>(self, millis: i64) -> Result<Timestamp, E> {
        Timestamp::from_millis(millis).ok_or_else(|| E::custom(OUT_OF_RANGE))
    }

    fn visit_u64<E: de::Error>(self, millis: u64) -> Result<Timestamp, E> {
        i64::try_from(millis)
            .ok()
            .and_then(Timestamp::from_millis)
            .ok_or_else(|| E::custom(OUT_OF_RANGE))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(text).ok_or_else(|| {
            E::custom(format!(
                "not an RFC 3339 timestamp in years 0000 to 9999: {text:?}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Timestamp, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn integers_are_milliseconds_since_the_epoch() {
        assert_eq!(parse("1764100000123").unwrap().millis(), 1_764_100_000_123);
        assert_eq!(parse("-1000").unwrap().millis(), -1000);
    }

    #[test]
    fn rfc3339_strings_with_offsets_are_converted_to_utc() {
        let instant = parse("\"2026-11-25T19:00:00.5+01:00\"").unwrap();
        assert_eq!(instant, parse("\"2026-11-25T18:00:00.500Z\"").unwrap());
        assert_eq!(instant.millis() % 1000, 500);
    }

    #[test]
    fn floats_booleans_and_garbage_are_rejected() {
        assert!(parse("1.5").is_err());
        assert!(parse("true").is_err());
        assert!(parse("\"yesterday\"").is_err());
        assert!(parse("\"2026-11-25\"").is_err());
    }

    #[test]
    fn instants_beyond_year_9999_are_rejected() {
        assert!(parse("253402300800000").is_err());
        assert!(parse("18446744073709551615").is_err());
        assert!(parse("253402300799999").is_ok());
    }

    #[test]
    fn output_is_always_integer_milliseconds() {
        let instant = parse("\"1970-01-01T00:00:01Z\"").unwrap();
        assert_eq!(serde_json::to_string(&instant).unwrap(), "1000");
    }
}
