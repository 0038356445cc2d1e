//! Inviting people to sessions: validating `usersToInvite` entries, matching them to
//! users by id or contact, keeping unresolved contacts pending, and merging the result into
//! a session's invitations.

use serde::Deserialize;

use crate::domain::ids::user_id_problem;
use crate::domain::kinds::InvitationRole;
use crate::domain::people::{
    EmailAddress, FacebookIdentity, PhoneNumber, User, email_key, facebook_key, phone_key,
};
use crate::domain::session::{Invitation, PendingContact, Session};
use crate::error::{ApiError, FieldPath};

/// Most entries in one `usersToInvite`.
pub const MAX_ENTRIES: usize = 100;
/// Most e-mail addresses or phone numbers in one entry.
pub const MAX_CONTACTS_PER_ENTRY: usize = 10;
/// Most invitations (users and pending contacts) one session holds.
pub const MAX_INVITATIONS_PER_SESSION: usize = 1000;
/// Most distinct contacts (e-mail addresses, phone numbers, Facebook identities) one
/// inviter may look up in 24 hours: contact resolution is an address-book look-up, and
/// this bounds enumeration.
pub const MAX_CONTACT_LOOKUPS_PER_DAY: usize = 500;
/// Most distinct users one inviter may invite by id in 24 hours (again after a decline
/// counts; the same user to several sessions counts once): a user id is taken as given —
/// the identity provider, not this service, knows every user — so this bounds how many
/// invented or unwilling people one account can attach to sessions.
pub const MAX_NEW_INVITEES_PER_DAY: usize = 2000;
/// Most open invitations (to sessions that have not ended, not declined) a user may hold:
/// past this, nobody can invite them until they decline some or sessions end, so that
/// nobody can fill another's calendar and pushes without end.
pub const MAX_OPEN_INVITATIONS_PER_USER: u64 = 200;

/// One entry of `usersToInvite`: a user id, or contacts to resolve, and a role.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteEntry {
    pub user_id: Option<String>,
    pub facebook: Option<FacebookIdentity>,
    pub emails: Option<Vec<EmailAddress>>,
    pub phones: Option<Vec<PhoneNumber>>,
    /// Attendee when absent.
    pub role: Option<InvitationRole>,
}

impl InviteEntry {
    fn role(&self) -> InvitationRole {
        self.role.unwrap_or_default()
    }

    /// The e-mail addresses of this entry (lower case, as invitations compare them).
    pub fn email_addresses(&self) -> impl Iterator<Item = &str> {
        self.emails.iter().flatten().map(EmailAddress::as_str)
    }

    /// The phone numbers of this entry.
    pub fn phone_numbers(&self) -> impl Iterator<Item = &str> {
        self.phones.iter().flatten().map(PhoneNumber::as_str)
    }

    /// The contact keys of this entry (`email:…`, `phone:…`, `facebook:…`).
    pub fn contact_keys(&self) -> Vec<String> {
        let emails = self.email_addresses().map(email_key);
        let phones = self.phone_numbers().map(phone_key);
        let facebook = self
            .facebook
            .iter()
            .map(|identity| facebook_key(identity.as_str()));
        emails.chain(phones).chain(facebook).collect()
    }
}

/// Checks `usersToInvite`; `path` is its path.
pub fn validate_entries(entries: &[InviteEntry], path: &FieldPath) -> Result<(), ApiError> {
    if entries.len() > MAX_ENTRIES {
        return Err(ApiError::invalid(
            path.clone(),
            format!("at most {MAX_ENTRIES} entries per request"),
        ));
    }
    for (index, entry) in entries.iter().enumerate() {
        validate_entry(entry, &path.index(index))?;
    }
    Ok(())
}

