//! The "user simple structure": how one user is shown to another, with the privacy rules
//! applied. Contact fields never leave the service.

use std::collections::HashMap;

use serde::Serialize;

use crate::store::Store;
use crate::store::users::{Avatar3d, UserDocument};

/// Privacy mode of an incognito user.
pub const INCOGNITO: i32 = 1;

/// A user as the reference renders it. `avatar3D` is omitted when empty.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserSimple {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub privacy_mode: i32,
    pub avatar: String,
    #[serde(rename = "avatar3D", skip_serializing_if = "Option::is_none")]
    pub avatar_3d: Option<Avatar3d>,
    pub company_name: String,
    pub company_title: String,
}

impl UserSimple {
    /// How user `id` (with its document, when there is one) is shown to `viewer_id`. An
    /// incognito user is shown to everyone but themselves by id and privacy mode only.
    pub fn render(id: &str, user: Option<&UserDocument>, viewer_id: &str) -> UserSimple {
        let hidden = UserSimple {
            id: id.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            privacy_mode: 0,
            avatar: String::new(),
            avatar_3d: None,
            company_name: String::new(),
            company_title: String::new(),
        };
        let Some(user) = user else {
            return hidden;
        };
        if user.privacy_mode == INCOGNITO && id != viewer_id {
            return UserSimple {
                privacy_mode: INCOGNITO,
                ..hidden
            };
        }
        UserSimple {
            id: id.to_owned(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            privacy_mode: user.privacy_mode,
            avatar: user.avatar.clone(),
            avatar_3d: user.avatar_3d.clone().filter(|avatar| !avatar.is_empty()),
            company_name: user.company_name.clone(),
            company_title: user.company_title.clone(),
        }
    }
}

/// User documents loaded in one query, for rendering many people at once.
#[derive(Debug, Default)]
pub struct UserDirectory {
    users: HashMap<String, UserDocument>,
}

impl UserDirectory {
    /// Loads the documents of every id in `wanted` (missing users are simply absent).
    pub async fn load(
        store: &Store,
        mut wanted: Vec<&str>,
    ) -> mongodb::error::Result<UserDirectory> {
        wanted.sort_unstable();
        wanted.dedup();
        let users = store.find_users(&wanted).await?;
        Ok(UserDirectory {
            users: users
                .into_iter()
                .map(|user| (user.id.clone(), user))
                .collect(),
        })
    }

    /// How user `id` is shown to `viewer_id`.
    pub fn render(&self, id: &str, viewer_id: &str) -> UserSimple {
        UserSimple::render(id, self.users.get(id), viewer_id)
    }

    pub fn get(&self, id: &str) -> Option<&UserDocument> {
        self.users.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(privacy_mode: i32) -> UserDocument {
        UserDocument {
            id: "u1".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            privacy_mode,
            avatar: "a.png".into(),
            avatar_3d: Some(Avatar3d {
                asset_id: "asset".into(),
                ..Avatar3d::default()
            }),
            company_name: "AE".into(),
            company_title: "Programmer".into(),
            emails: vec!["ada@example.com".into()],
            phones: vec!["+15550100".into()],
            facebook: vec![],
        }
    }

    #[test]
    fn a_visible_user_shows_the_reference_fields_and_no_contacts() {
        let shown = serde_json::to_value(UserSimple::render("u1", Some(&user(0)), "u2")).unwrap();
        let keys: Vec<&str> = shown
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "firstName",
                "lastName",
                "privacyMode",
                "avatar",
                "avatar3D",
                "companyName",
                "companyTitle"
            ]
        );
        assert_eq!(shown["avatar3D"]["assetId"], "asset");
        assert!(!shown.to_string().contains("example.com"));
    }

    #[test]
    fn an_incognito_user_is_hidden_from_others_but_not_from_themselves() {
        let to_other = UserSimple::render("u1", Some(&user(INCOGNITO)), "u2");
        assert_eq!(to_other.first_name, "");
        assert_eq!(to_other.company_title, "");
        assert_eq!(to_other.avatar_3d, None);
        assert_eq!(to_other.privacy_mode, INCOGNITO);
        let to_self = UserSimple::render("u1", Some(&user(INCOGNITO)), "u1");
        assert_eq!(to_self.first_name, "Ada");
    }

    #[test]
    fn an_empty_avatar_3d_is_omitted() {
        let mut plain = user(0);
        plain.avatar_3d = Some(Avatar3d::default());
        let shown = serde_json::to_value(UserSimple::render("u1", Some(&plain), "u2")).unwrap();
        assert!(shown.get("avatar3D").is_none());
    }
}
