//! Sessions: what a session is, who may see and manage it, the fields of `createSession`
//! and `updateSession` with their validation, when it takes place, and how it is rendered.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::domain::event::Event;
use crate::domain::kinds::{InvitationRole, InvitationStatus, SessionKind};
use crate::domain::people::{People, UserSimple};
use crate::domain::recurrence::{Rule, Schedule};
use crate::domain::source::{Access, Membership};
use crate::domain::text::{check_texts, set_if_present};
use crate::domain::time::Timestamp;
use crate::domain::zone::TimeZone;
use crate::error::{ApiError, FieldPath};

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
    pub r: f64,
    pub g: f64,
    pub b: f64,
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
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Empty for a standalone session.
    pub event_id: String,
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
    pub fn new(id: String, owner_id: &str, event: Option<&Event>, now: Timestamp) -> Session {
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
    /// repetitions through `active_until`.
    pub fn next_occurrence(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let schedule = self.schedule(None).ok()?;
        let start = schedule.current_or_next(now)?;
        Some((start, schedule.end_of(start)))
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

/// The `session` object of `createSession` and `updateSession`. Server-owned fields
/// (`created`, `updated`, `ownerId`, `isValid`) are not read; `id` only finds the session
/// to update. `null` counts as absent.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionFields {
    pub id: Option<String>,
    pub event_id: Option<String>,
    pub room_id: Option<String>,
    pub prop_id: Option<String>,
    pub session_type: Option<SessionKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    pub duration: Option<i64>,
    pub is_recurring: Option<bool>,
    /// An RRULE replacing the weekly repetition; an empty string clears it.
    pub recurrence: Option<String>,
    /// The IANA time zone whose wall-clock time repetitions keep (`UTC` by default).
    pub time_zone: Option<TimeZone>,
    pub color: Option<Color>,
}

/// The stored fields an `updateSession` changes, with their values after the change.
/// `None` leaves a field as it is; `recurrence: Some(None)` clears the rule.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SessionUpdate {
    pub room_id: Option<String>,
    pub prop_id: Option<String>,
    pub session_type: Option<SessionKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub start_date: Option<Timestamp>,
    pub duration: Option<i64>,
    pub end_date: Option<Timestamp>,
    pub is_recurring: Option<bool>,
    pub recurrence: Option<Option<String>>,
    pub time_zone: Option<TimeZone>,
    pub color: Option<Color>,
    pub active_until: Option<Option<Timestamp>>,
}

impl SessionUpdate {
    /// Whether the update changes when the session takes place.
    pub fn changes_schedule(&self) -> bool {
        self.start_date.is_some()
            || self.duration.is_some()
            || self.is_recurring.is_some()
            || self.recurrence.is_some()
            || self.time_zone.is_some()
            || self.active_until.is_some()
    }
}

impl SessionFields {
    /// The path of the `session` object in both requests.
    pub fn path() -> FieldPath {
        FieldPath::data().field("session")
    }

    /// Checks each field that is present on its own.
    pub fn validate(&self) -> Result<(), ApiError> {
        let path = Self::path();
        check_texts(
            &path,
            &self.title,
            &self.description,
            &[
                ("eventId", &self.event_id),
                ("roomId", &self.room_id),
                ("propId", &self.prop_id),
            ],
        )?;
        if self.start_date.is_some_and(|start| start.millis() < 0) {
            return Err(ApiError::invalid(
                path.field("startDate"),
                "must not be before 1970-01-01T00:00:00Z",
            ));
        }
        if let Some(duration) = self.duration
            && !(1..=MAX_DURATION_SECONDS).contains(&duration)
        {
            return Err(ApiError::invalid(
                path.field("duration"),
                format!("must be between 1 and {MAX_DURATION_SECONDS} seconds"),
            ));
        }
        if let Some(color) = &self.color {
            let components = [
                ("r", color.r),
                ("g", color.g),
                ("b", color.b),
                ("a", color.a),
            ];
            if let Some((name, _)) = components
                .iter()
                .find(|(_, value)| !(0.0..=1.0).contains(value))
            {
                return Err(ApiError::invalid(
                    path.field("color").field(name),
                    "must be between 0 and 1",
                ));
            }
        }
        if let Some(rule) = self.recurrence.as_deref().filter(|rule| !rule.is_empty()) {
            Rule::parse(rule)
                .map_err(|message| ApiError::invalid(path.field("recurrence"), message))?;
        }
        Ok(())
    }

