//! iCalendar files (RFC 5545): the `VEVENT` of a session, the calendar file that
//! invitation files and calendar feeds share, and the `VTIMEZONE` of a session's zone
//! (`vtimezone`). A session in a time zone other than UTC has its times as wall-clock time
//! with `TZID`, and the file carries the zone's `VTIMEZONE`; UTC sessions are in UTC.
//!
//! Built with the `icalendar` crate, which escapes text values and folds lines at 75
//! octets on character boundaries. People appear by display name with an address under
//! the service's public URL that names only their user id: no e-mail address or phone
//! number ever appears in the file. Uses only `domain`: the HTTP routes that serve these
//! files are `http::invitation_file` and `http::calendar_feed`.

pub mod vtimezone;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use icalendar::{
    Alarm, Calendar, CalendarDateTime, Class, Component, Event, EventLike, EventStatus, Property,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use self::vtimezone::vtimezone;
use crate::domain::event::Event as SocialEvent;
use crate::domain::feed::FeedEntry;
use crate::domain::ids::UserId;
use crate::domain::kinds::{InvitationRole, InvitationStatus, SessionKind};
use crate::domain::occurrences::Exception;
use crate::domain::people::{People, UserSimple};
use crate::domain::recurrence::calendar_rule;
use crate::domain::reminder::ReminderSetting;
use crate::domain::session::Session;
use crate::domain::zone::TimeZone;

/// What a URL path segment keeps as it is: RFC 3986's unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Who a calendar file is for: whose view of people it shows, and their reminder lead
/// time (`None`: no alarm).
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub user_id: &'a UserId,
    pub reminder: ReminderSetting,
}

/// The calendar file of `session` as `recipient` sees it.
pub fn invitation(
    session: &Session,
    event: Option<&SocialEvent>,
    people: &People,
    recipient: Recipient<'_>,
    public_url: &str,
    now: DateTime<Utc>,
) -> String {
    let events = session_events(
        session,
        event,
        people,
        recipient,
        public_url,
        now,
        Detail::Invitation,
    );
    calendar_file(
        "REQUEST",
        "-//social-events//Session invitation//EN",
        None,
        events,
        &[(session.time_zone, session.start_date.to_chrono())],
    )
}

/// How much of a session a calendar file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// An invitation file: the whole description and every attendee.
    Invitation,
    /// An entry of a calendar feed, which lists many sessions: no attendees, and the
    /// description cut at [`FEED_DESCRIPTION_CHARS`] (the entry's URL leads to the rest),
    /// so that a feed stays small whatever its sessions hold.
    Feed,
}

/// Most characters of a session's description in a calendar feed.
pub const FEED_DESCRIPTION_CHARS: usize = 500;

/// The `VEVENT`s of `session` as `recipient` sees it, with `detail`: the same UID and
/// SEQUENCE in every calendar file that lists it. A recurring session's `VEVENT` carries
/// an `EXDATE` for each cancelled occurrence, and each changed occurrence follows as a
/// `VEVENT` of its own with the same UID and its `RECURRENCE-ID`, as calendar apps expect.
/// Each `VEVENT` has a `VALARM` at the recipient's reminder lead time, unless they
/// switched reminders off.
pub fn session_events(
    session: &Session,
    event: Option<&SocialEvent>,
    people: &People,
    recipient: Recipient<'_>,
    public_url: &str,
    now: DateTime<Utc>,
    detail: Detail,
) -> Vec<Event> {
    let start = session.start_date.to_chrono();
    let shown = Shown {
        session,
        people,
        recipient,
        public_url,
        detail,
    };
    let mut series = timed_event(
        &session.id,
        now,
        start,
        session.duration,
        session.time_zone,
        &session.title,
        session.sequence,
    );
    shown.describe(&mut series, &session.title, &session.description);
    let mut events = Vec::new();
    if session.is_recurring {
        let until = event.map(|event| event.end_date.to_chrono());
        if let Some(rule) = calendar_rule(session.recurrence.as_deref(), start, until) {
            series.add_property("RRULE", rule);
            for exception in session.exceptions.as_slice() {
                let in_session_zone = |instant| in_zone(instant, session.time_zone);
                match exception {
                    Exception::Cancelled { occurrence } => {
                        series.exdate(in_session_zone(*occurrence));
                    }
                    Exception::Changed {
                        occurrence,
                        start,
                        duration,
                        title,
                        description,
                    } => {
                        let mut changed = timed_event(
                            &session.id,
                            now,
                            *start,
                            *duration,
                            session.time_zone,
                            title.as_deref().unwrap_or(&session.title),
                            session.sequence,
                        );
                        changed.recurrence_id(in_session_zone(*occurrence));
                        let title = title.as_deref().unwrap_or(&session.title);
                        let description = description.as_deref().unwrap_or(&session.description);
                        shown.describe(&mut changed, title, description);
                        events.push(changed.done());
                    }
                }
            }
        }
    }
    events.insert(0, series.done());
    events
}

