//! The `users` collection: profiles shown as the "user simple structure", and the contact
//! fields used to resolve invitations (never shown to other users). Documents may come
//! from the wider platform, so they are read leniently.

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::{Collation, CollationStrength, IndexOptions};

use super::{Store, StoreError, StoreResult};
use crate::domain::invitation::{InviteEntry, Resolution, resolve};
use crate::domain::people::{People, User};

pub const COLLECTION: &str = "users";

/// How contacts compare: without letter case, since the platform stores e-mail addresses
/// as people typed them (`Mixed.Case@Example.COM` matches `mixed.case@example.com`).
fn contact_collation() -> Collation {
    Collation::builder()
        .locale("en")
        .strength(CollationStrength::Secondary)
        .build()
}

pub(super) fn indexes() -> Vec<IndexModel> {
    ["emails", "phones", "facebook"]
        .into_iter()
        .map(|field| {
            // Named apart from the plain indexes of earlier versions, which may still exist.
            let options = IndexOptions::builder()
                .name(format!("{field}_caseless"))
                .collation(contact_collation())
                .build();
            IndexModel::builder()
                .keys(doc! { field: 1 })
                .options(options)
                .build()
        })
        .collect()
}

impl Store {
    fn users(&self) -> mongodb::Collection<User> {
        self.database().collection(COLLECTION)
    }

    /// Read untyped: documents may come from the wider platform (see [`Store::read_lenient`]).
    fn raw_users(&self) -> mongodb::Collection<bson::Document> {
        self.database().collection(COLLECTION)
    }

    /// Creates the user's document unless it already exists; an existing one is kept as
    /// it is.
    pub async fn ensure_user(&self, fresh: &User) -> StoreResult<()> {
        let mut insert = bson::to_document(fresh).map_err(StoreError::unwritable)?;
        insert.remove("_id");
        let written = self
            .write(
                self.users()
                    .update_one(doc! { "_id": &fresh.id }, doc! { "$setOnInsert": insert })
                    .upsert(true),
            )
            .await;
        self.profiles.forget(&fresh.id);
        written?;
        Ok(())
    }

    /// Writes a whole user document (import).
    pub async fn replace_user(&self, user: &User) -> StoreResult<()> {
        let written = self
            .write(
                self.users()
                    .replace_one(doc! { "_id": &user.id }, user)
                    .upsert(true),
            )
            .await;
        self.profiles.forget(&user.id);
        written?;
        Ok(())
    }

    /// The users with these ids (missing ones are left out); from the profile cache where
    /// it holds them (see `cache`).
    pub async fn find_users(&self, ids: &[&str]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let lookup = self.profiles.lookup(ids);
        if lookup.missing.is_empty() {
            return Ok(lookup.found);
        }
        let collection = self
            .database()
            .collection_with_options::<bson::Document>(COLLECTION, super::cached_read_options());
        let query = collection.find(doc! { "_id": { "$in": &lookup.missing } });
        let read: Vec<User> = self.read_lenient(COLLECTION, query).await?;
        self.profiles.keep(&lookup, &read, |user| &user.id);
        let mut users = lookup.found;
        users.extend(read);
        Ok(users)
    }

    /// The profiles of everyone in `wanted`, loaded in one query, for rendering.
    pub async fn people<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a str>,
    ) -> StoreResult<People> {
        let mut wanted: Vec<&str> = wanted.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        Ok(People::new(self.find_users(&wanted).await?))
    }

    /// The user with this id, if any (and readable).
    pub async fn find_user(&self, user_id: &str) -> StoreResult<Option<User>> {
        Ok(self.find_users(&[user_id]).await?.pop())
    }

    /// Resolves `usersToInvite` entries to users, looking every contact up in one query
    /// (see `domain::invitation::resolve`).
    pub async fn resolve_invitations(&self, entries: &[InviteEntry]) -> StoreResult<Resolution> {
        let by_contact = || entries.iter().filter(|entry| entry.user_id.is_none());
        let emails: Vec<&str> = by_contact()
            .flat_map(InviteEntry::email_addresses)
            .collect();
        let phones: Vec<&str> = by_contact().flat_map(InviteEntry::phone_numbers).collect();
        let facebook: Vec<&str> = by_contact()
            .filter_map(|entry| entry.facebook.as_ref().map(|identity| identity.as_str()))
            .collect();
        let candidates = self
            .find_users_by_contacts(&emails, &phones, &facebook)
            .await?;
        Ok(resolve(entries, &candidates))
    }

    /// The users holding any of these contacts (e-mails, E.164 phones, `appId:userId`
    /// Facebook identities) in any letter case, by id.
    async fn find_users_by_contacts(
        &self,
        emails: &[&str],
        phones: &[&str],
        facebook: &[&str],
    ) -> StoreResult<Vec<User>> {
        if emails.is_empty() && phones.is_empty() && facebook.is_empty() {
            return Ok(Vec::new());
        }
        let users = self.raw_users();
        let query = users
            .find(doc! { "$or": [
                { "emails": { "$in": emails } },
                { "phones": { "$in": phones } },
                { "facebook": { "$in": facebook } },
            ] })
            .collation(contact_collation())
            .sort(doc! { "_id": 1 });
        self.read_lenient(COLLECTION, query).await
    }
}
