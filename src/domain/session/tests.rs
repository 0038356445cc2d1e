//! Who sees and manages sessions, audiences, invitation status, and updates.

use super::fields::*;
use super::viewer::*;
use super::*;
use crate::domain::kinds::{EventStatus, MembershipRole};
use crate::domain::source::Source;

const OWNER: &str = "owner";
const ME: &str = "me";

/// How the viewer `ME` relates to the event's source.
#[derive(Debug, Clone, Copy)]
enum Standing {
    Stranger,
    Member,
    Admin,
}

/// How `ME` relates to the session itself.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    None,
    Invited,
    Declined,
    Joined,
}

fn event(published: bool) -> Event {
    let mut event = Event::draft(
        "e".into(),
        "creator",
        Source::parse("network:n").unwrap(),
        Timestamp::now(),
    );
    if published {
        event.status = EventStatus::Published;
    }
    event
}

fn session(kind: SessionKind, in_event: bool, part: Part) -> Session {
    let mut session = Session::new("s".into(), OWNER, None, Timestamp::now());
    if in_event {
        session.event_id = "e".into();
    }
    session.session_type = kind;
    if matches!(part, Part::Invited | Part::Declined) {
        session.invited.push(Invitation {
            user_id: ME.into(),
            role: InvitationRole::Attendee,
        });
    }
    if part == Part::Declined {
        session.declined.push(ME.into());
    }
    if part == Part::Joined {
        session.joined.push(ME.into());
    }
    session
}

fn viewer(standing: Standing, events: Vec<Event>) -> Viewer {
    let role = match standing {
        Standing::Stranger => None,
        Standing::Member => Some(MembershipRole::Member),
        Standing::Admin => Some(MembershipRole::Admin),
    };
    let memberships = role
        .into_iter()
        .map(|role| Membership {
            user_id: ME.into(),
            network_id: "n".into(),
            community_id: None,
            role,
        })
        .collect();
    Viewer::new(ME, events, memberships)
}

#[test]
fn owners_invitees_and_participants_always_see_a_session() {
    for kind in [
        SessionKind::Public,
        SessionKind::Private,
        SessionKind::OpenSlot,
    ] {
        for part in [Part::Invited, Part::Declined, Part::Joined] {
            for published in [true, false] {
                let viewer = viewer(Standing::Stranger, vec![event(published)]);
                assert!(
                    viewer.may_see(&session(kind, true, part)),
                    "{kind:?} {part:?} published={published}"
                );
                assert!(!viewer.may_manage(&session(kind, true, part)));
            }
        }
    }
    let mine = Viewer::new(OWNER, vec![event(false)], Vec::new());
    let owned = session(SessionKind::Private, true, Part::None);
    assert!(mine.may_see(&owned) && mine.may_manage(&owned));
}

#[test]
fn public_and_open_slot_sessions_follow_their_event() {
    let cases = [
        (Standing::Stranger, true, false),
        (Standing::Member, true, true),
        (Standing::Admin, true, true),
        (Standing::Stranger, false, false),
        (Standing::Member, false, false),
        (Standing::Admin, false, true),
    ];
    for kind in [SessionKind::Public, SessionKind::OpenSlot] {
        for (standing, published, sees) in cases {
            let viewer = viewer(standing, vec![event(published)]);
            assert_eq!(
                viewer.may_see(&session(kind, true, Part::None)),
                sees,
                "{kind:?} {standing:?} published={published}"
            );
        }
    }
}

#[test]
fn private_sessions_are_seen_by_the_sources_admins_only() {
    for (standing, sees) in [
        (Standing::Stranger, false),
        (Standing::Member, false),
        (Standing::Admin, true),
    ] {
        let viewer = viewer(standing, vec![event(true)]);
        let private = session(SessionKind::Private, true, Part::None);
        assert_eq!(viewer.may_see(&private), sees, "{standing:?}");
        assert_eq!(viewer.may_manage(&private), sees, "{standing:?}");
    }
}