    /// Copies the present fields (but `id` and `eventId`) onto `session` and checks the
    /// result against its event, naming the field that was sent.
    pub fn apply_to(&self, session: &mut Session, event: Option<&Event>) -> Result<(), ApiError> {
        let path = Self::path();
        set_if_present(&mut session.room_id, &self.room_id);
        set_if_present(&mut session.prop_id, &self.prop_id);
        set_if_present(&mut session.session_type, &self.session_type);
        set_if_present(&mut session.title, &self.title);
        set_if_present(&mut session.description, &self.description);
        set_if_present(&mut session.start_date, &self.start_date);
        set_if_present(&mut session.duration, &self.duration);
        set_if_present(&mut session.is_recurring, &self.is_recurring);
        if let Some(rule) = &self.recurrence {
            session.recurrence = Some(rule.clone()).filter(|rule| !rule.is_empty());
        }
        set_if_present(&mut session.time_zone, &self.time_zone);
        set_if_present(&mut session.color, &self.color);
        session.end_date = session.start_date.plus_seconds(session.duration);
        if session.room_id.is_empty() {
            return Err(ApiError::invalid(
                path.field("roomId"),
                "is required (for a session in an event, it defaults to the event's roomId)",
            ));
        }
        if session.is_recurring
            && session
                .time_zone
                .is_second_of_repeated_time(session.start_date.to_chrono())
        {
            return Err(ApiError::invalid(
                path.field("startDate"),
                format!(
                    "is the second of two instants with the same wall-clock time in {} (the \
                     clocks go back then): a recurring session there starts at the first",
                    session.time_zone
                ),
            ));
        }
        if session.recurrence.is_some() && !session.is_recurring {
            let field = if self.recurrence.is_some() {
                "recurrence"
            } else {
                "isRecurring"
            };
            return Err(ApiError::invalid(
                path.field(field),
                "a recurrence applies to recurring sessions only: set isRecurring to true",
            ));
        }
        let schedule = session
            .fresh_schedule(event)
            .and_then(|schedule| schedule.check_bounds().map(|()| schedule))
            .map_err(|message| ApiError::invalid(path.field("recurrence"), message))?;
        session.active_until = schedule
            .last_end()
            .map(|end| Timestamp::saturating_from_millis(end.timestamp_millis()));
        Ok(())
    }

    /// The fields this request changes, with their values in `merged` (the session after
    /// [`SessionFields::apply_to`]); `endDate` changes with the start or the duration.
    pub fn update_of(&self, merged: &Session) -> SessionUpdate {
        fn when<T: Clone>(sent: bool, value: &T) -> Option<T> {
            sent.then(|| value.clone())
        }
        SessionUpdate {
            room_id: when(self.room_id.is_some(), &merged.room_id),
            prop_id: when(self.prop_id.is_some(), &merged.prop_id),
            session_type: when(self.session_type.is_some(), &merged.session_type),
            title: when(self.title.is_some(), &merged.title),
            description: when(self.description.is_some(), &merged.description),
            start_date: when(self.start_date.is_some(), &merged.start_date),
            duration: when(self.duration.is_some(), &merged.duration),
            end_date: when(
                self.start_date.is_some() || self.duration.is_some(),
                &merged.end_date,
            ),
            is_recurring: when(self.is_recurring.is_some(), &merged.is_recurring),
            recurrence: when(self.recurrence.is_some(), &merged.recurrence),
            time_zone: when(self.time_zone.is_some(), &merged.time_zone),
            color: when(self.color.is_some(), &merged.color),
            active_until: when(
                self.start_date.is_some()
                    || self.duration.is_some()
                    || self.is_recurring.is_some()
                    || self.recurrence.is_some()
                    || self.time_zone.is_some(),
                &merged.active_until,
            ),
        }
    }
}

/// What must still hold, at the moment of the update, for a user to join a session.
#[derive(Debug, Clone, Copy)]
pub struct JoinCondition {
    /// Most participants besides the owner.
    pub capacity: Option<NonZeroU64>,
    /// The session type the decision was made for.
    pub session_type: SessionKind,
    /// Only an invitee may join (Private sessions).
    pub invitation_required: bool,
}

/// What one user may see and do with a set of sessions: their events and the user's
/// memberships in those events' networks.
pub struct Viewer {
    pub user_id: String,
    events: HashMap<String, Event>,
    access: HashMap<String, Access>,
}

