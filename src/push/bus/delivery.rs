//! Delivering a batch of pushes to this process's connections: each session rendered once,
//! each recipient owed one frame of it, numbered by the last push that named them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::value::RawValue;

use crate::domain::change::audience;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::session::Session;
use crate::domain::session::view::{SessionEnvelope, SessionView};
use crate::push::hub::PushFrame;
use crate::store::StoreResult;
use crate::store::pushes::PushDocument;

use super::{
    Addressed, Owed, PushMode, Pushes, RENDERED_AT_ONCE, SESSION_UPDATED, deletion_frame,
    reminder_frame, with_waitlist_position,
};

impl Pushes {
    /// Delivers a batch of pushes, in order, to this process's connections of their
    /// recipients: the pushes of one session are rendered once, with the session as it is
    /// now, and each recipient receives one frame of it, numbered by the last push of the
    /// batch that named them. Frames go out in the order of their numbers.
    pub(super) async fn deliver(&self, batch: &[PushDocument]) {
        let started = std::time::Instant::now();
        let versions = self.store.session_versions();
        let mut oldest = Duration::ZERO;
        for push in batch {
            let written_at = chrono::DateTime::<chrono::Utc>::from(push.at);
            if let Ok(lag) = (chrono::Utc::now() - written_at).to_std() {
                crate::metrics::push_lag(lag);
                oldest = oldest.max(lag);
            }
            if let Some(event_id) = &push.event_id {
                self.store.forget_cached_event(event_id);
            }
            if let Some(hash) = &push.ended_user {
                self.ended(hash);
            }
            // What each push says of its session counts even where nobody here hears of it.
            match push.version {
                _ if push.session_id.is_empty() => {}
                _ if push.session_deleted => versions.note_deleted(&push.session_id),
                Some(version) => versions.note(&push.session_id, version),
                None => {}
            }
        }
        let renders: Vec<_> = by_session(batch)
            .into_iter()
            .map(|(session_id, pushes)| self.session_frames(session_id, pushes))
            .collect();
        let mut frames: Vec<Addressed> = futures_util::stream::iter(renders)
            .buffer_unordered(RENDERED_AT_ONCE)
            .collect::<Vec<_>>()
            .await
            .concat();
        frames.extend(
            batch
                .iter()
                .filter(|push| {
                    push.reminder
                        .as_ref()
                        .is_some_and(|reminder| self.hub.has_connections(&reminder.user_id))
                })
                .filter_map(|push| {
                    reminder_frame(push)
                        .map(|(user_id, frame)| (push.sequence, user_id.to_owned(), frame))
                }),
        );
        frames.sort_by_key(|(number, _, _)| *number);
        let rendered = started.elapsed();
        for (_, user_id, frame) in &frames {
            self.hub.send(user_id, frame);
        }
        tracing::debug!(
            pushes = batch.len(),
            frames = frames.len(),
            oldest_lag_ms = oldest.as_millis(),
            render_ms = rendered.as_millis(),
            send_ms = (started.elapsed() - rendered).as_millis(),
            "delivered a batch of pushes"
        );
        if self.mode == PushMode::Shared
            && let Some(last) = batch.iter().map(|push| push.sequence).max()
        {
            self.last_sequence.fetch_max(last, Ordering::Relaxed);
        }
        // Last: a prop push these changes cause is numbered after the session pushes just
        // sent, and follows them.
        for push in batch {
            self.board.changed(&push.props);
        }
    }

    /// The frames of a run of pushes of one session (in order) for this process's
    /// connections: the session's audience as it is now hears of the changes to it (the
    /// session is read once, unless this process's last write of it is the newest), those
    /// named of its deletion or of losing sight of it.
    pub(super) async fn session_frames(
        &self,
        session_id: &SessionId,
        pushes: Vec<&PushDocument>,
    ) -> Vec<Addressed> {
        let versions = self.store.session_versions();
        // The session as this process's last write of it left it, while that is the newest.
        let mut written = None;
        for push in &pushes {
            if let Some(session) = self.written.take(&push.id, versions) {
                written = Some(session);
            }
        }
        let session = match written {
            _ if !pushes.iter().any(|push| push.to_audience) => None,
            Some(session) => Some(session),
            None => match self.store.find_session(session_id).await {
                Ok(found) => found.map(Arc::new),
                Err(error) => {
                    tracing::warn!(%error, session = %session_id, "cannot render a push");
                    None
                }
            },
        };
        let members = session.as_deref().map(audience).unwrap_or_default();
        let members: Vec<&str> = members.iter().map(String::as_str).collect();
        let owed = owed_after(&pushes, &members, |user_id| {
            self.hub.has_connections(user_id)
        });
        let mut frames: Vec<Addressed> = Vec::new();
        let mut deletions: HashMap<i64, Option<Arc<PushFrame>>> = HashMap::new();
        let mut updated = Vec::new();
        for owed in owed {
            if owed.deleted {
                let frame = deletions
                    .entry(owed.number)
                    .or_insert_with(|| deletion_frame(session_id, owed.number));
                if let Some(frame) = frame {
                    frames.push((owed.number, owed.user_id.to_owned(), Arc::clone(frame)));
                }
            } else {
                updated.push((owed.user_id.to_owned(), owed.number));
            }
        }
        if let Some(session) = session.filter(|_| !updated.is_empty()) {
            match self.render_updates(&session, &updated).await {
                Ok(rendered) => frames.extend(rendered),
                Err(error) => tracing::warn!(%error, session = %session_id, "cannot render a push"),
            }
        }
        frames
    }

