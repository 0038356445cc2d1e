//! Who hears of a change to a session: its audience as it is when the change is delivered
//! (named by no one: a push stays small whatever the audience), or, for a deletion, the
//! audience as it was, and those who lost sight of it (named); and the props whose boards
//! (`social:watchProp`) may show the change.

use std::sync::Arc;

use crate::domain::ids::SessionId;
use crate::domain::session::{Prop, Session};

/// Who hears of a change to one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionChange {
    pub session_id: SessionId,
    /// Whether the session's audience, as it is when the change is delivered, receives
    /// `social:sessionUpdated`.
    pub to_audience: bool,
    /// A user of the audience who does not hear of it (the owner of a session just
    /// created, who has the session in the answer).
    pub except: Option<String>,
    /// Receive `social:sessionDeleted`: the session is gone, or out of their sight.
    pub deleted_for: Vec<String>,
    /// The session as the change left it (as its write answered); `None` when deleted.
    pub written: Option<Arc<Session>>,
    /// The props the session is at and was at before the change: their watchers look again.
    pub props: Vec<Prop>,
}

impl SessionChange {
    /// The session changed (`session` as its write answered): its audience hears of it.
    pub fn updated(session: &Session) -> SessionChange {
        SessionChange {
            session_id: session.id.clone(),
            to_audience: true,
            except: None,
            deleted_for: Vec::new(),
            written: Some(Arc::new(session.clone())),
            props: vec![session.prop()],
        }
    }

    /// The session is gone: its audience as it was hears of it.
    pub fn deleted(session: &Session) -> SessionChange {
        SessionChange {
            session_id: session.id.clone(),
            to_audience: false,
            except: None,
            deleted_for: audience(session),
            written: None,
            props: vec![session.prop()],
        }
    }

    /// The session was just created: its audience but its owner hears of it.
    pub fn created(session: &Session) -> SessionChange {
        SessionChange {
            except: Some(session.owner_id.clone()),
            ..SessionChange::updated(session)
        }
    }

    /// The session was at `prop` before the change: that prop's watchers look again too.
    pub fn and_moved_from(mut self, prop: Prop) -> SessionChange {
        if !self.props.contains(&prop) {
            self.props.push(prop);
        }
        self
    }

    /// `users` also hear that the session is gone for them.
    pub fn and_deleted_for(mut self, users: Vec<String>) -> SessionChange {
        self.deleted_for.extend(users);
        self
    }

    /// Whether nobody hears of it and no prop shows it.
    pub fn is_empty(&self) -> bool {
        !self.to_audience && self.deleted_for.is_empty() && self.props.is_empty()
    }
}

/// The audience of a session: its owner, its invitees who have not declined, its
/// participants and those on its waitlist, each once.
pub fn audience(session: &Session) -> Vec<String> {
    let mut users = vec![session.owner_id.clone()];
    users.extend(
        session
            .invited
            .iter()
            .map(|invitation| &invitation.user_id)
            .filter(|user_id| !session.has_declined(user_id))
            .cloned(),
    );
    users.extend(session.joined.iter().cloned());
    // Those waiting for a seat hear of the session too (and of its deletion).
    users.extend(session.waitlist.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    users.retain(|user_id| seen.insert(user_id.clone()));
    users
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::kinds::InvitationRole;
    use crate::domain::session::Invitation;
    use crate::domain::time::Timestamp;

    #[test]
    fn the_audience_is_owner_invitees_who_did_not_decline_and_participants_once() {
        let mut session = Session::new("s".into(), "owner", None, Timestamp::now());
        session.invited = ["a", "b", "owner"]
            .map(|user_id| Invitation {
                user_id: user_id.into(),
                role: InvitationRole::Attendee,
            })
            .to_vec();
        session.declined = vec!["b".into()];
        session.joined = vec!["a".into(), "c".into()];
        assert_eq!(audience(&session), ["owner", "a", "c"]);
    }
}
