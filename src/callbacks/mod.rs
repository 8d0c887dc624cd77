//! Callbacks: the front-end that tells subscribers of model changes by HTTP POST (R1GAP
//! §5.6.5 model change subscriptions). It reads the event log through the core, as a watch
//! stream does, so a notification never reports a change that was rolled back nor misses one
//! that committed.
//!
//! Exactly one replica delivers each subscription: every replica claims the subscriptions
//! whose lease is free or ran out, and renews its own every third of --callback-lease; a
//! deliverer records every acknowledgement only while its replica holds the lease, and stops
//! when it does not. A replica that dies leaves its leases to run out, so another replica
//! continues from the last acknowledged sequence within about --callback-lease; one that stops
//! normally gives them up at once. Deliveries are at least once (an acknowledgement not yet
//! recorded is sent again), in sequence order, with the sequence as the idempotency key
//! (`webhook-id`).

mod deliverer;
mod notification;
mod sender;

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::config::CallbacksConfig;
use crate::domain::{AddressPolicy, SubscriptionId};
use crate::registry::{Registry, SubscriptionSettings};
use crate::tasks::CancellationToken;
use deliverer::Deliverer;
use sender::Sender;

/// After a failed claim, the next try comes this much later.
const RETRY_CLAIM: Duration = Duration::from_secs(1);

/// What `config` sets for subscriptions: where notifications may go, when one is failing.
pub(crate) fn subscription_settings(config: &CallbacksConfig) -> SubscriptionSettings {
    SubscriptionSettings {
        policy: AddressPolicy::allowing(config.callback_allow.clone()),
        failing_after: config.callback_failing_after,
        created: Default::default(),
    }
}

/// Claims, renews and delivers subscriptions until `stop`, then gives the leases up.
pub(crate) async fn deliver_continuously(
    registry: Registry,
    config: CallbacksConfig,
    stop: CancellationToken,
) {
    let sender = match Sender::new(
        AddressPolicy::allowing(config.callback_allow.clone()),
        config.callback_timeout,
    ) {
        Ok(sender) => sender,
        Err(err) => {
            tracing::error!(error = %err, "callbacks cannot start: no HTTP client");
            return;
        }
    };
    // A replica's holder name: unique, so that a restarted replica is another holder; the
    // process id first, for people reading the table.
    let holder = format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple());
    // Until when this replica's leases last, as its last successful round set them.
    let (lease_until, lease) =
        tokio::sync::watch::channel(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let deliverer = std::sync::Arc::new(Deliverer {
        registry: registry.clone(),
        sender,
        holder: holder.clone(),
        lease,
        retry_max: config.callback_retry_max,
        failing_after: config.callback_failing_after,
    });
    let renew_every = config.callback_lease / 3;
    let tasks = TaskTracker::new();
    let mut running: HashMap<SubscriptionId, CancellationToken> = HashMap::new();
    // The first round comes a renewal later (or at the first subscription made here): the
    // leases of a replica that died are not free sooner anyway, and a server's first
    // statements are its callers'.
    tokio::select! {
        () = stop.cancelled() => return,
        () = tokio::time::sleep(renew_every) => {}
        () = registry.subscription_created() => {}
    }
    loop {
        let until = chrono::Utc::now()
            + chrono::Duration::from_std(config.callback_lease).unwrap_or(chrono::Duration::MAX);
        let pause = match registry.claim_subscriptions(&holder, until).await {
            Ok(held) => {
                lease_until.send_replace(until);
                let ids: Vec<SubscriptionId> =
                    held.iter().map(|held| held.subscription.id).collect();
                // Deliverers of subscriptions no longer held (deleted, taken) stop.
                running.retain(|id, token| {
                    let keep = ids.contains(id) && !token.is_cancelled();
                    if !keep {
                        token.cancel();
                    }
                    keep
                });
                for held in held {
                    let id = held.subscription.id;
                    if running.contains_key(&id) {
                        continue;
                    }
                    let token = stop.child_token();
                    running.insert(id, token.clone());
                    let deliverer = deliverer.clone();
                    tasks.spawn(async move {
                        deliverer.run(held, token.clone()).await;
                        // A deliverer that stopped by itself (lease lost) is started again
                        // if this replica claims the subscription again.
                        token.cancel();
                    });
                }
                renew_every
            }
            Err(err) => {
                tracing::warn!(error = %err, "claiming subscriptions failed");
                RETRY_CLAIM
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(pause) => {}
            () = registry.subscription_created() => {}
        }
    }
    tasks.close();
    tasks.wait().await;
    if let Err(err) = registry.release_subscriptions(&holder).await {
        tracing::warn!(error = %err, "giving the subscriptions' leases up failed");
    }
}