    /// The `social:sessionUpdated` frame of each recipient (with the number they are owed):
    /// the session as it is now, as that recipient sees it. A recipient who left the
    /// audience since the change (uninvited, declined), or waits for a seat but may no
    /// longer see the session (it became Private, their membership went), gets none.
    pub(super) async fn render_updates(
        &self,
        session: &Session,
        recipients: &[(String, i64)],
    ) -> StoreResult<Vec<Addressed>> {
        let people = self.store.people(session.people()).await?;
        let mut current: HashSet<String> = audience(session).into_iter().collect();
        let out_of_sight = self
            .store
            .waiting_out_of_sight(
                session,
                recipients.iter().map(|(user_id, _)| user_id.as_str()),
            )
            .await?;
        current.retain(|user_id| !out_of_sight.contains(user_id.as_str()));
        let data_for = |viewer: &str| {
            let data = SessionEnvelope {
                session: SessionView::render(session, &people, &UserId::from(viewer)),
            };
            serde_json::value::to_raw_value(&data)
                .inspect_err(|error| tracing::warn!(%error, "cannot render a push"))
                .ok()
        };
        let frame = |number: i64, data: Box<RawValue>| {
            Arc::new(PushFrame::new(SESSION_UPDATED, number.to_string(), data))
        };
        // Everyone sees the session alike, but incognito people see themselves (rendered
        // for them) and waiting people their own rank (the common view with it added):
        // render the common view once, and one frame per number.
        let common = data_for("");
        let ranks: HashMap<&str, u64> = (1..)
            .zip(&session.waitlist)
            .map(|(rank, user_id)| (user_id.as_str(), rank))
            .collect();
        let mut common_frames: HashMap<i64, Arc<PushFrame>> = HashMap::new();
        let mut frames = Vec::new();
        for (user_id, number) in recipients
            .iter()
            .filter(|(user_id, _)| current.contains(user_id.as_str()))
        {
            let rank = ranks.get(user_id.as_str());
            let rendered = if people.is_incognito(user_id) {
                data_for(user_id).map(|data| frame(*number, data))
            } else if let Some(rank) = rank {
                common
                    .as_deref()
                    .and_then(|data| with_waitlist_position(data, *rank))
                    .map(|data| frame(*number, data))
            } else {
                common.as_ref().map(|data| {
                    Arc::clone(
                        common_frames
                            .entry(*number)
                            .or_insert_with(|| frame(*number, data.clone())),
                    )
                })
            };
            if let Some(rendered) = rendered {
                frames.push((*number, user_id.clone(), rendered));
            }
        }
        Ok(frames)
    }
}

/// The pushes of each session named in `pushes`, in order, sessions in the order they
/// first appear; pushes of no session (changes at props only, reminders) are left out.
pub(super) fn by_session(pushes: &[PushDocument]) -> Vec<(&SessionId, Vec<&PushDocument>)> {
    let mut sessions: Vec<(&SessionId, Vec<&PushDocument>)> = Vec::new();
    let mut index: HashMap<&SessionId, usize> = HashMap::new();
    for push in pushes.iter().filter(|push| !push.session_id.is_empty()) {
        let at = *index.entry(&push.session_id).or_insert_with(|| {
            sessions.push((&push.session_id, Vec::new()));
            sessions.len() - 1
        });
        sessions[at].1.push(push);
    }
    sessions
}

/// What each recipient who passes `here` (asked once per recipient) is owed after
/// `pushes` (of one session, in order): those named of a deletion, and the session's
/// `audience` (as it is now) of the last push to the audience that did not except them,
/// when later. In the order
/// of first mention, the audience last.
pub(super) fn owed_after<'a>(
    pushes: &[&'a PushDocument],
    audience: &[&'a str],
    here: impl Fn(&str) -> bool,
) -> Vec<Owed<'a>> {
    let mut owed: Vec<Owed<'a>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut tell = |latest: Owed<'a>| match index.get(latest.user_id) {
        Some(&at) if owed[at].number > latest.number => {}
        Some(&at) => owed[at] = latest,
        None => {
            index.insert(latest.user_id, owed.len());
            owed.push(latest);
        }
    };
    for push in pushes {
        for user_id in &push.deleted_for {
            tell(Owed {
                user_id,
                number: push.sequence,
                deleted: true,
            });
        }
    }
    let to_audience: Vec<&PushDocument> = pushes
        .iter()
        .filter(|push| push.to_audience)
        .copied()
        .collect();
    for user_id in audience {
        let last = to_audience
            .iter()
            .rev()
            .find(|push| push.except.as_deref() != Some(*user_id));
        if let Some(push) = last {
            tell(Owed {
                user_id,
                number: push.sequence,
                deleted: false,
            });
        }
    }
    owed.retain(|owed| here(owed.user_id));
    owed
}
