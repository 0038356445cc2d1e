//! People: the user profiles the platform stores, their contact keys (how invitations by
//! e-mail, phone or Facebook find them), and the "user simple structure" that shows one
//! user to another with the privacy rules applied. Contact fields never leave the service.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_with::{DefaultOnNull, serde_as};

use super::ids::UserId;

/// A user's privacy mode: 0 by default, 1 incognito. Kept as the platform stored it, since
/// the platform may know more modes than this service.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct PrivacyMode(pub i32);

impl PrivacyMode {
    /// Shown to everyone but themselves by id and privacy mode only.
    pub const INCOGNITO: PrivacyMode = PrivacyMode(1);

    pub fn is_incognito(self) -> bool {
        self == Self::INCOGNITO
    }
}

/// A user's profile as the platform stores it (collection `users`). Every field but the id
/// may be missing or `null` in documents written by the wider platform, so each has a
/// default.
#[serde_as]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    #[serde(rename = "_id", alias = "id")]
    pub id: String,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub first_name: String,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub last_name: String,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub privacy_mode: PrivacyMode,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub avatar: String,
    #[serde(rename = "avatar3D", skip_serializing_if = "Option::is_none")]
    pub avatar_3d: Option<Avatar3d>,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub company_name: String,
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub company_title: String,
    /// E-mail addresses.
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub emails: Vec<String>,
    /// Phone numbers in E.164.
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub phones: Vec<String>,
    /// Facebook identities, `appId:userId`.
    #[serde_as(deserialize_as = "DefaultOnNull")]
    pub facebook: Vec<String>,
}

/// A user's 3D avatar (Ready Player Me).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// What a token says about a user seen for the first time.
#[derive(Debug, Clone, Default)]
pub struct FirstSeen {
    pub user_id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    /// The e-mail address, only when the identity provider verified it.
    pub verified_email: Option<String>,
}

impl User {
    /// The profile of a user seen for the first time. The e-mail address is taken only
    /// when verified: it can claim pending invitations.
    pub fn first_seen(seen: &FirstSeen) -> User {
        User {
            id: seen.user_id.clone(),
            first_name: seen.given_name.clone().unwrap_or_default(),
            last_name: seen.family_name.clone().unwrap_or_default(),
            avatar: seen.picture.clone().unwrap_or_default(),
            emails: seen
                .verified_email
                .iter()
                .map(|email| normalize_email(email))
                .filter(|email| !email.is_empty())
                .collect(),
            ..User::default()
        }
    }

    /// The contact keys of this user, matching those of invitations.
    pub fn contact_keys(&self) -> Vec<String> {
        let emails = self.emails.iter().map(|email| email_key(email));
        let phones = self.phones.iter().map(|phone| phone_key(phone));
        let facebook = self.facebook.iter().map(|identity| facebook_key(identity));
        emails.chain(phones).chain(facebook).collect()
    }
}

/// An e-mail address as invitations compare it: trimmed and in lower case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Declares a contact that a request names by a string: decoded from the string when
/// valid (see its `parse`), refused with its message otherwise.
macro_rules! contact {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}

contact! {
    /// An e-mail address, kept as invitations compare it (trimmed, lower case).
    EmailAddress
}

contact! {
    /// A phone number in E.164, such as `+14155550100`.
    PhoneNumber
}

contact! {
    /// A Facebook identity, `appId:userId`.
    FacebookIdentity
}

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let email = text.trim();
        let valid = email.len() <= 254
            && !email.contains(char::is_whitespace)
            && email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if valid {
            Ok(EmailAddress(normalize_email(email)))
        } else {
            Err("not an e-mail address")
        }
    }
}

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let digits = text.strip_prefix('+').unwrap_or("");
        let valid = (2..=15).contains(&digits.len())
            && digits.chars().all(|digit| digit.is_ascii_digit())
            && !digits.starts_with('0');
        if valid {
            Ok(PhoneNumber(text.to_owned()))
        } else {
            Err("not an E.164 phone number such as +14155550100")
        }
    }
}

impl FacebookIdentity {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let valid = text.len() <= 256
            && !text.contains(char::is_whitespace)
            && text
                .split_once(':')
                .is_some_and(|(app, user)| !app.is_empty() && !user.is_empty());
        if valid {
            Ok(FacebookIdentity(text.to_owned()))
        } else {
            Err("must be appId:userId")
        }
    }
}

/// The contact key of an e-mail address (`email:…`), whatever its letter case.
pub fn email_key(email: &str) -> String {
    format!("email:{}", normalize_email(email))
}

