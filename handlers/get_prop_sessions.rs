//! `social:getPropSessions`: the two visible, valid sessions at a room prop that are under
//! way or next to start — a recurring session by its current or next occurrence — ongoing
//! ones first, then upcoming ones, each by start time, then id. Visibility is part of the
//! database query, so sessions the caller cannot see cost nothing here and never take the
//! place of visible ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::prelude::*;

/// How many sessions the answer holds.
const ANSWERED: usize = 2;
/// Single sessions read per query after the first, while looking for visible ones.
const PAGE: i64 = 50;
/// Most recurring sessions considered at one prop.
const MAX_RECURRING: i64 = 200;

/// The endpoint.
pub struct GetPropSessions;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    room_id: String,
    prop_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Response {
    sessions: Vec<SessionView>,
}

/// A visible session with the start of its current or next occurrence.
struct Candidate {
    ongoing: bool,
    start: DateTime<Utc>,
    session: Session,
}

impl Endpoint for GetPropSessions {
    const NAME: &'static str = "social:getPropSessions";
    const CHANGES_DATA: bool = false;
    type Request = Request;
    type Response = Response;

    fn example() -> Example {
        Example {
            request: json!({ "roomId": examples::ROOM_ID, "propId": examples::PROP_ID }),
            answer: json!({ "sessions": [examples::session(true)] }),
        }
    }

    fn validate(request: &Request) -> Result<(), ApiError> {
        let data = FieldPath::data();
        check_max_chars(&request.room_id, MAX_REFERENCE_CHARS, &data.field("roomId"))?;
        check_max_chars(&request.prop_id, MAX_REFERENCE_CHARS, &data.field("propId"))
    }

    async fn handle(context: RequestContext, request: Request) -> Result<Response, ApiError> {
        let store = context.store();
        let user_id = context.me();
        let now = Timestamp::now();
        let memberships = store.memberships_of(user_id).await?;
        let audience = Audience::of(user_id, &memberships);
        let place = Place {
            room_id: &request.room_id,
            prop_id: &request.prop_id,
            audience: &audience,
            now,
        };
        // The nearest single sessions and the recurring ones, read at the same time; the
        // occurrences of the recurring ones are computed below.
        let (mut visible, recurring) = futures_util::try_join!(
            nearest_single_sessions(store, user_id, &place, &memberships),
            visible_recurring_sessions(store, user_id, &place, &memberships),
        )?;
        visible.extend(recurring);

        // Walking a long recurrence is CPU work: keep it off the async workers.
        let now = now.to_chrono();
        let mut candidates = tokio::task::spawn_blocking(move || {
            visible
                .into_iter()
                .filter_map(|(session, event)| candidate(session, event.as_ref(), now))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|error| ApiError::Unexpected(error.into()))?;
        candidates.sort_by(|a, b| {
            (!a.ongoing, a.start, &a.session.id).cmp(&(!b.ongoing, b.start, &b.session.id))
        });
        let nearest: Vec<Session> = candidates
            .into_iter()
            .take(ANSWERED)
            .map(|candidate| candidate.session)
            .collect();
        Ok(Response {
            sessions: render_sessions(store, user_id, &nearest).await?,
        })
    }
}

/// Where and for whom sessions are looked for.
struct Place<'a> {
    room_id: &'a str,
    prop_id: &'a str,
    audience: &'a Audience,
    now: Timestamp,
}

/// The first [`ANSWERED`] visible single sessions at the place, with their events. Single
/// sessions come sorted by start, so the first visible ones are the nearest; visibility is
/// part of the query, so the first page (as long as the answer) nearly always suffices.
async fn nearest_single_sessions(
    store: &Store,
    user_id: &str,
    place: &Place<'_>,
    memberships: &[Membership],
) -> Result<Vec<(Session, Option<Event>)>, ApiError> {
    let mut visible = Vec::new();
    let (mut skip, mut limit) = (0, ANSWERED as i64);
    loop {
        let page = store
            .single_sessions_at_prop(
                place.room_id,
                place.prop_id,
                place.audience,
                place.now,
                skip,
                limit,
            )
            .await?;
        let exhausted = (page.len() as i64) < limit;
        skip += page.len() as u64;
        let viewer = store.viewer_with(user_id, &page, memberships).await?;
        for session in page {
            if visible.len() < ANSWERED && viewer.may_see(&session) {
                let event = viewer.event_of(&session).cloned();
                visible.push((session, event));
            }
        }
        if exhausted || visible.len() >= ANSWERED {
            return Ok(visible);
        }
        limit = PAGE;
    }
}

/// The visible recurring sessions at the place (at most [`MAX_RECURRING`] are read), with
/// their events.
async fn visible_recurring_sessions(
    store: &Store,
    user_id: &str,
    place: &Place<'_>,
    memberships: &[Membership],
) -> Result<Vec<(Session, Option<Event>)>, ApiError> {
    let recurring = store
        .recurring_sessions_at_prop(
            place.room_id,
            place.prop_id,
            place.audience,
            place.now,
            MAX_RECURRING,
        )
        .await?;
    let viewer = store.viewer_with(user_id, &recurring, memberships).await?;
    Ok(recurring
        .into_iter()
        .filter(|session| viewer.may_see(session))
        .map(|session| {
            let event = viewer.event_of(&session).cloned();
            (session, event)
        })
        .collect())
}

/// The session with its current or next occurrence; `None` when all have ended.
fn candidate(session: Session, event: Option<&Event>, now: DateTime<Utc>) -> Option<Candidate> {
    let Ok(schedule) = session.schedule(event) else {
        tracing::warn!(session = %session.id, "stored session has an invalid schedule");
        return None;
    };
    let start = schedule.current_or_next(now)?;
    Some(Candidate {
        ongoing: schedule.is_ongoing(start, now),
        start,
        session,
    })
}

inventory::submit! { Registration::of::<GetPropSessions>().described_by(include_str!("get_prop_sessions.rs")) }
