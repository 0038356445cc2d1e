//! Who may see, join and manage a session: a viewer with their events and memberships,
//! and what must still hold for a join.

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::LazyLock;

use crate::domain::event::Event;
use crate::domain::ids::EventId;
use crate::domain::kinds::SessionKind;
use crate::domain::source::{Access, Membership};
use crate::error::ApiError;

use super::Session;

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
    events: HashMap<EventId, Event>,
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
