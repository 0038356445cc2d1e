//! The `users` collection: profiles shown as the "user simple structure", and the contact
//! fields used to resolve invitations (never shown to other users).

use std::collections::BTreeMap;

use bson::doc;
use mongodb::IndexModel;
use serde::{Deserialize, Serialize};

use super::{Store, decode_lenient};
use crate::auth::Claims;

pub const COLLECTION: &str = "users";

pub(super) fn indexes() -> Vec<IndexModel> {
    ["emails", "phones", "facebook"]
        .into_iter()
        .map(|field| IndexModel::builder().keys(doc! { field: 1 }).build())
        .collect()
}

/// A user's stored profile. Every field but the id may be missing or `null` in documents
/// written by the wider platform, so each has a default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDocument {
    #[serde(rename = "_id", alias = "id")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub first_name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub last_name: String,
    /// 0 default, 1 incognito.
    #[serde(deserialize_with = "null_as_default")]
    pub privacy_mode: i32,
    #[serde(deserialize_with = "null_as_default")]
    pub avatar: String,
    #[serde(rename = "avatar3D", skip_serializing_if = "Option::is_none")]
    pub avatar_3d: Option<Avatar3d>,
    #[serde(deserialize_with = "null_as_default")]
    pub company_name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub company_title: String,
    /// Lower-cased e-mail addresses.
    #[serde(deserialize_with = "null_as_default")]
    pub emails: Vec<String>,
    /// Phone numbers in E.164.
    #[serde(deserialize_with = "null_as_default")]
    pub phones: Vec<String>,
    /// Facebook identities, `appId:userId`.
    #[serde(deserialize_with = "null_as_default")]
    pub facebook: Vec<String>,
}

/// Reads `null` as the type's default, as a missing field is.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A user's 3D avatar (Ready Player Me).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Avatar3d {
    pub asset_id: String,
    /// The selected skin per variant.
    pub asset_skins: BTreeMap<String, String>,
    /// URL of the glTF binary.
    pub avatar_url: String,
    /// User id for session recovery.
    pub avatar_user_id: String,
}

impl Avatar3d {
    /// True when no field is set: such an avatar is not shown.
    pub fn is_empty(&self) -> bool {
        *self == Avatar3d::default()
    }
}

impl UserDocument {
    /// The document of a user seen for the first time, filled from the token's claims. The
    /// e-mail address is taken only when verified: it can claim pending invitations.
    pub fn from_claims(claims: &Claims) -> UserDocument {
        UserDocument {
            id: claims.sub.clone(),
            first_name: claims.given_name.clone().unwrap_or_default(),
            last_name: claims.family_name.clone().unwrap_or_default(),
            avatar: claims.picture.clone().unwrap_or_default(),
            emails: claims
                .email
                .iter()
                .filter(|_| claims.email_verified == Some(true))
                .map(|email| email.trim().to_lowercase())
                .filter(|email| !email.is_empty())
                .collect(),
            ..UserDocument::default()
        }
    }
}

impl Store {
    fn users(&self) -> mongodb::Collection<UserDocument> {
        self.database().collection(COLLECTION)
    }

    /// Read untyped: documents may come from the wider platform (see [`decode_lenient`]).
    fn raw_users(&self) -> mongodb::Collection<bson::Document> {
        self.database().collection(COLLECTION)
    }

    /// Creates the user's document from the token's claims unless it already exists.
    pub async fn ensure_user(&self, claims: &Claims) -> mongodb::error::Result<()> {
        let fresh = UserDocument::from_claims(claims);
        let mut insert = bson::to_document(&fresh).map_err(mongodb::error::Error::custom)?;
        insert.remove("_id");
        self.users()
            .update_one(doc! { "_id": &claims.sub }, doc! { "$setOnInsert": insert })
            .upsert(true)
            .await
            .map(drop)
    }

    /// Writes a whole user document (import).
    pub async fn replace_user(&self, user: &UserDocument) -> mongodb::error::Result<()> {
        self.users()
            .replace_one(doc! { "_id": &user.id }, user)
            .upsert(true)
            .await
            .map(drop)
    }

    /// The users with these ids (missing ones are left out).
    pub async fn find_users(&self, ids: &[&str]) -> mongodb::error::Result<Vec<UserDocument>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self
            .raw_users()
            .find(doc! { "_id": { "$in": ids } })
            .await?;
        decode_lenient(COLLECTION, cursor).await
    }

    /// The users holding any of these contacts (lower-cased e-mails, E.164 phones,
    /// `appId:userId` Facebook identities).
    pub async fn find_users_by_contacts(
        &self,
        emails: &[String],
        phones: &[String],
        facebook: &[String],
    ) -> mongodb::error::Result<Vec<UserDocument>> {
        if emails.is_empty() && phones.is_empty() && facebook.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self
            .raw_users()
            .find(doc! { "$or": [
                { "emails": { "$in": emails } },
                { "phones": { "$in": phones } },
                { "facebook": { "$in": facebook } },
            ] })
            .sort(doc! { "_id": 1 })
            .await?;
        decode_lenient(COLLECTION, cursor).await
    }

    /// The user with this id, if any (and readable).
    pub async fn find_user(&self, user_id: &str) -> mongodb::error::Result<Option<UserDocument>> {
        Ok(self.find_users(&[user_id]).await?.pop())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_fields_of_platform_documents_read_as_defaults() {
        let document = doc! {
            "_id": "u1", "firstName": "Ada", "avatar": null, "emails": null, "privacyMode": null,
        };
        let user: UserDocument = bson::from_document(document).unwrap();
        assert_eq!(user.first_name, "Ada");
        assert_eq!(user.avatar, "");
        assert!(user.emails.is_empty());
        assert_eq!(user.privacy_mode, 0);
    }
}
