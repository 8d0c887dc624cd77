//! The callbacks' metrics: deliveries by outcome, retries, how far each held subscription's
//! receiver is behind the log, and how many held subscriptions are failing.

const DELIVERIES: &str = "modelreg_callback_deliveries_total";
const RETRIES: &str = "modelreg_callback_retries_total";
const LAG: &str = "modelreg_callback_lag_events";
const FAILING: &str = "modelreg_callback_failing_subscriptions";

pub(super) fn describe() {
    metrics::describe_counter!(
        DELIVERIES,
        "Notifications POSTed to subscribers, by outcome (ok, http_error, timeout, refused, \
         unreachable)"
    );
    metrics::describe_counter!(RETRIES, "Notifications sent again after a failed attempt");
    metrics::describe_gauge!(
        LAG,
        "Events of the log after the last one a subscription's receiver acknowledged, for the \
         subscriptions this replica delivers, by subscription id"
    );
    metrics::describe_gauge!(
        FAILING,
        "Subscriptions this replica delivers whose deliveries have failed for longer than \
         --callback-failing-after"
    );
}

/// One attempt to POST a notification ended with `outcome`.
pub(crate) fn callback_delivery(outcome: &'static str, retry: bool) {
    metrics::counter!(DELIVERIES, "outcome" => outcome).increment(1);
    if retry {
        metrics::counter!(RETRIES).increment(1);
    }
}

/// How far the receiver of `subscription` is behind the log (`None`: this replica stopped
/// delivering it, shown as 0).
pub(crate) fn callback_lag(subscription: String, lag: Option<i64>) {
    match lag {
        Some(lag) => metrics::gauge!(LAG, "subscription" => subscription).set(lag as f64),
        None => metrics::gauge!(LAG, "subscription" => subscription).set(0.0),
    }
}

/// A held subscription became failing (`true`) or recovered or was let go (`false`).
pub(crate) fn callback_failing(failing: bool) {
    if failing {
        metrics::gauge!(FAILING).increment(1.0);
    } else {
        metrics::gauge!(FAILING).decrement(1.0);
    }
}
