//! Sessions: what a session is and when it takes place (here), who may see and manage it
//! (`viewer`), the fields of `createSession` and `updateSession` with their validation
//! (`fields`), and how it is rendered (`view`).

pub mod fields;
#[cfg(test)]
mod tests;
pub mod view;
pub mod viewer;

use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::domain::event::Event;
use crate::domain::ids::{EventId, SessionId};
use crate::domain::kinds::{InvitationRole, InvitationStatus, SessionKind};
use crate::domain::occurrences::{Exceptions, ExceptionsOf};
use crate::domain::recurrence::{Rule, Schedule};
use crate::domain::source::Membership;
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;

/// Most sessions one owner may have that have not ended (recurring ones count until their
/// last occurrence ends).
pub const MAX_ACTIVE_SESSIONS_PER_OWNER: u64 = 1000;
/// Longest session, in seconds: 7 days.
pub const MAX_DURATION_SECONDS: i64 = 7 * 24 * 3600;
/// The colour of a session created without one: opaque white.
pub const DEFAULT_COLOR: Color = Color {
    r: 1.0,
    g: 1.0,
    b: 1.0,
    a: 1.0,
};

/// A room prop, where sessions take place: the place `getPropSessions` and the live prop
/// board (`watchProp`) look at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prop {
    pub room_id: String,
    pub prop_id: String,
}

/// A colour with components in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Color {
    #[schemars(range(min = 0.0, max = 1.0))]
    pub r: f64,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub g: f64,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub b: f64,
    #[schemars(range(min = 0.0, max = 1.0))]
    pub a: f64,
}

/// One invited user and their role. Whether they accepted or declined is derived from
/// the session's participants and declines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    pub user_id: String,
    pub role: InvitationRole,
}

/// An invitation to contacts that matched no user yet. `keys` are contact keys
/// (`domain::people::email_key` and its siblings); the first user who appears with any of
/// them is invited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingContact {
    pub keys: Vec<String>,
    pub role: InvitationRole,
}

/// A session at a room prop, standalone or within an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Empty for a standalone session.
    pub event_id: EventId,
    pub owner_id: String,
    pub room_id: String,
    pub prop_id: String,
    pub session_type: SessionKind,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    /// Seconds.
    pub duration: i64,
    /// End of the first occurrence (`startDate` + `duration`).
    pub end_date: Timestamp,
    pub is_recurring: bool,
    /// An RRULE replacing the weekly repetition.
    pub recurrence: Option<String>,
    /// Repetitions keep the wall-clock time of the start in this zone.
    pub time_zone: TimeZone,
    pub color: Color,
    /// False once the platform reported the room or prop deleted.
    pub is_valid: bool,
    pub invited: Vec<Invitation>,
    /// Invited users who declined (they stay invited).
    pub declined: Vec<String>,
    /// Participants besides the owner.
    pub joined: Vec<String>,
    /// Who waits for a seat of this full session, first come first: the first who may
    /// still join takes the next seat that frees.
    pub waitlist: Vec<String>,
    pub pending_contacts: Vec<PendingContact>,
    /// Grows with every `updateSession`: the calendar SEQUENCE.
    pub sequence: i64,
    /// The stored version of the invitation list this value was read at.
    pub revision: i64,
    /// How many writes the stored session had when this value was read: of two values of
    /// one session, the one with the larger version is the newer.
    pub version: i64,
    /// When the last occurrence ends (`None`: it repeats without end); counts the session
    /// against its owner's quota until then.
    pub active_until: Option<Timestamp>,
    /// What the session keeps of its event, so that the database can apply visibility
    /// (see [`Audience`]); `None` for a standalone session.
    pub event_scope: Option<EventScope>,
    /// Extension: occurrences of a recurring session cancelled or changed, one by one.
    pub exceptions: Exceptions,
}

/// What a session keeps of its event: where it lives, who made it and whether it is
/// published. The event decides; this copy lets a query leave out sessions a user cannot
/// see, and errs on the side of listing (a listed session is checked against its event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventScope {
    pub network_id: String,
    /// `None` for a network event.
    pub community_id: Option<String>,
    pub owner_id: String,
    pub published: bool,
}

impl EventScope {
    pub fn of(event: &Event) -> EventScope {
        let community_id = match &event.source {
            crate::domain::source::Source::Network { .. } => None,
            crate::domain::source::Source::Community { community_id, .. } => {
                Some(community_id.clone())
            }
        };
        EventScope {
            network_id: event.source.network_id().to_owned(),
            community_id,
            owner_id: event.owner_id.clone(),
            published: event.is_published(),
        }
    }
}

/// Where a user's sight reaches, from all of their memberships: the networks and
/// communities whose events (drafts and Private sessions included, as an admin) or
/// published events (as a member) they see. The store turns it into a query filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Audience {
    pub user_id: String,
    /// Networks the user administers (and so every community in them).
    pub admin_networks: Vec<String>,
    /// Networks the user belongs to at network level (admins included).
    pub member_networks: Vec<String>,
    /// `(networkId, communityId)` the user administers.
    pub admin_communities: Vec<(String, String)>,
    /// `(networkId, communityId)` the user belongs to.
    pub member_communities: Vec<(String, String)>,
}

impl Audience {
    pub fn of(user_id: &str, memberships: &[Membership]) -> Audience {
        use crate::domain::kinds::MembershipRole;
        let mut audience = Audience {
            user_id: user_id.to_owned(),
            ..Audience::default()
        };
        for membership in memberships {
            let admin = membership.role == MembershipRole::Admin;
            match &membership.community_id {
                None => {
                    audience.member_networks.push(membership.network_id.clone());
                    if admin {
                        audience.admin_networks.push(membership.network_id.clone());
                    }
                }
                Some(community_id) => {
                    let community = (membership.network_id.clone(), community_id.clone());
                    if admin {
                        audience.admin_communities.push(community.clone());
                    }
                    audience.member_communities.push(community);
                }
            }
        }
        audience
    }
}