/// What a session's `VEVENT`s show besides their times, for one viewer.
struct Shown<'a> {
    session: &'a Session,
    people: &'a People,
    recipient: Recipient<'a>,
    public_url: &'a str,
    detail: Detail,
}

impl Shown<'_> {
    /// Adds the description (all of it, or its start in a feed), the class, the URL, the
    /// organizer, in an invitation the attendees, and the recipient's alarm to `vevent`
    /// (of an occurrence titled `title`).
    fn describe(&self, vevent: &mut Event, title: &str, description: &str) {
        let (session, public_url) = (self.session, self.public_url);
        let description = match self.detail {
            Detail::Invitation => clean_text(description),
            Detail::Feed => {
                let mut cut: String = description.chars().take(FEED_DESCRIPTION_CHARS).collect();
                if cut.len() < description.len() {
                    cut.push('…');
                }
                clean_text(&cut)
            }
        };
        vevent
            .description(&description)
            .class(if session.session_type == SessionKind::Private {
                Class::Private
            } else {
                Class::Public
            })
            .url(&format!(
                "{public_url}/sessions/{}",
                path_segment(&session.id)
            ));
        vevent.append_property(person_property(
            "ORGANIZER",
            &self
                .people
                .render(&session.owner_id, self.recipient.user_id),
            public_url,
        ));
        let attendees = match self.detail {
            Detail::Invitation => session.invited.as_slice(),
            Detail::Feed => &[],
        };
        for invitation in attendees {
            let mut attendee = person_property(
                "ATTENDEE",
                &self
                    .people
                    .render(&invitation.user_id, self.recipient.user_id),
                public_url,
            );
            let role = if invitation.role == InvitationRole::Presenter {
                "CHAIR"
            } else {
                "REQ-PARTICIPANT"
            };
            let status = match session.invitation_status_of(&invitation.user_id) {
                InvitationStatus::Accepted => "ACCEPTED",
                InvitationStatus::Declined => "DECLINED",
                InvitationStatus::Pending => "NEEDS-ACTION",
            };
            attendee
                .add_parameter("CUTYPE", "INDIVIDUAL")
                .add_parameter("ROLE", role)
                .add_parameter("PARTSTAT", status);
            vevent.append_multi_property(attendee);
        }
        if let Some(minutes) = self.recipient.reminder.minutes() {
            // Written as minutes, as calendar apps write their own (`-PT10M`).
            let trigger = Duration::minutes(-i64::from(minutes));
            vevent.alarm(
                Alarm::display(&clean_text(title), trigger)
                    .add_property("TRIGGER", format!("-PT{minutes}M"))
                    .done(),
            );
        }
    }
}

/// The part of a session's `VEVENT` that every calendar file has: UID, DTSTAMP, its times
/// in its zone, SUMMARY and SEQUENCE.
fn timed_event(
    session_id: &str,
    stamp: DateTime<Utc>,
    start: DateTime<Utc>,
    duration_seconds: i64,
    zone: TimeZone,
    title: &str,
    sequence: i64,
) -> Event {
    let end = start + Duration::seconds(duration_seconds);
    let mut vevent = Event::new();
    vevent
        .uid(&session_uid(session_id))
        .timestamp(stamp)
        .starts(in_zone(start, zone))
        .ends(in_zone(end, zone))
        .summary(&clean_text(title))
        .sequence(u32::try_from(sequence).unwrap_or(u32::MAX));
    vevent
}

/// The UID of a session's `VEVENT`: the session id alone decides it.
pub fn session_uid(session_id: &str) -> String {
    format!("session-{session_id}@social-events")
}

/// The `VEVENT` that removes a session from calendars: its UID, a SEQUENCE above the last
/// one listed, `STATUS:CANCELLED`, and its last known title and times.
pub fn cancelled_event(entry: &FeedEntry, cancelled_at: DateTime<Utc>, public_url: &str) -> Event {
    let mut vevent = timed_event(
        &entry.session_id,
        cancelled_at,
        entry.start_date.to_chrono(),
        entry.duration,
        entry.time_zone,
        &entry.title,
        entry.sequence,
    );
    vevent.status(EventStatus::Cancelled);
    vevent.append_property(organizer_property(
        &entry.organizer_id,
        &entry.organizer_name,
        public_url,
    ));
    vevent.done()
}

