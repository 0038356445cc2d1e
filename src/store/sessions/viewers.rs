//! What a user may see and do with sessions (`domain::session::Viewer`): their events and
//! the user's memberships, loaded in as few queries as the caller's knowledge allows.

use std::collections::HashSet;

use crate::domain::session::Session;
use crate::domain::session::viewer::Viewer;
use crate::domain::source::Membership;
use crate::store::{Store, StoreResult};

impl Store {
    /// What `user_id` may see and do with `sessions`: loads their events and the user's
    /// memberships in those events' networks, in two queries.
    pub async fn viewer(&self, user_id: &str, sessions: &[Session]) -> StoreResult<Viewer> {
        let events = self.events_of(sessions).await?;
        let mut networks: Vec<&str> = events
            .iter()
            .map(|event| event.source.network_id())
            .collect();
        networks.sort_unstable();
        networks.dedup();
        let memberships = self.memberships_in_networks(user_id, &networks).await?;
        Ok(Viewer::new(user_id, events, memberships))
    }

    /// Those of `users` who hear of `session` only as someone waiting for a seat (see
    /// [`Session::is_only_waiting`]) and may not see it now (see [`Viewer::may_see`]):
    /// pushes of it are not for them. Everyone else among `users` is not looked at.
    pub async fn waiting_out_of_sight<'a>(
        &self,
        session: &Session,
        users: impl IntoIterator<Item = &'a str>,
    ) -> StoreResult<HashSet<&'a str>> {
        let waiting: Vec<&str> = users
            .into_iter()
            .filter(|user_id| session.is_only_waiting(user_id))
            .collect();
        if waiting.is_empty() {
            return Ok(HashSet::new());
        }
        let events = self.events_of(std::slice::from_ref(session)).await?;
        let mut memberships = self.memberships_of_users(&waiting).await?;
        Ok(waiting
            .into_iter()
            .filter(|user_id| {
                let memberships = memberships.remove(*user_id).unwrap_or_default();
                !Viewer::new(user_id, events.clone(), memberships).may_see(session)
            })
            .collect())
    }

    /// Like [`Store::viewer`], for a caller whose memberships are loaded already (all of
    /// them, as `memberships_of` answers): one query, for the events.
    pub async fn viewer_with<'a>(
        &self,
        user_id: &str,
        sessions: impl IntoIterator<Item = &'a Session>,
        memberships: &[Membership],
    ) -> StoreResult<Viewer> {
        let events = self.events_of(sessions).await?;
        Ok(Viewer::new(user_id, events, memberships.to_vec()))
    }

    /// The existing events of `sessions`.
    async fn events_of<'a>(
        &self,
        sessions: impl IntoIterator<Item = &'a Session>,
    ) -> StoreResult<Vec<crate::domain::event::Event>> {
        let mut event_ids: Vec<&str> = sessions
            .into_iter()
            .map(|session| session.event_id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        self.find_events(&event_ids).await
    }
}