impl Viewer {
    /// A viewer for `user_id` of sessions whose existing events are `events`, with the
    /// user's `memberships` in those events' networks.
    pub fn new(user_id: &str, events: Vec<Event>, memberships: Vec<Membership>) -> Viewer {
        let mut by_network: HashMap<String, Vec<Membership>> = HashMap::new();
        for membership in memberships {
            by_network
                .entry(membership.network_id.clone())
                .or_default()
                .push(membership);
        }
        Viewer {
            user_id: user_id.to_owned(),
            events: events
                .into_iter()
                .map(|event| (event.id.clone(), event))
                .collect(),
            access: by_network
                .into_iter()
                .map(|(network, memberships)| (network, Access::from_memberships(memberships)))
                .collect(),
        }
    }

    /// The session's event, when it has one that still exists.
    pub fn event_of(&self, session: &Session) -> Option<&Event> {
        self.event(&session.event_id)
    }

    /// Event `event_id`, when it is one of the events this viewer was loaded with.
    pub fn event(&self, event_id: &str) -> Option<&Event> {
        self.events.get(event_id)
    }

    fn access_to(&self, event: &Event) -> &Access {
        static NO_ACCESS: LazyLock<Access> = LazyLock::new(Access::default);
        self.access
            .get(event.source.network_id())
            .unwrap_or(&NO_ACCESS)
    }

    fn is_admin_of_event_source(&self, event: &Event) -> bool {
        self.access_to(event).is_admin_of(&event.source)
    }

    /// Whether the session's event is a draft the user does not manage.
    pub fn event_is_unpublished_for_user(&self, session: &Session) -> bool {
        self.event_of(session).is_some_and(|event| {
            !event.is_published() && !event.may_manage(&self.user_id, self.access_to(event))
        })
    }

    /// Who sees a session: its owner, invitees (declined ones too) and participants always;
    /// for a Private session also the admins of its event's source; for a Public or
    /// OpenSlot one whoever sees its event (every signed-in user for a standalone session).
    /// A session whose event is gone is seen by nobody.
    pub fn may_see(&self, session: &Session) -> bool {
        let event = self.event_of(session);
        if !session.event_id.is_empty() && event.is_none() {
            return false;
        }
        let me = self.user_id.as_str();
        if session.owner_id == me || session.is_invited(me) || session.has_joined(me) {
            return true;
        }
        let Some(event) = event else {
            return session.session_type != SessionKind::Private;
        };
        if session.session_type == SessionKind::Private {
            self.is_admin_of_event_source(event)
        } else {
            event.may_see(me, self.access_to(event))
        }
    }

    /// The owner and the admins of the event's source manage a session.
    pub fn may_manage(&self, session: &Session) -> bool {
        session.owner_id == self.user_id
            || self
                .event_of(session)
                .is_some_and(|event| self.is_admin_of_event_source(event))
    }

    /// 403 unless the user may manage the session.
    pub fn ensure_may_manage(&self, session: &Session) -> Result<(), ApiError> {
        if self.may_manage(session) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only the session's owner or an admin of its event's source may do this".to_owned(),
            ))
        }
    }
}

/// An invited user as the reference renders it, with the extension field `status`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvitedUser {
    pub user: UserSimple,
    pub role: InvitationRole,
    pub status: InvitationStatus,
}

/// A session as the reference renders it. `recurrence` is an extension, present when set.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub event_id: String,
    pub owner_id: String,
    pub room_id: String,
    pub prop_id: String,
    pub session_type: SessionKind,
    pub title: String,
    pub description: String,
    pub start_date: Timestamp,
    pub duration: i64,
    pub is_recurring: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Extension: the session's time zone, `UTC` unless it names one.
    pub time_zone: TimeZone,
    pub color: Color,
    pub is_valid: bool,
    pub owner: UserSimple,
    pub invited_users: Vec<InvitedUser>,
    pub joined_users: Vec<UserSimple>,
    /// Extension: grows with every change to the session (a join, an invitation, an
    /// update): of two views of one session — an answer and a push that crossed it — the
    /// one with the larger `version` is the newer.
    pub version: i64,
    /// Extension: the viewer's rank among those waiting for a seat, when waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<u64>,
}