#[test]
fn standalone_sessions_are_public_to_everyone_but_private_to_their_people() {
    let viewer = viewer(Standing::Stranger, Vec::new());
    assert!(viewer.may_see(&session(SessionKind::Public, false, Part::None)));
    assert!(viewer.may_see(&session(SessionKind::OpenSlot, false, Part::None)));
    assert!(!viewer.may_see(&session(SessionKind::Private, false, Part::None)));
    assert!(viewer.may_see(&session(SessionKind::Private, false, Part::Invited)));
    assert!(!viewer.may_manage(&session(SessionKind::Public, false, Part::None)));
}

#[test]
fn a_session_whose_event_is_gone_is_seen_by_nobody() {
    let viewer = viewer(Standing::Admin, Vec::new());
    assert!(!viewer.may_see(&session(SessionKind::Public, true, Part::Joined)));
}

#[test]
fn managing_needs_ownership_or_admin_rights_and_refusal_is_403() {
    let member = viewer(Standing::Member, vec![event(true)]);
    let public = session(SessionKind::Public, true, Part::Joined);
    assert_eq!(member.ensure_may_manage(&public).unwrap_err().code(), 403);
    let admin = viewer(Standing::Admin, vec![event(true)]);
    assert!(admin.ensure_may_manage(&public).is_ok());
}

#[test]
fn a_draft_event_blocks_joining_for_those_who_do_not_manage_it() {
    let public = session(SessionKind::Public, true, Part::Invited);
    assert!(viewer(Standing::Member, vec![event(false)]).event_is_unpublished_for_user(&public));
    assert!(!viewer(Standing::Admin, vec![event(false)]).event_is_unpublished_for_user(&public));
    assert!(!viewer(Standing::Member, vec![event(true)]).event_is_unpublished_for_user(&public));
}

#[test]
fn an_audience_gathers_where_each_membership_reaches() {
    let membership = |network: &str, community: Option<&str>, role| Membership {
        user_id: ME.into(),
        network_id: network.into(),
        community_id: community.map(str::to_owned),
        role,
    };
    let audience = Audience::of(
        ME,
        &[
            membership("n1", None, MembershipRole::Admin),
            membership("n2", None, MembershipRole::Member),
            membership("n2", Some("c1"), MembershipRole::Admin),
            membership("n3", Some("c2"), MembershipRole::Member),
        ],
    );
    assert_eq!(audience.admin_networks, ["n1"]);
    assert_eq!(audience.member_networks, ["n1", "n2"]);
    assert_eq!(
        audience.admin_communities,
        [("n2".to_owned(), "c1".to_owned())]
    );
    assert_eq!(
        audience.member_communities,
        [
            ("n2".to_owned(), "c1".to_owned()),
            ("n3".to_owned(), "c2".to_owned())
        ]
    );
}

#[test]
fn invitation_status_derives_from_joining_and_declining() {
    assert_eq!(
        session(SessionKind::Public, false, Part::Invited).invitation_status_of(ME),
        InvitationStatus::Pending
    );
    assert_eq!(
        session(SessionKind::Public, false, Part::Declined).invitation_status_of(ME),
        InvitationStatus::Declined
    );
    assert_eq!(
        session(SessionKind::Public, false, Part::Joined).invitation_status_of(ME),
        InvitationStatus::Accepted
    );
}

#[test]
fn an_update_carries_only_the_fields_sent_and_the_derived_end() {
    let fields: SessionFields =
        serde_json::from_value(serde_json::json!({"title": "T", "duration": 60})).unwrap();
    let mut merged = session(SessionKind::Public, false, Part::None);
    merged.room_id = "r".into();
    fields.apply_to(&mut merged, None).unwrap();
    let update = fields.update_of(&merged);
    assert_eq!(update.title.as_deref(), Some("T"));
    assert_eq!(update.end_date, Some(merged.start_date.plus_seconds(60)));
    assert_eq!((update.room_id, update.recurrence), (None, None));
}
