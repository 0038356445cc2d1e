//! Occurrences of single, weekly and RRULE sessions across time zones, and the limits
//! of rules with the cost of finding their occurrences (`bounded`).

use chrono::TimeZone as _;

use super::*;

/// The instant `y-m-d h:00:00Z`.
fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

#[test]
fn a_single_session_is_current_until_it_ends() {
    let schedule = Schedule::new(at(2030, 1, 7, 10), 3600, None, None, TimeZone::UTC).unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 1, 0)),
        Some(at(2030, 1, 7, 10))
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 7, 10) + Duration::minutes(59)),
        Some(at(2030, 1, 7, 10))
    );
    assert_eq!(schedule.current_or_next(at(2030, 1, 7, 11)), None);
}

/// A weekly session at 09:00 local time in `zone`, from the Monday 2030-01-07.
fn weekly_at_nine(zone: &str, utc_hour: u32) -> Schedule {
    let zone: TimeZone = zone.parse().unwrap();
    Schedule::new(at(2030, 1, 7, utc_hour), 3600, Some(None), None, zone).unwrap()
}

#[test]
fn a_weekly_berlin_session_keeps_nine_oclock_across_daylight_saving() {
    // 09:00 CET is 08:00 UTC; 09:00 CEST (from 2030-03-31) is 07:00 UTC.
    let schedule = weekly_at_nine("Europe/Berlin", 8);
    assert_eq!(
        schedule.current_or_next(at(2030, 3, 20, 0)),
        Some(at(2030, 3, 25, 8))
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 3, 26, 0)),
        Some(at(2030, 4, 1, 7))
    );
    // Back to 08:00 UTC after 2030-10-27, and still right ten years on (the walk
    // starts near now, in local time).
    assert_eq!(
        schedule.current_or_next(at(2030, 10, 28, 0)),
        Some(at(2030, 10, 28, 8))
    );
    assert_eq!(
        schedule.current_or_next(at(2040, 7, 1, 0)),
        Some(at(2040, 7, 2, 7))
    );
    assert_eq!(
        schedule.current_or_next(at(2041, 1, 1, 0)),
        Some(at(2041, 1, 7, 8))
    );
}

#[test]
fn a_weekly_new_york_session_follows_the_us_changes() {
    // 09:00 EST is 14:00 UTC; 09:00 EDT (2030-03-10 to 2030-11-03) is 13:00 UTC.
    let schedule = weekly_at_nine("America/New_York", 14);
    assert_eq!(
        schedule.current_or_next(at(2030, 3, 5, 0)),
        Some(at(2030, 3, 11, 13))
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 10, 29, 0)),
        Some(at(2030, 11, 4, 14))
    );
}

#[test]
fn a_daily_rule_keeps_local_time_over_the_change_night() {
    let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
    let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
    let schedule =
        Schedule::new(at(2030, 3, 30, 8), 3600, Some(Some(&rule)), None, berlin).unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 3, 30, 10)),
        Some(at(2030, 3, 31, 7))
    );
    assert_eq!(schedule.last_end(), Some(at(2030, 4, 1, 8)));
}

#[test]
fn a_time_the_clocks_skip_takes_the_offset_before_the_change() {
    // Santiago moves from -04 to -03 at midnight on 2030-09-08: 00:30 does not exist
    // that night, and the weekly 00:30 session is at 04:30 UTC (01:30 -03).
    let santiago: TimeZone = "America/Santiago".parse().unwrap();
    let start = Utc.with_ymd_and_hms(2030, 8, 25, 4, 30, 0).unwrap();
    let schedule = Schedule::new(start, 3600, Some(None), None, santiago).unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 9, 7, 12)),
        Some(Utc.with_ymd_and_hms(2030, 9, 8, 4, 30, 0).unwrap())
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 9, 9, 0)),
        Some(Utc.with_ymd_and_hms(2030, 9, 15, 3, 30, 0).unwrap())
    );
}

