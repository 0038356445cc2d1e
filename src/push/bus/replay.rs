//! Resuming a client's pushes (`?resumeAfter=`): the pushes it missed, rendered for it,
//! or `social:resync` when that cannot be done.

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::ids::{SessionId, UserId};
use crate::domain::session::Session;
use crate::push::hub::PushFrame;
use crate::store::StoreResult;
use crate::store::push_numbers::PushNumber;
use crate::store::pushes::{KEPT_FOR, MAX_REPLAYED, PushDocument};

use super::delivery::{by_session, owed_after};
use super::{
    MAX_AUDIENCE_SESSIONS, MAX_REPLAYED_BYTES, Owed, PushMode, Pushes, REPLAY_READ_BATCH, Replay,
    deletion_frame, reminder_frame,
};

impl Pushes {
    /// What a client reconnecting with `?resumeAfter=after` receives first: each session
    /// it missed pushes of since the one numbered `after`, once, as it is now (its
    /// deletion, when that was the last push for the client), in the order of their last
    /// pushes (live pushes the replay covers are not sent again: see `http::connection`);
    /// or one `social:resync` frame when that cannot be done — `after` was not a push for
    /// this user, it is older than the kept log, more pushes followed than one resumption
    /// replays, the frames would exceed [`MAX_REPLAYED_BYTES`], or the database does not
    /// answer.
    ///
    /// Also answers the bytes of frames rendered for it (those rendered before it gave up,
    /// when it ends in `social:resync` for its size), the measure of what it cost.
    pub async fn replay(&self, user_id: &UserId, after: &str) -> (Replay, usize) {
        let replayed = match self.missed_pushes(user_id, after).await {
            Ok(Some((after, missed))) => self.render_missed(user_id, after, &missed).await,
            Ok(None) => Ok(Err(0)),
            Err(error) => Err(error),
        };
        match replayed {
            Ok(Ok(replay)) => {
                let bytes = match &replay {
                    Replay::Missed { frames, .. } => {
                        frames.iter().map(|frame| frame.data.get().len()).sum()
                    }
                    Replay::Resync => 0,
                };
                (replay, bytes)
            }
            Ok(Err(rendered)) => (Replay::Resync, rendered),
            Err(error) => {
                tracing::warn!(%error, "cannot replay missed pushes; the client refetches");
                (Replay::Resync, 0)
            }
        }
    }

    /// The pushes a client that resumes after `after` received already, whatever its
    /// replay: in shared mode, those numbered up to `after` (numbers are places in the
    /// change history, delivered in order everywhere), unless `after` names a place that
    /// does not exist yet (then it proves nothing). Live pushes among them are not sent to
    /// the new connection again.
    pub fn seen_through(&self, after: &str) -> Option<i64> {
        if self.mode != PushMode::Shared {
            return None;
        }
        let number = after.parse::<i64>().ok()?;
        let place = PushNumber::decode(number)?;
        let now = chrono::Utc::now().timestamp();
        (i64::from(place.at.time) <= now + 60).then_some(number)
    }