/// The contact key of an E.164 phone number (`phone:…`).
pub fn phone_key(phone: &str) -> String {
    format!("phone:{phone}")
}

/// The contact key of a Facebook identity (`facebook:appId:userId`).
pub fn facebook_key(identity: &str) -> String {
    format!("facebook:{identity}")
}

/// A user as the reference renders it. `avatar3D` is omitted when empty.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSimple {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub privacy_mode: PrivacyMode,
    pub avatar: String,
    #[serde(rename = "avatar3D", skip_serializing_if = "Option::is_none")]
    pub avatar_3d: Option<Avatar3d>,
    pub company_name: String,
    pub company_title: String,
}

impl UserSimple {
    /// How user `id` (with its profile, when there is one) is shown to `viewer_id`. An
    /// incognito user is shown to everyone but themselves by id and privacy mode only.
    pub fn render(id: &str, user: Option<&User>, viewer_id: &UserId) -> UserSimple {
        let hidden = UserSimple {
            id: id.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            privacy_mode: PrivacyMode::default(),
            avatar: String::new(),
            avatar_3d: None,
            company_name: String::new(),
            company_title: String::new(),
        };
        let Some(user) = user else {
            return hidden;
        };
        if user.privacy_mode.is_incognito() && id != viewer_id.as_str() {
            return UserSimple {
                privacy_mode: PrivacyMode::INCOGNITO,
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

/// Profiles loaded together, for rendering many people at once.
#[derive(Debug, Default)]
pub struct People {
    users: HashMap<String, User>,
}

impl People {
    pub fn new(users: Vec<User>) -> People {
        People {
            users: users
                .into_iter()
                .map(|user| (user.id.clone(), user))
                .collect(),
        }
    }

    /// How user `id` is shown to `viewer_id`.
    pub fn render(&self, id: &str, viewer_id: &UserId) -> UserSimple {
        UserSimple::render(id, self.users.get(id), viewer_id)
    }

    /// Whether `user_id` is incognito (and so sees themselves differently from others).
    pub fn is_incognito(&self, user_id: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|user| user.privacy_mode.is_incognito())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(privacy_mode: PrivacyMode) -> User {
        User {
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
        let shown = serde_json::to_value(UserSimple::render(
            "u1",
            Some(&user(PrivacyMode::default())),
            &UserId::from("u2"),
        ))
        .unwrap();
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
        let to_other = UserSimple::render("u1", Some(&user(PrivacyMode::INCOGNITO)), &"u2".into());
        assert_eq!(to_other.first_name, "");
        assert_eq!(to_other.company_title, "");
        assert_eq!(to_other.avatar_3d, None);
        assert_eq!(to_other.privacy_mode, PrivacyMode::INCOGNITO);
        let to_self = UserSimple::render("u1", Some(&user(PrivacyMode::INCOGNITO)), &"u1".into());
        assert_eq!(to_self.first_name, "Ada");
    }

    #[test]
    fn an_empty_avatar_3d_is_omitted() {
        let mut plain = user(PrivacyMode::default());
        plain.avatar_3d = Some(Avatar3d::default());
        let shown =
            serde_json::to_value(UserSimple::render("u1", Some(&plain), &"u2".into())).unwrap();
        assert!(shown.get("avatar3D").is_none());
    }

    #[test]
    fn null_fields_of_platform_documents_read_as_defaults() {
        let user: User = serde_json::from_value(serde_json::json!({
            "_id": "u1", "firstName": "Ada", "avatar": null, "emails": null, "privacyMode": null,
        }))
        .unwrap();
        assert_eq!(user.first_name, "Ada");
        assert_eq!(user.avatar, "");
        assert!(user.emails.is_empty());
        assert_eq!(user.privacy_mode, PrivacyMode::default());
    }

    #[test]
    fn contacts_parse_only_in_their_documented_forms() {
        assert_eq!(
            EmailAddress::parse(" Ada@Example.com ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in ["nope", "@example.com", "ada@", "a da@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(PhoneNumber::parse("+14155550100").is_ok());
        for bad in [
            "555-0100",
            "14155550100",
            "+0123",
            "+1",
            "+1234567890123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
        assert!(FacebookIdentity::parse("app:42").is_ok());
        for bad in ["12345", ":42", "app:", "app: 42"] {
            assert!(FacebookIdentity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn contact_keys_ignore_the_letter_case_of_e_mail_addresses() {
        let mut stored = user(PrivacyMode::default());
        stored.emails = vec!["Mixed.Case@Example.COM".into()];
        assert_eq!(
            stored.contact_keys()[0],
            email_key(" mixed.case@example.com ")
        );
    }
}
