//! Event sources (`network:{id}`, `community:{networkId}:{communityId}`) and what a user's
//! memberships allow in them.
//!
//! An admin of a network is an admin of every community in it; a community membership
//! does not imply a network membership.

use serde::{Deserialize, Serialize};

use crate::domain::kinds::MembershipRole as Role;

/// Where an event lives. Requests carry it as `network:{networkId}` or
/// `community:{networkId}:{communityId}`; anything else is refused when decoded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Source {
    Network {
        network_id: String,
    },
    Community {
        network_id: String,
        community_id: String,
    },
}

impl Source {
    /// Parses a source string; anything but the two documented forms is refused.
    pub fn parse(text: &str) -> Result<Source, &'static str> {
        let invalid = || "must be network:{networkId} or community:{networkId}:{communityId}";
        let parts: Vec<&str> = text.split(':').collect();
        let valid_id =
            |id: &str| !id.is_empty() && id.len() <= 256 && !id.contains(char::is_whitespace);
        match parts.as_slice() {
            ["network", network_id] if valid_id(network_id) => Ok(Source::Network {
                network_id: (*network_id).to_owned(),
            }),
            ["community", network_id, community_id]
                if valid_id(network_id) && valid_id(community_id) =>
            {
                Ok(Source::Community {
                    network_id: (*network_id).to_owned(),
                    community_id: (*community_id).to_owned(),
                })
            }
            _ => Err(invalid()),
        }
    }

    /// The canonical string, as clients send it.
    pub fn as_string(&self) -> String {
        match self {
            Source::Network { network_id } => format!("network:{network_id}"),
            Source::Community {
                network_id,
                community_id,
            } => format!("community:{network_id}:{community_id}"),
        }
    }

    /// `network` or `community`.
    pub fn source_type(&self) -> &'static str {
        match self {
            Source::Network { .. } => "network",
            Source::Community { .. } => "community",
        }
    }

    /// The network id or the community id.
    pub fn source_pk(&self) -> &str {
        match self {
            Source::Network { network_id } => network_id,
            Source::Community { community_id, .. } => community_id,
        }
    }

    pub fn network_id(&self) -> &str {
        match self {
            Source::Network { network_id } | Source::Community { network_id, .. } => network_id,
        }
    }

    /// Rebuilds a source from the fields stored with an event.
    pub fn from_stored(source_type: &str, network_id: &str, source_pk: &str) -> Option<Source> {
        match source_type {
            "network" => Some(Source::Network {
                network_id: network_id.to_owned(),
            }),
            "community" => Some(Source::Community {
                network_id: network_id.to_owned(),
                community_id: source_pk.to_owned(),
            }),
            _ => None,
        }
    }
}

impl schemars::JsonSchema for Source {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Source".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^(network:[^:]+|community:[^:]+:[^:]+)$",
            "description": "network:{networkId} or community:{networkId}:{communityId}; \
                            ids of at most 256 bytes without whitespace",
        })
    }
}

impl TryFrom<String> for Source {
    type Error = &'static str;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Source::parse(&text)
    }
}

/// One membership (collection `memberships`, owned by the wider platform): network-level
/// when `community_id` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub user_id: String,
    pub network_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    pub role: Role,
}

/// One user's roles within one network and its communities.
#[derive(Debug, Clone, Default)]
pub struct Access {
    memberships: Vec<Membership>,
}

impl Access {
    /// Access computed from the user's memberships in one network.
    pub fn from_memberships(memberships: Vec<Membership>) -> Access {
        Access { memberships }
    }

    fn network_role(&self) -> Option<Role> {
        self.memberships
            .iter()
            .filter(|membership| membership.community_id.is_none())
            .map(|membership| membership.role)
            .max()
    }

    fn community_role(&self, community_id: &str) -> Option<Role> {
        self.memberships
            .iter()
            .filter(|membership| membership.community_id.as_deref() == Some(community_id))
            .map(|membership| membership.role)
            .max()
    }

    /// May create events in the source and manage every event in it.
    pub fn is_admin_of(&self, source: &Source) -> bool {
        if self.network_role() == Some(Role::Admin) {
            return true;
        }
        match source {
            Source::Network { .. } => false,
            Source::Community { community_id, .. } => {
                self.community_role(community_id) == Some(Role::Admin)
            }
        }
    }

    /// May see the source's published events.
    pub fn can_see_into(&self, source: &Source) -> bool {
        match source {
            Source::Network { .. } => self.network_role().is_some(),
            Source::Community { community_id, .. } => {
                self.network_role() == Some(Role::Admin)
                    || self.community_role(community_id).is_some()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(community: Option<&str>, role: Role) -> Membership {
        Membership {
            user_id: "u".into(),
            network_id: "n1".into(),
            community_id: community.map(str::to_owned),
            role,
        }
    }

    fn network() -> Source {
        Source::parse("network:n1").unwrap()
    }

    fn community() -> Source {
        Source::parse("community:n1:c1").unwrap()
    }

    #[test]
    fn both_source_forms_parse_and_print_back() {
        for text in ["network:n1", "community:n1:c1"] {
            assert_eq!(Source::parse(text).unwrap().as_string(), text);
        }
        assert_eq!(community().source_pk(), "c1");
        assert_eq!(community().network_id(), "n1");
        assert_eq!(community().source_type(), "community");
    }

    #[test]
    fn anything_else_is_refused() {
        for text in [
            "",
            "network",
            "network:",
            "network:n1:c1",
            "community:n1",
            "community::c1",
            "group:n1",
            "NETWORK:n1",
            "network:n 1",
        ] {
            assert!(Source::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_network_admin_administers_and_sees_every_community() {
        let access = Access::from_memberships(vec![membership(None, Role::Admin)]);
        assert!(access.is_admin_of(&network()) && access.is_admin_of(&community()));
        assert!(access.can_see_into(&network()) && access.can_see_into(&community()));
    }

    #[test]
    fn a_network_member_sees_network_events_only() {
        let access = Access::from_memberships(vec![membership(None, Role::Member)]);
        assert!(access.can_see_into(&network()));
        assert!(!access.can_see_into(&community()));
        assert!(!access.is_admin_of(&network()));
    }

    #[test]
    fn a_community_admin_is_not_a_network_member() {
        let access = Access::from_memberships(vec![membership(Some("c1"), Role::Admin)]);
        assert!(access.is_admin_of(&community()) && access.can_see_into(&community()));
        assert!(!access.can_see_into(&network()) && !access.is_admin_of(&network()));
    }

    #[test]
    fn a_community_member_sees_but_does_not_administer() {
        let access = Access::from_memberships(vec![membership(Some("c1"), Role::Member)]);
        assert!(access.can_see_into(&community()));
        assert!(!access.is_admin_of(&community()));
        let other = Source::parse("community:n1:c2").unwrap();
        assert!(!access.can_see_into(&other));
    }
}