#[test]
fn a_repeated_time_is_its_first_instant() {
    // Berlin's weekly 02:30 from 2030-10-20 (CEST, 00:30 UTC): on 2030-10-27 02:30
    // happens twice, and the occurrence is the first, 00:30 UTC; a week on, 01:30 UTC.
    let berlin: TimeZone = "Europe/Berlin".parse().unwrap();
    let start = Utc.with_ymd_and_hms(2030, 10, 20, 0, 30, 0).unwrap();
    let schedule = Schedule::new(start, 1800, Some(None), None, berlin).unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 10, 26, 0)),
        Some(Utc.with_ymd_and_hms(2030, 10, 27, 0, 30, 0).unwrap())
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 10, 28, 0)),
        Some(Utc.with_ymd_and_hms(2030, 11, 3, 1, 30, 0).unwrap())
    );
}

#[test]
fn utc_sessions_keep_their_utc_time_all_year() {
    let schedule = weekly_at_nine("UTC", 8);
    assert_eq!(
        schedule.current_or_next(at(2030, 3, 26, 0)),
        Some(at(2030, 4, 1, 8))
    );
}

#[test]
fn a_weekly_session_moves_to_next_week_across_the_week_boundary() {
    // Monday 2030-01-07 10:00 UTC, weekly.
    let schedule =
        Schedule::new(at(2030, 1, 7, 10), 3600, Some(None), None, TimeZone::UTC).unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 13, 23)),
        Some(at(2030, 1, 14, 10))
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 14, 10)),
        Some(at(2030, 1, 14, 10))
    );
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 14, 11)),
        Some(at(2030, 1, 21, 10))
    );
    assert!(schedule.is_ongoing(
        at(2030, 1, 14, 10),
        at(2030, 1, 14, 10) + Duration::minutes(30)
    ));
}

#[test]
fn weekly_repetition_stops_at_the_events_end() {
    let schedule = Schedule::new(
        at(2030, 1, 7, 10),
        3600,
        Some(None),
        Some(at(2030, 1, 20, 0)),
        TimeZone::UTC,
    )
    .unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 8, 0)),
        Some(at(2030, 1, 14, 10))
    );
    assert_eq!(schedule.current_or_next(at(2030, 1, 15, 0)), None);
}

#[test]
fn a_custom_rule_replaces_the_weekly_one() {
    let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
    let schedule = Schedule::new(
        at(2030, 1, 7, 10),
        3600,
        Some(Some(&rule)),
        None,
        TimeZone::UTC,
    )
    .unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 7, 12)),
        Some(at(2030, 1, 8, 10))
    );
    assert_eq!(schedule.current_or_next(at(2030, 1, 9, 12)), None);
}

#[test]
fn calendar_rules_end_as_the_schedule_ends() {
    let start = at(2030, 1, 7, 10);
    let end = Some(at(2030, 2, 1, 18));
    assert_eq!(calendar_rule(None, start, None).unwrap(), "FREQ=WEEKLY");
    assert_eq!(
        calendar_rule(None, start, end).unwrap(),
        "FREQ=WEEKLY;UNTIL=20300201T180000Z"
    );
    assert_eq!(
        calendar_rule(Some("RRULE:FREQ=DAILY;COUNT=5"), start, end).unwrap(),
        "FREQ=DAILY;COUNT=5"
    );
    assert_eq!(
        calendar_rule(Some("FREQ=MONTHLY;UNTIL=20310101T000000Z"), start, end).unwrap(),
        "FREQ=MONTHLY;UNTIL=20300201T180000Z",
        "a rule ending after the event is cut at the event's end"
    );
    assert_eq!(
        calendar_rule(Some("FREQ=DAILY;UNTIL=20300110T000000Z"), start, end).unwrap(),
        "FREQ=DAILY;UNTIL=20300110T000000Z"
    );
    assert_eq!(calendar_rule(None, start, Some(at(2030, 1, 1, 0))), None);
}

#[test]
fn a_session_starting_after_its_event_ends_happens_once() {
    let schedule = Schedule::new(
        at(2030, 1, 7, 10),
        3600,
        Some(None),
        Some(at(2030, 1, 1, 0)),
        TimeZone::UTC,
    )
    .unwrap();
    assert_eq!(
        schedule.current_or_next(at(2030, 1, 1, 0)),
        Some(at(2030, 1, 7, 10))
    );
    assert_eq!(schedule.current_or_next(at(2030, 1, 8, 0)), None);
}