impl Session {
    /// A new session of `owner_id`, in `event` when given (its room by default), with
    /// every field still to be filled in.
    pub fn new(id: SessionId, owner_id: &str, event: Option<&Event>, now: Timestamp) -> Session {
        Session {
            id,
            created: now,
            updated: now,
            event_id: event.map(|event| event.id.clone()).unwrap_or_default(),
            owner_id: owner_id.to_owned(),
            room_id: event.map(|event| event.room_id.clone()).unwrap_or_default(),
            prop_id: String::new(),
            session_type: SessionKind::Public,
            title: String::new(),
            description: String::new(),
            start_date: now,
            duration: 0,
            end_date: now,
            is_recurring: false,
            recurrence: None,
            time_zone: TimeZone::UTC,
            color: DEFAULT_COLOR,
            is_valid: true,
            invited: Vec::new(),
            declined: Vec::new(),
            joined: Vec::new(),
            waitlist: Vec::new(),
            pending_contacts: Vec::new(),
            sequence: 0,
            revision: 0,
            version: 0,
            active_until: Some(now),
            event_scope: event.map(EventScope::of),
            exceptions: Exceptions::default(),
        }
    }

    pub fn is_invited(&self, user_id: &str) -> bool {
        self.invited
            .iter()
            .any(|invitation| invitation.user_id == user_id)
    }

    /// Whether `user_id` hears of the session only as someone waiting for a seat (not its
    /// owner, an invitee or a participant). A place on a waitlist gives no sight of a
    /// session: such a user hears of it only while they may see it.
    pub fn is_only_waiting(&self, user_id: &str) -> bool {
        self.owner_id != user_id
            && !self.is_invited(user_id)
            && !self.has_joined(user_id)
            && self.waitlist_position(user_id).is_some()
    }

    /// `user_id`'s 1-based rank among those waiting for a seat.
    pub fn waitlist_position(&self, user_id: &str) -> Option<u64> {
        self.waitlist
            .iter()
            .position(|waiting| waiting == user_id)
            .map(|index| index as u64 + 1)
    }

    /// Most participants besides the owner: one for an OpenSlot, else the event's
    /// `participantLimit` (0 = no limit).
    pub fn capacity(&self, participant_limit: Option<i64>) -> Option<NonZeroU64> {
        if self.session_type == SessionKind::OpenSlot {
            return Some(NonZeroU64::MIN);
        }
        participant_limit
            .and_then(|limit| u64::try_from(limit).ok())
            .and_then(NonZeroU64::new)
    }

    /// Whether every seat is taken, for a session of this capacity.
    pub fn is_full(&self, capacity: Option<NonZeroU64>) -> bool {
        capacity.is_some_and(|capacity| self.joined.len() as u64 >= capacity.get())
    }

    pub fn has_joined(&self, user_id: &str) -> bool {
        self.joined.iter().any(|joined| joined == user_id)
    }

    pub fn has_declined(&self, user_id: &str) -> bool {
        self.declined.iter().any(|declined| declined == user_id)
    }

    /// The invitation status of `user_id`: accepted once joined, declined once declined.
    pub fn invitation_status_of(&self, user_id: &str) -> InvitationStatus {
        if self.has_joined(user_id) {
            InvitationStatus::Accepted
        } else if self.has_declined(user_id) {
            InvitationStatus::Declined
        } else {
            InvitationStatus::Pending
        }
    }

    /// The invitees' user ids.
    pub fn invitees(&self) -> Vec<String> {
        self.invited
            .iter()
            .map(|invitation| invitation.user_id.clone())
            .collect()
    }

    /// When the session takes place; recurring sessions repeat until their event's end.
    /// Uses the stored end of the last occurrence to keep counted rules cheap to walk.
    pub fn schedule(&self, event: Option<&Event>) -> Result<Schedule, String> {
        let last_end = self.active_until.map(Timestamp::to_chrono);
        Ok(self.fresh_schedule(event)?.knowing_last_end(last_end))
    }

    /// When the session takes place, worked out from its fields alone (when they change).
    pub fn fresh_schedule(&self, event: Option<&Event>) -> Result<Schedule, String> {
        let rule = match self.recurrence.as_deref() {
            Some(text) => Some(Rule::parse(text)?),
            None => None,
        };
        let repeats = self.is_recurring.then_some(rule.as_ref());
        Schedule::new(
            self.start_date.to_chrono(),
            self.duration,
            repeats,
            event.map(|event| event.end_date.to_chrono()),
            self.time_zone,
        )
    }

    /// The start and end of the occurrence under way at `now`, or of the next one; `None`
    /// when none is left (or the stored schedule is invalid). The event's end bounds the
    /// repetitions through `active_until`; cancelled occurrences are skipped, changed ones
    /// taken at their new times.
    pub fn next_occurrence(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        self.schedule(None)
            .ok()?
            .current_or_next_with(&self.exceptions, now)
    }

    /// Whether the session counts against its owner's quota at `now`: it has not ended.
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.active_until.is_none_or(|until| until > now)
    }

    /// The prop the session takes place at.
    pub fn prop(&self) -> Prop {
        Prop {
            room_id: self.room_id.clone(),
            prop_id: self.prop_id.clone(),
        }
    }

    /// Every person the session mentions: owner, invitees and participants.
    pub fn people(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.owner_id.as_str())
            .chain(
                self.invited
                    .iter()
                    .map(|invitation| invitation.user_id.as_str()),
            )
            .chain(self.joined.iter().map(String::as_str))
    }
}