impl SessionView {
    /// `session` as `viewer_id` sees it, with its people from `people`.
    pub fn render(session: &Session, people: &People, viewer_id: &str) -> SessionView {
        SessionView {
            id: session.id.clone(),
            created: session.created,
            updated: session.updated,
            event_id: session.event_id.clone(),
            owner_id: session.owner_id.clone(),
            room_id: session.room_id.clone(),
            prop_id: session.prop_id.clone(),
            session_type: session.session_type,
            title: session.title.clone(),
            description: session.description.clone(),
            start_date: session.start_date,
            duration: session.duration,
            is_recurring: session.is_recurring,
            recurrence: session.recurrence.clone(),
            time_zone: session.time_zone,
            color: session.color,
            is_valid: session.is_valid,
            owner: people.render(&session.owner_id, viewer_id),
            invited_users: session
                .invited
                .iter()
                .map(|invitation| InvitedUser {
                    user: people.render(&invitation.user_id, viewer_id),
                    role: invitation.role,
                    status: session.invitation_status_of(&invitation.user_id),
                })
                .collect(),
            joined_users: session
                .joined
                .iter()
                .map(|user_id| people.render(user_id, viewer_id))
                .collect(),
            version: session.version,
            waitlist_position: session.waitlist_position(viewer_id),
        }
    }
}