#[test]
fn invalid_and_too_frequent_rules_are_refused() {
    assert!(Rule::parse("FREQ=SOMETIMES").is_err());
    assert!(Rule::parse("FREQ=HOURLY").is_err());
    assert!(Rule::parse("FREQ=DAILY\nRRULE:FREQ=WEEKLY").is_err());
    assert!(Rule::parse(&"FREQ=DAILY;".repeat(60)).is_err());
    let error = Rule::parse("FREQ=DAILY;BYHOUR=0,1,2;BYMINUTE=0,30").unwrap_err();
    assert!(error.starts_with("BYHOUR is not supported"), "{error}");
    assert!(Rule::parse("FREQ=DAILY;BYSETPOS=1").is_err());
    assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105").is_err());
    assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105T000000").is_err());
    assert!(Rule::parse("FREQ=DAILY;UNTIL=20990105T000000Z").is_ok());
    assert!(Rule::parse("RRULE:FREQ=WEEKLY;BYDAY=MO,WE").is_ok());
}

/// The limits of rules and the cost of finding their occurrences.
mod bounded {
    use super::*;

    #[test]
    fn a_counted_rule_whose_occurrences_are_over_has_no_current_or_next() {
        let now = Utc::now();
        let start = now - Duration::days(2);
        let rule = Rule::parse("FREQ=DAILY;COUNT=2").unwrap();
        let schedule = Schedule::new(start, 3600, Some(Some(&rule)), None, TimeZone::UTC).unwrap();
        assert_eq!(schedule.current_or_next(now), None);
    }

    #[test]
    fn occurrences_keep_the_starts_fraction_of_a_second() {
        let start = at(2030, 1, 7, 10) + Duration::milliseconds(250);
        let rule = Rule::parse("FREQ=DAILY;COUNT=3").unwrap();
        let schedule = Schedule::new(start, 60, Some(Some(&rule)), None, TimeZone::UTC).unwrap();
        assert_eq!(schedule.current_or_next(start), Some(start));
        assert_eq!(
            schedule.current_or_next(start + Duration::minutes(2)),
            Some(start + Duration::days(1))
        );
    }

    /// The current or next occurrence found by walking the whole rule from its start.
    fn walked_from_the_start(
        rule: Option<&Rule>,
        start: DateTime<Utc>,
        duration: Duration,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let rule = rule.map_or_else(
            || RRule::new(Frequency::Weekly),
            |Rule(rule, _)| rule.clone(),
        );
        rule.build(start.with_timezone(&Tz::UTC))
            .unwrap()
            .into_iter()
            .map(|occurrence| occurrence.with_timezone(&Utc))
            .find(|occurrence| *occurrence + duration > now)
    }