fn validate_entry(entry: &InviteEntry, path: &FieldPath) -> Result<(), ApiError> {
    if let Some(problem) = entry.user_id.as_deref().and_then(user_id_problem) {
        return Err(ApiError::invalid(path.field("userId"), problem));
    }
    let counts = [
        ("emails", entry.emails.as_ref().map(Vec::len)),
        ("phones", entry.phones.as_ref().map(Vec::len)),
    ];
    for (name, count) in counts {
        if count.is_some_and(|count| count > MAX_CONTACTS_PER_ENTRY) {
            return Err(ApiError::invalid(
                path.field(name),
                format!("at most {MAX_CONTACTS_PER_ENTRY} per entry"),
            ));
        }
    }
    if entry.user_id.is_none() && entry.contact_keys().is_empty() {
        return Err(ApiError::invalid(
            path.clone(),
            "needs a userId, facebook, emails or phones",
        ));
    }
    Ok(())
}

/// Entries resolved to users, and those kept as pending contacts.
#[derive(Debug, Default)]
pub struct Resolution {
    pub users: Vec<Invitation>,
    pub pending: Vec<PendingContact>,
}

/// Matches entries to users: a `userId` names the user directly; contacts match the first
/// of `candidates` (users holding any of the entries' contacts, by id) that holds any of
/// them; entries that match no user become pending contact invitations.
pub fn resolve(entries: &[InviteEntry], candidates: &[User]) -> Resolution {
    let mut resolution = Resolution::default();
    for entry in entries {
        if let Some(user_id) = &entry.user_id {
            resolution.users.push(Invitation {
                user_id: user_id.clone(),
                role: entry.role(),
            });
            continue;
        }
        let keys = entry.contact_keys();
        let found = candidates
            .iter()
            .find(|user| user.contact_keys().iter().any(|key| keys.contains(key)));
        match found {
            Some(user) => resolution.users.push(Invitation {
                user_id: user.id.clone(),
                role: entry.role(),
            }),
            None => resolution.pending.push(PendingContact {
                keys,
                role: entry.role(),
            }),
        }
    }
    resolution
}

/// The distinct contact keys `entries` look up (entries naming a user id look nothing up).
pub fn contact_lookups(entries: &[InviteEntry]) -> Vec<String> {
    let mut keys: Vec<String> = entries
        .iter()
        .filter(|entry| entry.user_id.is_none())
        .flat_map(InviteEntry::contact_keys)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The users `resolution` invites to `session` who are not invited there yet, or
/// declined: each counts against the inviter's budget and the invitee's open invitations.
pub fn new_invitees<'a>(session: &Session, resolution: &'a Resolution) -> Vec<&'a str> {
    let mut new: Vec<&str> = resolution
        .users
        .iter()
        .map(|invitation| invitation.user_id.as_str())
        .filter(|user_id| *user_id != session.owner_id)
        .filter(|user_id| !session.is_invited(user_id) || session.has_declined(user_id))
        .collect();
    new.sort_unstable();
    new.dedup();
    new
}

/// A 409 naming the budget when an inviter's distinct invitees of the last 24 hours are
/// more than [`MAX_NEW_INVITEES_PER_DAY`].
pub fn check_new_invitees(invited: u64) -> Result<(), ApiError> {
    if invited > MAX_NEW_INVITEES_PER_DAY as u64 {
        return Err(ApiError::QuotaExceeded(format!(
            "invitation quota exceeded: at most {MAX_NEW_INVITEES_PER_DAY} distinct users \
             invited per inviter in 24 hours"
        )));
    }
    Ok(())
}

/// A 409 naming the limit when `user_id` holds [`MAX_OPEN_INVITATIONS_PER_USER`] open
/// invitations already.
pub fn check_open_invitations(user_id: &str, open: u64) -> Result<(), ApiError> {
    if open >= MAX_OPEN_INVITATIONS_PER_USER {
        return Err(ApiError::QuotaExceeded(format!(
            "invitation quota exceeded: {user_id} holds {MAX_OPEN_INVITATIONS_PER_USER} open \
             invitations, the most one user may hold"
        )));
    }
    Ok(())
}

/// A 409 naming the quota when an inviter's distinct look-ups of the last 24 hours are
/// more than [`MAX_CONTACT_LOOKUPS_PER_DAY`].
pub fn check_contact_lookups(looked_up: u64) -> Result<(), ApiError> {
    if looked_up > MAX_CONTACT_LOOKUPS_PER_DAY as u64 {
        return Err(ApiError::QuotaExceeded(format!(
            "contact look-up quota exceeded: at most {MAX_CONTACT_LOOKUPS_PER_DAY} distinct e-mail \
             addresses, phone numbers or Facebook identities per inviter in 24 hours"
        )));
    }
    Ok(())
}