    /// The number `after` and the pushes for `user_id` that followed it, in order; `None`
    /// when they cannot all be known (see [`Pushes::replay`]). In shared mode they are read
    /// from the database's change history, where their numbers come from.
    pub(super) async fn missed_pushes(
        &self,
        user_id: &UserId,
        after: &str,
    ) -> StoreResult<Option<(i64, Vec<PushDocument>)>> {
        let Ok(after) = after.parse::<i64>() else {
            return Ok(None);
        };
        let kept_since =
            chrono::Utc::now() - chrono::Duration::from_std(KEPT_FOR).unwrap_or_default();
        // Pushes to an audience name nobody: those of the sessions the user is of are theirs.
        let Some(sessions) = self
            .store
            .audience_session_ids(user_id, MAX_AUDIENCE_SESSIONS)
            .await?
        else {
            return Ok(None);
        };
        let missed = match self.mode {
            PushMode::Local => {
                let issued = self.store.push_issued_at(user_id, &sessions, after).await?;
                if issued.is_none_or(|at| chrono::DateTime::<chrono::Utc>::from(at) < kept_since) {
                    return Ok(None);
                }
                let missed = self
                    .store
                    .pushes_for_after(user_id, &sessions, after)
                    .await?;
                (missed.len() as i64 <= MAX_REPLAYED).then_some(missed)
            }
            PushMode::Shared => {
                let Some(number) = PushNumber::decode(after) else {
                    return Ok(None);
                };
                if i64::from(number.at.time) < kept_since.timestamp()
                    || number.rank > 0
                        && self
                            .store
                            .prop_push_issued_at(user_id, after)
                            .await?
                            .is_none()
                {
                    return Ok(None);
                }
                let limit = usize::try_from(MAX_REPLAYED).unwrap_or(usize::MAX);
                let history = self
                    .store
                    .push_history(user_id, &sessions, number.at, limit)
                    .await?;
                // A session push named must have been for this user.
                history
                    .filter(|history| history.complete)
                    .filter(|history| history.anchor_for_user || number.rank > 0)
                    .map(|history| history.pushes)
            }
        };
        Ok(missed.map(|missed| (after, missed)))
    }

    /// The replay of `missed` (the pushes for `user_id` after the one numbered `after`):
    /// each session once, in the order of its last push for the user, and each reminder
    /// for them in its place; past
    /// [`MAX_REPLAYED_BYTES`], the bytes rendered when it gave up.
    pub(super) async fn render_missed(
        &self,
        user_id: &str,
        after: i64,
        missed: &[PushDocument],
    ) -> StoreResult<Result<Replay, usize>> {
        let mut owed: Vec<(&SessionId, Owed)> = by_session(missed)
            .into_iter()
            .flat_map(|(session_id, pushes)| {
                owed_after(&pushes, &[user_id], |recipient| recipient == user_id)
                    .into_iter()
                    .map(move |owed| (session_id, owed))
            })
            .collect();
        owed.sort_by_key(|(_, owed)| owed.number);
        // Reminders are replayed as they were sent, each in its place.
        let mut frames: Vec<(i64, Arc<PushFrame>)> = missed
            .iter()
            .filter_map(|push| {
                reminder_frame(push)
                    .filter(|(recipient, _)| *recipient == user_id)
                    .map(|(_, frame)| (push.sequence, frame))
            })
            .collect();
        let mut bytes: usize = frames.iter().map(|(_, frame)| frame.data.get().len()).sum();
        if bytes > MAX_REPLAYED_BYTES {
            return Ok(Err(bytes));
        }
        // The sessions still to show are read a few at a time, in the order they are sent,
        // so that a replay that gives up for its size has read little more than it sent.
        for owed in owed.chunks(REPLAY_READ_BATCH) {
            let shown: Vec<&str> = owed
                .iter()
                .filter(|(_, owed)| !owed.deleted)
                .map(|(session_id, _)| session_id.as_str())
                .collect();
            let sessions: HashMap<SessionId, Session> = if shown.is_empty() {
                HashMap::new()
            } else {
                self.store
                    .sessions_by_ids(&shown)
                    .await?
                    .into_iter()
                    .map(|session| (session.id.clone(), session))
                    .collect()
            };
            for (session_id, owed) in owed {
                let rendered = if owed.deleted {
                    deletion_frame(session_id, owed.number)
                        .map(|frame| (owed.number, owed.user_id.to_owned(), frame))
                        .into_iter()
                        .collect()
                } else if let Some(session) = sessions.get(*session_id) {
                    self.render_updates(session, &[(owed.user_id.to_owned(), owed.number)])
                        .await?
                } else {
                    Vec::new()
                };
                for (number, _, frame) in rendered {
                    bytes += frame.data.get().len();
                    if bytes > MAX_REPLAYED_BYTES {
                        return Ok(Err(bytes));
                    }
                    frames.push((number, frame));
                }
            }
        }
        frames.sort_by_key(|(number, _)| *number);
        let frames = frames.into_iter().map(|(_, frame)| frame).collect();
        let through = missed.last().map_or(after, |push| push.sequence.max(after));
        Ok(Ok(Replay::Missed { frames, through }))
    }
}
