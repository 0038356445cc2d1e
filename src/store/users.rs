//! The `users` collection: profiles shown as the "user simple structure", and the contact
//! fields used to resolve invitations (never shown to other users).

use std::collections::BTreeMap;

use bson::doc;
use futures_util::TryStreamExt;
use mongodb::IndexModel;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::auth::Claims;

pub const COLLECTION: &str = "users";

pub(super) fn indexes() -> Vec<IndexModel> {
    ["emails", "phones", "facebook"]
        .into_iter()
        .map(|field| IndexModel::builder().keys(doc! { field: 1 }).build())
        .collect()
}

/// A user's stored profile. Every field but the id may be missing in documents written by
/// the wider platform, so each has a default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserDocument {
    #[serde(rename = "_id", alias = "id")]
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    /// 0 default, 1 incognito.
    pub privacy_mode: i32,
    pub avatar: String,
    #[serde(rename = "avatar3D", skip_serializing_if = "Option::is_none")]
    pub avatar_3d: Option<Avatar3d>,
    pub company_name: String,
    pub company_title: String,
    /// Lower-cased e-mail addresses.
    pub emails: Vec<String>,
    /// Phone numbers in E.164.
    pub phones: Vec<String>,
    /// Facebook identities, `appId:userId`.
    pub facebook: Vec<String>,
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
    /// The document of a user seen for the first time, filled from the token's claims.
    pub fn from_claims(claims: &Claims) -> UserDocument {
        UserDocument {
            id: claims.sub.clone(),
            first_name: claims.given_name.clone().unwrap_or_default(),
            last_name: claims.family_name.clone().unwrap_or_default(),
            avatar: claims.picture.clone().unwrap_or_default(),
            emails: claims
                .email
                .iter()
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
        self.users()
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .try_collect()
            .await
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
        self.users()
            .find(doc! { "$or": [
                { "emails": { "$in": emails } },
                { "phones": { "$in": phones } },
                { "facebook": { "$in": facebook } },
            ] })
            .sort(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await
    }

    /// The user with this id, if any.
    pub async fn find_user(&self, user_id: &str) -> mongodb::error::Result<Option<UserDocument>> {
        self.users().find_one(doc! { "_id": user_id }).await
    }
}