/// What attaching a user's pending contact invitations changes in one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    /// The role of the first pending invitation that names one of the user's contacts.
    pub role: InvitationRole,
    /// Whether the user becomes an invitee (not when they own the session or are invited
    /// already; the pending invitations are dropped all the same).
    pub add_invitee: bool,
}

/// What the pending invitations of `session` that name any of `keys` (the contact keys of
/// `user_id`) attach; `None` when none of them does.
pub fn pending_attachment(session: &Session, user_id: &str, keys: &[String]) -> Option<Attachment> {
    let role = session
        .pending_contacts
        .iter()
        .find(|pending| pending.keys.iter().any(|key| keys.contains(key)))?
        .role;
    Some(Attachment {
        role,
        add_invitee: session.owner_id != user_id && !session.is_invited(user_id),
    })
}

/// A session's invitations after an invite.
#[derive(Debug, PartialEq)]
pub struct Merged {
    pub invited: Vec<Invitation>,
    pub pending: Vec<PendingContact>,
    /// Invitees invited again: a declined invitation becomes pending.
    pub reinvited: Vec<String>,
}

/// Merges a resolution into the session's invitations: new invitees are added, existing
/// ones get the new role, the owner is ignored, and pending contacts with the same keys
/// are replaced.
pub fn merge(session: &Session, resolution: &Resolution) -> Result<Merged, ApiError> {
    let mut invited = session.invited.clone();
    let mut reinvited = Vec::new();
    for invitation in &resolution.users {
        if invitation.user_id == session.owner_id {
            continue;
        }
        match invited
            .iter_mut()
            .find(|existing| existing.user_id == invitation.user_id)
        {
            Some(existing) => existing.role = invitation.role,
            None => invited.push(invitation.clone()),
        }
        if !reinvited.contains(&invitation.user_id) {
            reinvited.push(invitation.user_id.clone());
        }
    }
    let mut pending = session.pending_contacts.clone();
    for contact in &resolution.pending {
        match pending
            .iter_mut()
            .find(|existing| existing.keys == contact.keys)
        {
            Some(existing) => existing.role = contact.role,
            None => pending.push(contact.clone()),
        }
    }
    if invited.len() + pending.len() > MAX_INVITATIONS_PER_SESSION {
        return Err(ApiError::QuotaExceeded(format!(
            "invitation quota exceeded: a session holds at most {MAX_INVITATIONS_PER_SESSION} invitations"
        )));
    }
    Ok(Merged {
        invited,
        pending,
        reinvited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entries(value: serde_json::Value) -> Vec<InviteEntry> {
        serde_json::from_value(value).unwrap()
    }

    fn path() -> FieldPath {
        FieldPath::data().field("usersToInvite")
    }

    #[test]
    fn invalid_entries_name_the_field() {
        let cases = [
            (
                json!([{"role": 1}]),
                "data.usersToInvite[0]: needs a userId",
            ),
            (
                json!([{"userId": "u"}, {"emails": (0..11).map(|i| format!("a{i}@x.y")).collect::<Vec<_>>()}]),
                "data.usersToInvite[1].emails: at most 10 per entry",
            ),
            (
                json!([{"userId": ""}]),
                "data.usersToInvite[0].userId: must be 1 to 256",
            ),
        ];
        for (value, expected) in cases {
            let error = validate_entries(&entries(value.clone()), &path()).unwrap_err();
            assert!(error.to_string().starts_with(expected), "{value}: {error}");
        }
        let many = vec![
            InviteEntry {
                user_id: Some("u".into()),
                ..InviteEntry::default()
            };
            101
        ];
        assert!(validate_entries(&many, &path()).is_err());
    }

    #[test]
    fn valid_entries_pass_and_emails_are_matched_case_insensitively() {
        let valid = entries(json!([
            {"userId": "u1", "role": 1},
            {"emails": [" Ada@Example.com "], "phones": ["+14155550100"], "facebook": "app:42"}
        ]));
        validate_entries(&valid, &path()).unwrap();
        assert_eq!(
            valid[1].contact_keys(),
            [
                "email:ada@example.com",
                "phone:+14155550100",
                "facebook:app:42"
            ]
        );
    }

    fn session() -> Session {
        let mut session = Session::new(
            "s".into(),
            "owner",
            None,
            crate::domain::time::Timestamp::from_millis(0).unwrap(),
        );
        session.invited = vec![Invitation {
            user_id: "u1".into(),
            role: InvitationRole::Attendee,
        }];
        session.declined = vec!["u1".into()];
        session
    }

    #[test]
    fn a_session_holds_at_most_a_thousand_invitations() {
        let resolution = |count: usize| Resolution {
            users: (0..count)
                .map(|index| Invitation {
                    user_id: format!("u{index}"),
                    role: InvitationRole::Attendee,
                })
                .collect(),
            pending: Vec::new(),
        };
        // u1 is invited already: u0..u999 make exactly 1000.
        assert!(merge(&session(), &resolution(1000)).is_ok());
        let error = merge(&session(), &resolution(1001)).unwrap_err();
        assert_eq!(error.code(), 409);
        assert!(
            error.to_string().starts_with("invitation quota exceeded"),
            "{error}"
        );
    }

    #[test]
    fn contact_look_ups_are_the_distinct_contacts_of_entries_without_a_user_id() {
        let looked_up = contact_lookups(&entries(json!([
            {"emails": ["A@x.y", "a@x.y"], "phones": ["+14155550100"]},
            {"emails": ["a@x.y"]},
            {"userId": "u", "emails": ["b@x.y"]},
        ])));
        assert_eq!(looked_up, ["email:a@x.y", "phone:+14155550100"]);
        assert!(check_contact_lookups(500).is_ok());
        let error = check_contact_lookups(501).unwrap_err();
        assert_eq!(error.code(), 409);
        assert!(error.to_string().contains("look-up quota"), "{error}");
    }

    #[test]
    fn pending_contacts_attach_to_the_user_who_holds_them_unless_owner_or_invited() {
        let mut waiting = session();
        waiting.pending_contacts = vec![PendingContact {
            keys: vec!["email:x@y.z".into()],
            role: InvitationRole::Panelist,
        }];
        let keys = vec!["phone:+1555".to_owned(), "email:x@y.z".to_owned()];
        assert_eq!(
            pending_attachment(&waiting, "u9", &keys),
            Some(Attachment {
                role: InvitationRole::Panelist,
                add_invitee: true
            })
        );
        assert!(
            !pending_attachment(&waiting, "owner", &keys)
                .unwrap()
                .add_invitee
        );
        assert!(
            !pending_attachment(&waiting, "u1", &keys)
                .unwrap()
                .add_invitee
        );
        assert_eq!(pending_attachment(&waiting, "u9", &keys[..1]), None);
    }

    #[test]
    fn merging_updates_roles_ignores_the_owner_and_reinvites() {
        let resolution = Resolution {
            users: vec![
                Invitation {
                    user_id: "u1".into(),
                    role: InvitationRole::Panelist,
                },
                Invitation {
                    user_id: "owner".into(),
                    role: InvitationRole::Presenter,
                },
                Invitation {
                    user_id: "u2".into(),
                    role: InvitationRole::Attendee,
                },
            ],
            pending: vec![PendingContact {
                keys: vec!["email:x@y.z".into()],
                role: InvitationRole::Presenter,
            }],
        };
        let merged = merge(&session(), &resolution).unwrap();
        assert_eq!(
            merged.invited,
            [
                Invitation {
                    user_id: "u1".into(),
                    role: InvitationRole::Panelist
                },
                Invitation {
                    user_id: "u2".into(),
                    role: InvitationRole::Attendee
                },
            ]
        );
        assert_eq!(merged.reinvited, ["u1", "u2"]);
        assert_eq!(merged.pending.len(), 1);
    }
}
