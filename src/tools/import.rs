//! `social-events import FILE`: loads users and memberships for development and QA.
//!
//! The file is `{"users": [...], "memberships": [...]}`. Users carry `id` and the fields
//! of the `users` collection; an imported user replaces the stored one whole. Memberships
//! are `{"userId", "networkId", "communityId"?, "role": "member"|"admin"}`; importing one
//! again changes its role. Contact invitations waiting for an imported user's e-mail,
//! phone or Facebook identity are attached to that user (without pushes: import is a
//! development and QA tool; connected clients see the invitation at their next fetch).

use anyhow::Context;
use serde::Deserialize;

use crate::domain::people::{User, normalize_email};
use crate::domain::source::Membership;
use crate::store::Store;

/// The contents of an import file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub memberships: Vec<Membership>,
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub users: usize,
    pub memberships: usize,
}

/// Parses an import file.
pub fn parse(text: &str) -> anyhow::Result<ImportFile> {
    let file: ImportFile = serde_json::from_str(text).context("not a valid import file")?;
    for user in &file.users {
        anyhow::ensure!(!user.id.is_empty(), "every user needs an id");
    }
    Ok(file)
}

/// Writes the users and memberships of `file`.
pub async fn import(store: &Store, file: &ImportFile) -> anyhow::Result<Imported> {
    for user in &file.users {
        let mut user = user.clone();
        for email in &mut user.emails {
            *email = normalize_email(email);
        }
        store
            .replace_user(&user)
            .await
            .with_context(|| format!("cannot write user {}", user.id))?;
    }
    for user in &file.users {
        store
            .attach_pending_invitations(&user.id)
            .await
            .with_context(|| format!("cannot attach the invitations of {}", user.id))?;
    }
    for membership in &file.memberships {
        store.upsert_membership(membership).await.with_context(|| {
            format!(
                "cannot write the membership of {} in {}",
                membership.user_id, membership.network_id
            )
        })?;
    }
    Ok(Imported {
        users: file.users.len(),
        memberships: file.memberships.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_take_id_and_memberships_take_roles() {
        let file = parse(
            r#"{"users": [{"id": "u1", "firstName": "Ada", "emails": ["Ada@Example.com"]}],
                "memberships": [{"userId": "u1", "networkId": "n1", "role": "admin"},
                                {"userId": "u1", "networkId": "n1", "communityId": "c1", "role": "member"}]}"#,
        )
        .unwrap();
        assert_eq!(file.users[0].id, "u1");
        assert_eq!(file.users[0].first_name, "Ada");
        assert_eq!(file.memberships.len(), 2);
        assert_eq!(file.memberships[1].community_id.as_deref(), Some("c1"));
    }

    #[test]
    fn unknown_roles_and_users_without_id_are_refused() {
        assert!(
            parse(r#"{"memberships": [{"userId": "u", "networkId": "n", "role": "owner"}]}"#)
                .is_err()
        );
        assert!(parse(r#"{"users": [{"firstName": "Ada"}]}"#).is_err());
        assert!(parse(r#"{"user": []}"#).is_err());
    }
}
