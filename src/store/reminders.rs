//! Reminders as stored: each user's lead time (`reminderSettings`, one document per user
//! who chose one), the reminders sent (`reminderClaims`, one document per user and
//! occurrence: what makes a reminder go out once however many processes look), and the
//! scan of upcoming sessions (`reminderScan`, one document: which process scans, and up to
//! when it has).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::{IndexOptions, ReturnDocument};
use serde::{Deserialize, Serialize};

use super::{Store, StoreResult};
use crate::domain::reminder::ReminderSetting;
use crate::domain::time::Timestamp;

pub const SETTINGS: &str = "reminderSettings";
pub const CLAIMS: &str = "reminderClaims";
pub const SCAN: &str = "reminderScan";

/// How long a claim is kept after the start it reminded of: past its start an occurrence
/// is never reminded of again, so the claim only needs to outlive it.
const CLAIM_KEPT_AFTER_START: Duration = Duration::from_secs(24 * 3600);

/// The one document of the scan.
const SCAN_ID: &str = "upcoming";

#[derive(Debug, Serialize, Deserialize)]
struct SettingDocument {
    #[serde(rename = "_id")]
    user_id: String,
    /// `null`: reminders off.
    minutes: Option<i32>,
}

impl SettingDocument {
    fn setting(&self) -> ReminderSetting {
        let minutes = self
            .minutes
            .map(|minutes| u16::try_from(minutes).unwrap_or(u16::MAX));
        // A value outside the range (written by hand) reminds at the longest lead time.
        ReminderSetting::new(minutes).unwrap_or_else(|_| {
            ReminderSetting::new(Some(crate::domain::reminder::MAX_LEAD_MINUTES))
                .unwrap_or_default()
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimDocument {
    #[serde(rename = "_id")]
    key: String,
    /// When the claim may go: a day after the start it reminds of.
    expires: bson::DateTime,
    /// When it was claimed.
    at: bson::DateTime,
    /// Whether its push was written.
    sent: bool,
}

/// What is known of a reminder claimed before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Its push was written.
    Sent,
    /// Claimed at this time, its push not known to be written: being sent, or its sender
    /// stopped before it was.
    Pending(Timestamp),
}

/// A reminder to claim: its key, and the start it reminds of.
#[derive(Debug, Clone)]
pub struct ReminderClaim {
    pub key: String,
    pub start: Timestamp,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScanDocument {
    #[serde(rename = "_id")]
    id: String,
    holder: String,
    until: bson::DateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    through: Option<bson::DateTime>,
}

pub(super) fn settings_indexes() -> Vec<IndexModel> {
    vec![IndexModel::builder().keys(doc! { "minutes": 1 }).build()]
}

pub(super) fn claim_indexes() -> Vec<IndexModel> {
    vec![
        IndexModel::builder()
            .keys(doc! { "expires": 1 })
            .options(IndexOptions::builder().expire_after(Duration::ZERO).build())
            .build(),
    ]
}

impl Store {
    fn reminder_settings(&self) -> mongodb::Collection<SettingDocument> {
        self.database().collection(SETTINGS)
    }

    fn reminder_claims(&self) -> mongodb::Collection<ClaimDocument> {
        self.database().collection(CLAIMS)
    }

    fn reminder_scan(&self) -> mongodb::Collection<ScanDocument> {
        self.database().collection(SCAN)
    }

    /// `user_id`'s lead time (the default when they never chose one).
    pub async fn reminder_setting(&self, user_id: &str) -> StoreResult<ReminderSetting> {
        let found = self
            .read(self.reminder_settings().find_one(doc! { "_id": user_id }))
            .await?;
        Ok(found.map(|document| document.setting()).unwrap_or_default())
    }

    /// Keeps `user_id`'s lead time.
    pub async fn set_reminder_setting(
        &self,
        user_id: &str,
        setting: ReminderSetting,
    ) -> StoreResult<()> {
        let minutes = setting
            .minutes()
            .map_or(bson::Bson::Null, |minutes| i32::from(minutes).into());
        self.write(
            self.reminder_settings()
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$set": { "minutes": minutes } },
                )
                .upsert(true),
        )
        .await?;
        Ok(())
    }

    /// The lead times of those of `users` who chose one (the others have the default).
    pub async fn reminder_settings_of(
        &self,
        users: &[String],
    ) -> StoreResult<HashMap<String, ReminderSetting>> {
        if users.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self
            .read_all(
                self.reminder_settings()
                    .find(doc! { "_id": { "$in": users } }),
            )
            .await?;
        Ok(found
            .into_iter()
            .map(|document| {
                let setting = document.setting();
                (document.user_id, setting)
            })
            .collect())
    }

    /// Every lead time someone chose, besides the default.
    pub async fn chosen_lead_minutes(&self) -> StoreResult<Vec<u16>> {
        let values = self
            .read(
                self.reminder_settings()
                    .distinct("minutes", doc! { "minutes": { "$ne": null } }),
            )
            .await?;
        let mut minutes: Vec<u16> = values
            .iter()
            .filter_map(|value| match value {
                bson::Bson::Int32(minutes) => u16::try_from(*minutes).ok(),
                bson::Bson::Int64(minutes) => u16::try_from(*minutes).ok(),
                _ => None,
            })
            .filter(|minutes| ReminderSetting::new(Some(*minutes)).is_ok())
            .collect();
        minutes.sort_unstable();
        minutes.dedup();
        Ok(minutes)
    }

    /// What is known of those of the reminders `keys` that were claimed.
    pub async fn reminder_claims_of(&self, keys: &[String]) -> StoreResult<HashMap<String, Claim>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let found = self
            .read_all(self.reminder_claims().find(doc! { "_id": { "$in": keys } }))
            .await?;
        Ok(found
            .into_iter()
            .map(|claim| {
                let state = if claim.sent {
                    Claim::Sent
                } else {
                    Claim::Pending(claim.at.into())
                };
                (claim.key, state)
            })
            .collect())
    }

    /// Claims the reminders `claims` at `now`, before their pushes are written: answers
    /// the keys this call claimed (not those another sender claimed first).
    pub async fn claim_reminders(
        &self,
        claims: &[ReminderClaim],
        now: Timestamp,
    ) -> StoreResult<HashSet<String>> {
        if claims.is_empty() {
            return Ok(HashSet::new());
        }
        let kept = i64::try_from(CLAIM_KEPT_AFTER_START.as_secs()).unwrap_or(i64::MAX);
        let documents = claims.iter().map(|claim| ClaimDocument {
            key: claim.key.clone(),
            expires: bson::DateTime::from(claim.start.plus_seconds(kept)),
            at: now.into(),
            sent: false,
        });
        let mut claimed: HashSet<String> = claims.iter().map(|claim| claim.key.clone()).collect();
        match self
            .insert_or_duplicate(self.reminder_claims().insert_many(documents).ordered(false))
            .await
        {
            Ok(_) => {}
            Err(error) => match error.duplicate_positions() {
                Some(positions) => {
                    for position in positions {
                        if let Some(claim) = claims.get(position) {
                            claimed.remove(&claim.key);
                        }
                    }
                }
                None => return Err(error),
            },
        }
        Ok(claimed)
    }

    /// Notes that the pushes of the reminders `keys` were written.
    pub async fn mark_reminders_sent(&self, keys: &[String]) -> StoreResult<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.write(self.reminder_claims().update_many(
            doc! { "_id": { "$in": keys } },
            doc! { "$set": { "sent": true } },
        ))
        .await?;
        Ok(())
    }

    /// Takes (or keeps) the scan of upcoming sessions for `holder` until `until`, when no
    /// other process holds it past `now`: answers up to when the last holder scanned
    /// (`Some(None)`: nobody ever did), `None` when another process holds it.
    pub async fn take_reminder_scan(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Option<Option<Timestamp>>> {
        let taken = self
            .insert_or_duplicate(
                self.reminder_scan()
                    .find_one_and_update(
                        doc! { "_id": SCAN_ID, "$or": [
                            { "holder": holder },
                            { "until": { "$lte": bson::DateTime::from(now) } },
                        ] },
                        doc! { "$set": { "holder": holder, "until": bson::DateTime::from(until) } },
                    )
                    .upsert(true)
                    .return_document(ReturnDocument::After),
            )
            .await;
        match taken {
            Ok(scan) => Ok(Some(
                scan.and_then(|scan| scan.through).map(Timestamp::from),
            )),
            // Another holder's document did not match, and the upsert met it.
            Err(error) if error.is_duplicate_key() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Notes that `holder` scanned up to `through`, while it holds the scan.
    pub async fn advance_reminder_scan(&self, holder: &str, through: Timestamp) -> StoreResult<()> {
        self.write(self.reminder_scan().update_one(
            doc! { "_id": SCAN_ID, "holder": holder },
            doc! { "$set": { "through": bson::DateTime::from(through) } },
        ))
        .await?;
        Ok(())
    }
}
