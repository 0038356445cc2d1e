//! `social:getReminder` (extension): the caller's lead time for reminders, in minutes
//! before a start (10 until `social:setReminder` changes it); `null` when they switched
//! reminders off.

use crate::api::prelude::*;

/// The endpoint.
pub struct GetReminder;

impl Endpoint for GetReminder {
    const NAME: &'static str = "social:getReminder";
    const CHANGES_DATA: bool = false;
    type Request = calendar_feed::NoFields;
    type Response = ReminderMinutes;

    fn example() -> Example {
        Example {
            request: json!({}),
            answer: json!({ "minutes": 10 }),
        }
    }

    async fn handle(
        context: RequestContext,
        _request: calendar_feed::NoFields,
    ) -> Result<ReminderMinutes, ApiError> {
        let setting = context
            .store()
            .reminder_setting(context.me().as_str())
            .await?;
        Ok(ReminderMinutes {
            minutes: setting.minutes(),
        })
    }
}

inventory::submit! { Registration::of::<GetReminder>().described_by(include_str!("get_reminder.rs")) }
