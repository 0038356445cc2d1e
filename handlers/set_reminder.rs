//! `social:setReminder` (extension): the caller's lead time for reminders —
//! `social:sessionStarting`, pushed that many minutes (0 to 1440) before each occurrence
//! of every session they own, joined or are invited to and did not decline; `null`
//! switches reminders off. Until set, it is 10. Reminders the new lead time makes due
//! (sessions starting within it that have not begun) go out at once; invitation files
//! and the calendar feed carry it as their alarm. Answers the lead time now kept.

use crate::api::prelude::*;

/// The endpoint.
pub struct SetReminder;

impl Endpoint for SetReminder {
    const NAME: &'static str = "social:setReminder";
    const CHANGES_DATA: bool = true;
    type Request = SetReminderRequest;
    type Response = ReminderMinutes;

    fn example() -> Example {
        Example {
            request: json!({ "minutes": 15 }),
            answer: json!({ "minutes": 15 }),
        }
    }

    async fn handle(
        context: RequestContext,
        request: SetReminderRequest,
    ) -> Result<ReminderMinutes, ApiError> {
        let setting = ReminderSetting::new(request.minutes)
            .map_err(|message| ApiError::invalid(FieldPath::data().field("minutes"), message))?;
        let me = context.me().as_str();
        context.store().set_reminder_setting(me, setting).await?;
        // The lead time is kept: a failure here only delays what the scan then sends.
        if let Err(error) = context.state.reminders.user_set(me, setting).await {
            tracing::warn!(%error, "cannot send the reminders a new lead time makes due");
        }
        Ok(ReminderMinutes {
            minutes: setting.minutes(),
        })
    }
}

inventory::submit! { Registration::of::<SetReminder>().described_by(include_str!("set_reminder.rs")) }