    #[test]
    fn walking_from_a_later_start_finds_the_same_occurrences() {
        let rules = [
            None,
            Some("FREQ=DAILY"),
            Some("FREQ=DAILY;INTERVAL=3"),
            Some("FREQ=WEEKLY;BYDAY=MO,WE"),
            Some("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;WKST=SU"),
            Some("FREQ=MONTHLY"),
            Some("FREQ=MONTHLY;BYMONTHDAY=31"),
            Some("FREQ=MONTHLY;BYDAY=1MO"),
            Some("FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR"),
            Some("FREQ=MONTHLY;BYMONTH=2,8"),
            Some("FREQ=YEARLY"),
            Some("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
            Some("FREQ=YEARLY;INTERVAL=2;BYMONTH=6"),
            Some("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29"),
            Some("FREQ=WEEKLY;UNTIL=20251231T000000Z"),
            Some("FREQ=DAILY;COUNT=900"),
            Some("FREQ=WEEKLY;BYDAY=TU,TH;COUNT=1000"),
            Some("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=400"),
            Some("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;COUNT=9"),
        ];
        let starts = [
            at(1996, 1, 31, 9),
            at(1999, 2, 28, 23),
            at(2004, 2, 29, 12),
            at(2023, 10, 31, 0),
        ];
        let nows = [
            at(2025, 3, 30, 8),
            at(2026, 2, 28, 23),
            at(2028, 12, 31, 12),
        ];
        let duration = Duration::hours(2);
        for text in rules {
            let rule = text.map(|text| Rule::parse(text).unwrap());
            for start in starts {
                let schedule =
                    Schedule::new(start, 7200, Some(rule.as_ref()), None, TimeZone::UTC).unwrap();
                // As read back: knowing where the rule ends, as stored when written.
                let last_end = schedule.last_end();
                let schedule = schedule.knowing_last_end(last_end);
                for now in nows {
                    assert_eq!(
                        schedule.current_or_next(now),
                        walked_from_the_start(rule.as_ref(), start, duration, now),
                        "{text:?} from {start} at {now}"
                    );
                }
            }
        }
    }

    fn first_occurrence_check(text: &str, start: DateTime<Utc>) -> Result<(), String> {
        let rule = Rule::parse(text)?;
        Schedule::new(start, 3600, Some(Some(&rule)), None, TimeZone::UTC)?.check_bounds()
    }

    #[test]
    fn a_rule_must_first_occur_within_366_days_of_the_start() {
        let error = first_occurrence_check("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", at(2030, 1, 1, 9))
            .unwrap_err();
        assert!(error.contains("within 366 days"), "{error}");
        assert!(
            first_occurrence_check("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", at(2029, 3, 1, 9))
                .is_err()
        );
        assert!(
            first_occurrence_check("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", at(2031, 3, 1, 9))
                .is_ok()
        );
        assert!(
            first_occurrence_check(
                "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3",
                at(2030, 1, 1, 9)
            )
            .is_err()
        );
        assert!(
            first_occurrence_check("FREQ=MONTHLY;BYMONTHDAY=31;COUNT=3", at(2030, 1, 1, 9)).is_ok()
        );
    }

    #[test]
    fn rules_no_day_could_satisfy_are_refused_without_a_long_walk() {
        let start = at(2030, 1, 30, 9);
        for text in [
            "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=DAILY;BYMONTH=4,6;BYMONTHDAY=31;COUNT=5",
            "FREQ=MONTHLY;BYMONTH=2",
            "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=-31",
        ] {
            let error = first_occurrence_check(text, start).unwrap_err();
            assert!(error.contains("within 366 days"), "{text}: {error}");
        }
        assert!(first_occurrence_check("FREQ=MONTHLY;BYMONTHDAY=-1;BYMONTH=2", start).is_ok());
    }

    #[test]
    fn a_stored_rule_that_never_occurs_has_no_next_occurrence() {
        let rule = Rule::parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30").unwrap();
        let schedule = Schedule::new(
            at(1971, 1, 1, 9),
            3600,
            Some(Some(&rule)),
            None,
            TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(schedule.current_or_next(at(2030, 1, 1, 0)), None);
    }

    #[test]
    fn a_counted_rule_must_end_within_4000_of_its_periods() {
        let start = at(2031, 3, 1, 9);
        let error = first_occurrence_check("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;COUNT=1000", start)
            .unwrap_err();
        assert!(error.contains("within 4000 repetitions"), "{error}");
        assert!(first_occurrence_check("FREQ=DAILY;BYDAY=MO,WE,FR;COUNT=1000", start).is_ok());
        assert!(first_occurrence_check("FREQ=WEEKLY;INTERVAL=3;COUNT=1000", start).is_ok());
    }

    #[test]
    fn the_last_occurrence_ends_by_count_until_or_never() {
        let start = at(2030, 1, 7, 10);
        let hour = Duration::hours(1);
        let schedule = |text: &str, until| {
            let rule = Rule::parse(text).unwrap();
            Schedule::new(start, 3600, Some(Some(&rule)), until, TimeZone::UTC).unwrap()
        };
        assert_eq!(
            schedule("FREQ=DAILY;COUNT=3", None).last_end(),
            Some(at(2030, 1, 9, 10) + hour)
        );
        assert_eq!(
            schedule("FREQ=WEEKLY;UNTIL=20300125T000000Z", None).last_end(),
            Some(at(2030, 1, 21, 10) + hour)
        );
        assert_eq!(
            schedule("FREQ=DAILY", Some(at(2030, 3, 1, 0))).last_end(),
            Some(at(2030, 2, 28, 10) + hour),
            "the event's end"
        );
        assert_eq!(schedule("FREQ=MONTHLY", None).last_end(), None);
        let single = Schedule::new(start, 3600, None, None, TimeZone::UTC).unwrap();
        assert_eq!(single.last_end(), Some(start + hour));
    }

    #[test]
    fn a_count_above_1000_is_refused() {
        assert!(Rule::parse("FREQ=DAILY;COUNT=1000").is_ok());
        let error = Rule::parse("FREQ=DAILY;COUNT=1001").unwrap_err();
        assert_eq!(error, "COUNT must be at most 1000");
    }
}
