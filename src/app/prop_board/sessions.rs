//! What a user sees at a room prop: the two visible, valid sessions that are under way or
//! next to start — a recurring session by its current or next occurrence — ongoing ones
//! first, then upcoming ones, each by start time, then id; and when that answer can next
//! change by the passing of time alone. `social:getPropSessions` answers it, and the live
//! prop board (`social:watchProp`) answers it and pushes it again whenever it changes.
//!
//! Visibility is part of the database query, so sessions the caller cannot see cost
//! nothing here and never take the place of visible ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::access::render_sessions;
use crate::domain::event::Event;
use crate::domain::ids::UserId;
use crate::domain::occurrences::{Exception, ExceptionsOf};
use crate::domain::session::view::SessionView;
use crate::domain::session::{Audience, Prop, Session};
use crate::domain::source::Membership;
use crate::domain::text::{MAX_REFERENCE_CHARS, check_max_chars};
use crate::domain::time::Timestamp;
use crate::error::{ApiError, FieldPath};
use crate::store::Store;

/// How many sessions the answer holds.
const ANSWERED: usize = 2;
/// Single sessions read per query after the first, while looking for visible ones.
const PAGE: i64 = 50;
/// Most recurring sessions at a prop whose next occurrence one look works out again (a
/// prop with more catches up over the next looks): bounds the work of one request.
const REFRESHED_PER_LOOK: i64 = 200;

/// The request of the prop endpoints: which prop.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PropRequest {
    pub room_id: String,
    pub prop_id: String,
}

impl PropRequest {
    /// Refuses overlong ids.
    pub fn validate(&self) -> Result<(), ApiError> {
        let data = FieldPath::data();
        check_max_chars(&self.room_id, MAX_REFERENCE_CHARS, &data.field("roomId"))?;
        check_max_chars(&self.prop_id, MAX_REFERENCE_CHARS, &data.field("propId"))
    }

    /// The requested prop.
    pub fn prop(&self) -> Prop {
        Prop {
            room_id: self.room_id.clone(),
            prop_id: self.prop_id.clone(),
        }
    }
}

/// The answer of the prop endpoints: the sessions the caller sees at the prop.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PropSessions {
    pub sessions: Vec<SessionView>,
}

/// What a user sees at a prop now, and until when at the latest.
pub struct PropView {
    pub answer: PropSessions,
    /// The next start or end of a listed session (or occurrence): the answer may change
    /// then without any write. `None` when nothing is listed.
    pub next_change: Option<DateTime<Utc>>,
}

/// A visible session with its current or next occurrence.
struct Candidate {
    ongoing: bool,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    session: Session,
}

/// Where and for whom sessions are looked for.
struct Place<'a> {
    prop: &'a Prop,
    audience: &'a Audience,
    now: Timestamp,
}

/// What `user_id` sees at `prop` now.
pub async fn prop_sessions(
    store: &Store,
    user_id: &str,
    prop: &Prop,
) -> Result<PropView, ApiError> {
    let now = Timestamp::now();
    let memberships = store.memberships_of(user_id).await?;
    let audience = Audience::of(user_id, &memberships);
    let place = Place {
        prop,
        audience: &audience,
        now,
    };
    // The nearest single sessions and the nearest recurring ones, read at the same time;
    // their occurrences are worked out exactly below.
    let (mut visible, recurring) = futures_util::try_join!(
        nearest_sessions(store, user_id, &place, &memberships, Kind::Single),
        nearest_sessions(store, user_id, &place, &memberships, Kind::Recurring),
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
    candidates.truncate(ANSWERED);
    // Ongoing sessions come first and all start before upcoming ones: the list can change
    // with time only when a listed occurrence ends (a later one takes its place) — or,
    // at the latest, when one starts.
    let next_change = candidates
        .iter()
        .map(|candidate| {
            if candidate.ongoing {
                candidate.end
            } else {
                candidate.start
            }
        })
        .min();
    let nearest: Vec<Session> = candidates
        .into_iter()
        .map(|candidate| candidate.session)
        .collect();
    Ok(PropView {
        answer: PropSessions {
            sessions: render_sessions(store, &UserId::from(user_id), &nearest).await?,
        },
        next_change,
    })
}

/// Which sessions of a prop a query reads.
#[derive(Clone, Copy)]
enum Kind {
    /// Sessions that take place once, by start.
    Single,
    /// Recurring sessions, by their current or next occurrence.
    Recurring,
}

/// The first [`ANSWERED`] visible sessions of `kind` at the place, with their events.
/// Both kinds come sorted by the start of their current or next occurrence (for recurring
/// sessions as stored, see [`Store::refresh_next_occurrences`]), so the first visible ones
/// are the nearest, and no number of others can push them out; visibility is part of the
/// query, so the first page (as long as the answer) nearly always suffices.
async fn nearest_sessions(
    store: &Store,
    user_id: &str,
    place: &Place<'_>,
    memberships: &[Membership],
    kind: Kind,
) -> Result<Vec<(Session, Option<Event>)>, ApiError> {
    if let Kind::Recurring = kind {
        store
            .refresh_next_occurrences(place.prop, place.audience, place.now, REFRESHED_PER_LOOK)
            .await?;
    }
    let mut visible = Vec::new();
    let (mut skip, mut limit) = (0, ANSWERED as i64);
    loop {
        let (audience, now) = (place.audience, place.now);
        let page = match kind {
            Kind::Single => {
                store
                    .single_sessions_at_prop(place.prop, audience, now, skip, limit)
                    .await?
            }
            Kind::Recurring => {
                store
                    .recurring_sessions_at_prop(place.prop, audience, now, skip, limit)
                    .await?
            }
        };
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

/// The session with its current or next occurrence (cancelled ones skipped, changed ones
/// at their new times, shown with their own title and description); `None` when all have
/// ended.
fn candidate(mut session: Session, event: Option<&Event>, now: DateTime<Utc>) -> Option<Candidate> {
    let Ok(schedule) = session.schedule(event) else {
        tracing::warn!(session = %session.id, "stored session has an invalid schedule");
        return None;
    };
    let (start, end) = schedule.current_or_next_with(&session.exceptions, now)?;
    if let Some(Exception::Changed {
        title, description, ..
    }) = session.exceptions.changed_to(start, end)
    {
        let (title, description) = (title.clone(), description.clone());
        session.title = title.unwrap_or(session.title);
        session.description = description.unwrap_or(session.description);
    }
    Some(Candidate {
        ongoing: start <= now && now < end,
        start,
        end,
        session,
    })
}
