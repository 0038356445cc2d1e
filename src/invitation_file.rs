//! The calendar invitation of a session (RFC 5545), for
//! `GET /api/v0/resource/sessionInvitation/{sessionId}`.
//!
//! Built with the `icalendar` crate, which escapes text values and folds lines at 75
//! octets on character boundaries. People appear by display name with an address under
//! the service's public URL that names only their user id: no e-mail address or phone
//! number ever appears in the file.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use icalendar::{Calendar, Class, Component, Event, EventLike, Property};
use poem::http::header;
use poem::web::{Data, Path};
use poem::{IntoResponse, Request, Response, handler};

use crate::auth::authenticate;
use crate::endpoint::Caller;
use crate::error::ApiError;
use crate::people::UserSimple;
use crate::recurrence::calendar_rule;
use crate::sessions::{
    SessionAccess, SessionRenderer, invitation_status, invitation_status_of, role, session_type,
};
use crate::state::AppState;
use crate::store::events::EventDocument;
use crate::store::sessions::SessionDocument;
use crate::time::Timestamp;

/// `GET /api/v0/resource/sessionInvitation/{sessionId}` with the WebSocket's token.
#[handler]
pub async fn session_invitation(
    request: &Request,
    Path(session_id): Path<String>,
    state: Data<&Arc<AppState>>,
) -> Response {
    let claims = match authenticate(request, &state.settings.tokens) {
        Ok(claims) => claims,
        Err(refusal) => return refusal.into_response(),
    };
    let caller = Caller {
        user_id: claims.sub.as_str().into(),
    };
    match render(&state, &caller, &session_id).await {
        Ok(calendar) => Response::builder()
            .header(
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8; method=REQUEST",
            )
            .header(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"session-{session_id}.ics\""),
            )
            .body(calendar),
        Err(error) => error.into_response(),
    }
}

async fn render(state: &AppState, caller: &Caller, session_id: &str) -> Result<String, ApiError> {
    let access = SessionAccess::load_visible(&state.store, caller, session_id).await?;
    let renderer =
        SessionRenderer::load(&state.store, std::slice::from_ref(&access.session)).await?;
    Ok(invitation(
        &access.session,
        access.event(),
        &renderer,
        &caller.user_id,
        &state.settings.public_url,
        Utc::now(),
    ))
}

/// The calendar file of `session` as `viewer_id` sees it.
pub fn invitation(
    session: &SessionDocument,
    event: Option<&EventDocument>,
    people: &SessionRenderer,
    viewer_id: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> String {
    let start = Timestamp::from(session.start_date).to_chrono();
    let end = start + Duration::seconds(session.duration);
    let mut vevent = Event::new();
    vevent
        .uid(&format!("session-{}@social-events", session.id))
        .timestamp(now)
        .starts(start)
        .ends(end)
        .summary(&clean_text(&session.title))
        .description(&clean_text(&session.description))
        .sequence(u32::try_from(session.sequence).unwrap_or(u32::MAX))
        .class(if session.session_type == session_type::PRIVATE {
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
        &people.person(&session.owner_id, viewer_id),
        public_url,
    ));
    for invitation in &session.invited {
        let mut attendee = person_property(
            "ATTENDEE",
            &people.person(&invitation.user_id, viewer_id),
            public_url,
        );
        let role = if invitation.role == role::PRESENTER {
            "CHAIR"
        } else {
            "REQ-PARTICIPANT"
        };
        let status = match invitation_status_of(session, &invitation.user_id) {
            invitation_status::ACCEPTED => "ACCEPTED",
            invitation_status::DECLINED => "DECLINED",
            _ => "NEEDS-ACTION",
        };
        attendee
            .add_parameter("CUTYPE", "INDIVIDUAL")
            .add_parameter("ROLE", role)
            .add_parameter("PARTSTAT", status);
        vevent.append_multi_property(attendee);
    }
    if session.is_recurring {
        let until = event.map(|event| Timestamp::from(event.end_date).to_chrono());
        if let Some(rule) = calendar_rule(session.recurrence.as_deref(), start, until) {
            vevent.add_property("RRULE", rule);
        }
    }
    // Built from empty: `Calendar::new` brings a PRODID of its own, which may occur once.
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new(
            "PRODID",
            "-//social-events//Session invitation//EN",
        ))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", "REQUEST"))
        .push(vevent.done());
    calendar.done().to_string()
}

/// `ORGANIZER` or `ATTENDEE`: the person's display name and an address naming the user id.
fn person_property(name: &str, person: &UserSimple, public_url: &str) -> Property {
    let mut property = Property::new(
        name,
        format!("{public_url}/users/{}", path_segment(&person.id)),
    );
    let display_name = clean_parameter(&format!("{} {}", person.first_name, person.last_name));
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
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
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
