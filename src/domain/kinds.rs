//! The kinds the reference codes as integers (session type, invitation role and status,
//! event status) and the membership roles, as enums.
//!
//! On the wire and in storage each kind is its integer; a value out of range is refused
//! when the request is decoded, with the field path and the accepted values.

use serde::{Deserialize, Serialize};
use serde_repr::Serialize_repr;

/// Declares an integer-coded kind: serialised as its integer, decoded from an integer in
/// range, refused otherwise with `$accepted` as the message.
macro_rules! integer_kind {
    (
        $(#[$meta:meta])*
        pub enum $name:ident refused as $accepted:literal {
            $($(#[$variant_meta:meta])* $variant:ident = $value:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize)]
        #[serde(try_from = "i32")]
        #[repr(i32)]
        pub enum $name {
            $($(#[$variant_meta])* $variant = $value),+
        }

        impl TryFrom<i32> for $name {
            type Error = &'static str;

            fn try_from(value: i32) -> Result<Self, Self::Error> {
                match value {
                    $($value => Ok($name::$variant),)+
                    _ => Err($accepted),
                }
            }
        }

        impl $name {
            /// The integer on the wire and in storage.
            pub fn code(self) -> i32 {
                self as i32
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "integer",
                    "enum": [$($value),+],
                    "description": $accepted,
                })
            }
        }
    };
}

integer_kind! {
    /// `sessionType`: who may see and join a session.
    pub enum SessionKind refused as "must be 0 (Public), 1 (Private) or 2 (OpenSlot)" {
        /// Whoever sees its event (every signed-in user when standalone) sees and joins it.
        Public = 0,
        /// Only the owner, invitees, participants and the source's admins see it; only
        /// invitees join.
        Private = 1,
        /// Like Public, with one seat besides the owner.
        OpenSlot = 2,
    }
}

integer_kind! {
    /// An invitation's `role`.
    pub enum InvitationRole refused as "must be 0 (Attendee), 1 (Presenter) or 2 (Panelist)" {
        Attendee = 0,
        Presenter = 1,
        Panelist = 2,
    }
}

integer_kind! {
    /// An invitation's `status`, derived from joining and declining.
    pub enum InvitationStatus refused as "must be 0 (pending), 1 (accepted) or 2 (declined)" {
        Pending = 0,
        Accepted = 1,
        Declined = 2,
    }
}

integer_kind! {
    /// An event's `status`.
    pub enum EventStatus refused as "must be 0 (draft) or 1 (published)" {
        /// Seen only by its creator and the source's admins.
        Draft = 0,
        /// Seen by the source's members.
        Published = 1,
    }
}

/// An invitation without a role is an Attendee's.
#[allow(clippy::derivable_impls)] // the derive list is the macro's, shared by every kind
impl Default for InvitationRole {
    fn default() -> Self {
        InvitationRole::Attendee
    }
}

/// A membership's role in a network or community. Ordered: an admin is also a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MembershipRole {
    Member,
    Admin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_travel_as_their_integers() {
        assert_eq!(serde_json::to_string(&SessionKind::OpenSlot).unwrap(), "2");
        let role: InvitationRole = serde_json::from_str("1").unwrap();
        assert_eq!(role, InvitationRole::Presenter);
        assert_eq!(EventStatus::Published.code(), 1);
    }

    #[test]
    fn values_out_of_range_name_the_accepted_ones() {
        let error = serde_json::from_str::<SessionKind>("3").unwrap_err();
        assert_eq!(
            error.to_string(),
            "must be 0 (Public), 1 (Private) or 2 (OpenSlot)"
        );
        assert!(serde_json::from_str::<InvitationRole>("-1").is_err());
        assert!(serde_json::from_str::<InvitationRole>("\"1\"").is_err());
    }
}