/// `instant` as a calendar date-time: in UTC for UTC sessions, else as wall-clock time in
/// the zone with its `TZID` (whose `VTIMEZONE` the file carries).
fn in_zone(instant: DateTime<Utc>, zone: TimeZone) -> CalendarDateTime {
    if zone.is_utc() {
        return CalendarDateTime::Utc(instant);
    }
    CalendarDateTime::WithTimezone {
        date_time: instant.with_timezone(&zone.tz()).naive_local(),
        tzid: zone.name().to_owned(),
    }
}

/// A calendar file with `method` (`REQUEST`, `PUBLISH`), its product id, the calendar's
/// display name when given (`X-WR-CALNAME`, which calendar apps show for a subscription),
/// `events`, and a `VTIMEZONE` for each zone other than UTC among `zones` (each with the
/// earliest start it must cover).
pub fn calendar_file(
    method: &str,
    product: &str,
    name: Option<&str>,
    events: Vec<Event>,
    zones: &[(TimeZone, DateTime<Utc>)],
) -> String {
    // Built from empty: `Calendar::new` brings a PRODID of its own, which may occur once.
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", product))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", method));
    if let Some(name) = name {
        calendar.append_property(Property::new("X-WR-CALNAME", name));
    }
    for event in events {
        calendar.push(event);
    }
    let text = calendar.done().to_string();
    let mut earliest: BTreeMap<&str, (TimeZone, DateTime<Utc>)> = BTreeMap::new();
    for (zone, start) in zones.iter().filter(|(zone, _)| !zone.is_utc()) {
        let entry = earliest.entry(zone.name()).or_insert((*zone, *start));
        entry.1 = entry.1.min(*start);
    }
    if earliest.is_empty() {
        return text;
    }
    let time_zones: String = earliest
        .values()
        .map(|(zone, start)| vtimezone(*zone, *start))
        .collect();
    // The components the `icalendar` crate does not build go before the first event (or
    // the end of the calendar): the writer emits no VTIMEZONE of its own.
    let at = text
        .find("BEGIN:VEVENT\r\n")
        .or_else(|| text.find("END:VCALENDAR\r\n"))
        .unwrap_or(text.len());
    format!("{}{time_zones}{}", &text[..at], &text[at..])
}

/// `ORGANIZER` or `ATTENDEE`: the person's display name and an address naming the user id.
fn person_property(name: &str, person: &UserSimple, public_url: &str) -> Property {
    let display_name = format!("{} {}", person.first_name, person.last_name);
    named_person(name, &person.id, &display_name, public_url)
}

/// The `ORGANIZER` of a cancelled session, as the feed last showed them.
fn organizer_property(user_id: &str, display_name: &str, public_url: &str) -> Property {
    named_person("ORGANIZER", user_id, display_name, public_url)
}

/// A person property: `CN` (when there is a name) and an address naming the user id.
fn named_person(name: &str, user_id: &str, display_name: &str, public_url: &str) -> Property {
    let mut property = Property::new(
        name,
        format!("{public_url}/users/{}", path_segment(user_id)),
    );
    let display_name = clean_parameter(display_name);
    if !display_name.is_empty() {
        property.add_parameter("CN", &display_name);
    }
    property
}

/// Text as a calendar TEXT value holds it: line breaks as LF (escaped by the writer), no
/// other control characters.
fn clean_text(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|character| !character.is_control() || matches!(character, '\n' | '\t'))
        .collect()
}

/// A parameter value: no control characters and no double quotes (RFC 5545 section 3.2).
fn clean_parameter(text: &str) -> String {
    text.chars()
        .filter(|character| !character.is_control())
        .map(|character| if character == '"' { '\'' } else { character })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A URL path segment: unreserved characters as they are, everything else percent-encoded.
fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_dropped_and_line_breaks_kept() {
        assert_eq!(clean_text("a\r\nb\rc\u{7}d\te"), "a\nb\ncd\te");
        assert_eq!(
            clean_parameter(" Ada \"The\" Lovelace\n"),
            "Ada 'The' Lovelace"
        );
    }

    #[test]
    fn user_ids_are_percent_encoded_in_addresses() {
        assert_eq!(path_segment("u-1_~.x"), "u-1_~.x");
        assert_eq!(path_segment("a b/ü@"), "a%20b%2F%C3%BC%40");
    }
}