/// `{"session": {...}}`, the answer of the endpoints that return one session.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SessionEnvelope {
    pub session: SessionView,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::{EventStatus, MembershipRole};
    use crate::domain::source::Source;

    const OWNER: &str = "owner";
    const ME: &str = "me";

    /// How the viewer `ME` relates to the event's source.
    #[derive(Debug, Clone, Copy)]
    enum Standing {
        Stranger,
        Member,
        Admin,
    }

    /// How `ME` relates to the session itself.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Part {
        None,
        Invited,
        Declined,
        Joined,
    }

    fn event(published: bool) -> Event {
        let mut event = Event::draft(
            "e".into(),
            "creator",
            Source::parse("network:n").unwrap(),
            Timestamp::now(),
        );
        if published {
            event.status = EventStatus::Published;
        }
        event
    }

    fn session(kind: SessionKind, in_event: bool, part: Part) -> Session {
        let mut session = Session::new("s".into(), OWNER, None, Timestamp::now());
        if in_event {
            session.event_id = "e".into();
        }
        session.session_type = kind;
        if matches!(part, Part::Invited | Part::Declined) {
            session.invited.push(Invitation {
                user_id: ME.into(),
                role: InvitationRole::Attendee,
            });
        }
        if part == Part::Declined {
            session.declined.push(ME.into());
        }
        if part == Part::Joined {
            session.joined.push(ME.into());
        }
        session
    }

    fn viewer(standing: Standing, events: Vec<Event>) -> Viewer {
        let role = match standing {
            Standing::Stranger => None,
            Standing::Member => Some(MembershipRole::Member),
            Standing::Admin => Some(MembershipRole::Admin),
        };
        let memberships = role
            .into_iter()
            .map(|role| Membership {
                user_id: ME.into(),
                network_id: "n".into(),
                community_id: None,
                role,
            })
            .collect();
        Viewer::new(ME, events, memberships)
    }

    #[test]
    fn owners_invitees_and_participants_always_see_a_session() {
        for kind in [
            SessionKind::Public,
            SessionKind::Private,
            SessionKind::OpenSlot,
        ] {
            for part in [Part::Invited, Part::Declined, Part::Joined] {
                for published in [true, false] {
                    let viewer = viewer(Standing::Stranger, vec![event(published)]);
                    assert!(
                        viewer.may_see(&session(kind, true, part)),
                        "{kind:?} {part:?} published={published}"
                    );
                    assert!(!viewer.may_manage(&session(kind, true, part)));
                }
            }
        }
        let mine = Viewer::new(OWNER, vec![event(false)], Vec::new());
        let owned = session(SessionKind::Private, true, Part::None);
        assert!(mine.may_see(&owned) && mine.may_manage(&owned));
    }

    #[test]
    fn public_and_open_slot_sessions_follow_their_event() {
        let cases = [
            (Standing::Stranger, true, false),
            (Standing::Member, true, true),
            (Standing::Admin, true, true),
            (Standing::Stranger, false, false),
            (Standing::Member, false, false),
            (Standing::Admin, false, true),
        ];
        for kind in [SessionKind::Public, SessionKind::OpenSlot] {
            for (standing, published, sees) in cases {
                let viewer = viewer(standing, vec![event(published)]);
                assert_eq!(
                    viewer.may_see(&session(kind, true, Part::None)),
                    sees,
                    "{kind:?} {standing:?} published={published}"
                );
            }
        }
    }

    #[test]
    fn private_sessions_are_seen_by_the_sources_admins_only() {
        for (standing, sees) in [
            (Standing::Stranger, false),
            (Standing::Member, false),
            (Standing::Admin, true),
        ] {
            let viewer = viewer(standing, vec![event(true)]);
            let private = session(SessionKind::Private, true, Part::None);
            assert_eq!(viewer.may_see(&private), sees, "{standing:?}");
            assert_eq!(viewer.may_manage(&private), sees, "{standing:?}");
        }
    }

    #[test]
    fn standalone_sessions_are_public_to_everyone_but_private_to_their_people() {
        let viewer = viewer(Standing::Stranger, Vec::new());
        assert!(viewer.may_see(&session(SessionKind::Public, false, Part::None)));
        assert!(viewer.may_see(&session(SessionKind::OpenSlot, false, Part::None)));
        assert!(!viewer.may_see(&session(SessionKind::Private, false, Part::None)));
        assert!(viewer.may_see(&session(SessionKind::Private, false, Part::Invited)));
        assert!(!viewer.may_manage(&session(SessionKind::Public, false, Part::None)));
    }

    #[test]
    fn a_session_whose_event_is_gone_is_seen_by_nobody() {
        let viewer = viewer(Standing::Admin, Vec::new());
        assert!(!viewer.may_see(&session(SessionKind::Public, true, Part::Joined)));
    }

    #[test]
    fn managing_needs_ownership_or_admin_rights_and_refusal_is_403() {
        let member = viewer(Standing::Member, vec![event(true)]);
        let public = session(SessionKind::Public, true, Part::Joined);
        assert_eq!(member.ensure_may_manage(&public).unwrap_err().code(), 403);
        let admin = viewer(Standing::Admin, vec![event(true)]);
        assert!(admin.ensure_may_manage(&public).is_ok());
    }

    #[test]
    fn a_draft_event_blocks_joining_for_those_who_do_not_manage_it() {
        let public = session(SessionKind::Public, true, Part::Invited);
        assert!(
            viewer(Standing::Member, vec![event(false)]).event_is_unpublished_for_user(&public)
        );
        assert!(
            !viewer(Standing::Admin, vec![event(false)]).event_is_unpublished_for_user(&public)
        );
        assert!(
            !viewer(Standing::Member, vec![event(true)]).event_is_unpublished_for_user(&public)
        );
    }

    #[test]
    fn an_audience_gathers_where_each_membership_reaches() {
        let membership = |network: &str, community: Option<&str>, role| Membership {
            user_id: ME.into(),
            network_id: network.into(),
            community_id: community.map(str::to_owned),
            role,
        };
        let audience = Audience::of(
            ME,
            &[
                membership("n1", None, MembershipRole::Admin),
                membership("n2", None, MembershipRole::Member),
                membership("n2", Some("c1"), MembershipRole::Admin),
                membership("n3", Some("c2"), MembershipRole::Member),
            ],
        );
        assert_eq!(audience.admin_networks, ["n1"]);
        assert_eq!(audience.member_networks, ["n1", "n2"]);
        assert_eq!(
            audience.admin_communities,
            [("n2".to_owned(), "c1".to_owned())]
        );
        assert_eq!(
            audience.member_communities,
            [
                ("n2".to_owned(), "c1".to_owned()),
                ("n3".to_owned(), "c2".to_owned())
            ]
        );
    }

    #[test]
    fn invitation_status_derives_from_joining_and_declining() {
        assert_eq!(
            session(SessionKind::Public, false, Part::Invited).invitation_status_of(ME),
            InvitationStatus::Pending
        );
        assert_eq!(
            session(SessionKind::Public, false, Part::Declined).invitation_status_of(ME),
            InvitationStatus::Declined
        );
        assert_eq!(
            session(SessionKind::Public, false, Part::Joined).invitation_status_of(ME),
            InvitationStatus::Accepted
        );
    }

    #[test]
    fn an_update_carries_only_the_fields_sent_and_the_derived_end() {
        let fields: SessionFields =
            serde_json::from_value(serde_json::json!({"title": "T", "duration": 60})).unwrap();
        let mut merged = session(SessionKind::Public, false, Part::None);
        merged.room_id = "r".into();
        fields.apply_to(&mut merged, None).unwrap();
        let update = fields.update_of(&merged);
        assert_eq!(update.title.as_deref(), Some("T"));
        assert_eq!(update.end_date, Some(merged.start_date.plus_seconds(60)));
        assert_eq!((update.room_id, update.recurrence), (None, None));
    }
}
