//! Model change subscriptions: create, read, list and delete them (a consumer its own, an admin
//! everyone's), and what their deliverers need (`callbacks`): the leases, the log, and the
//! record of how far each receiver acknowledged.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::Registry;
use crate::config::CallbacksConfig;
use crate::domain::page_token::{open_for, seal_for};
use crate::domain::{
    Action, AddressPolicy, Caller, Delivery, Error, Event, NewSubscription, Result, Role,
    SigningSecret, Subscription, SubscriptionId, SubscriptionStart, clock,
};
use crate::store::Owners;

/// What the page-token key seals a signing secret for (a sealed secret opens as nothing else).
const SECRET_PURPOSE: &[u8] = b"modelreg subscription secret v1";

/// How subscriptions are checked and shown (`--callback-*`).
#[derive(Clone, Debug)]
pub(crate) struct SubscriptionSettings {
    /// Where notifications may go.
    pub(crate) policy: AddressPolicy,
    /// Deliveries failing for this long make a subscription FAILING.
    pub(crate) failing_after: Duration,
    /// Told of every subscription created here: this replica claims it at once.
    pub(crate) created: Arc<Notify>,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        Self {
            policy: AddressPolicy::default(),
            failing_after: CallbacksConfig::default().callback_failing_after,
            created: Arc::default(),
        }
    }
}

/// A subscription and how far its receiver is behind the log.
#[derive(Clone, Debug)]
pub(crate) struct SubscriptionStatus {
    pub(crate) subscription: Subscription,
    /// Events of the log after the acknowledged sequence, matching or not.
    pub(crate) lag_events: i64,
    /// Deliveries have failed for longer than `failing_after`.
    pub(crate) failing: bool,
}

/// A subscription its deliverer holds, with its signing secret.
pub(crate) struct Held {
    pub(crate) subscription: Subscription,
    pub(crate) secret: SigningSecret,
}

impl Registry {
    /// Creates a subscription on behalf of `caller`, told of what `caller` may see now;
    /// returns it with its signing secret, which is never shown again.
    pub(crate) async fn create_subscription(
        &self,
        caller: &Caller,
        new: NewSubscription,
    ) -> Result<(SubscriptionStatus, SigningSecret)> {
        caller.require(Action::Read)?;
        check_destination(&new.destination, &self.subscriptions.policy)?;
        self.store.number_events().await?;
        let position = self.store.log_position().await?;
        let acknowledged = match new.start {
            SubscriptionStart::Now => position.last,
            SubscriptionStart::After(start) if start < position.pruned_through => {
                return Err(Error::SequenceExpired {
                    start,
                    pruned_through: position.pruned_through,
                });
            }
            SubscriptionStart::After(start) if start > position.last => {
                return Err(Error::SequenceAhead {
                    start,
                    last: position.last,
                });
            }
            SubscriptionStart::After(start) => start,
        };
        let secret = new.secret.unwrap_or_else(SigningSecret::generate);
        let subscription = Subscription {
            id: SubscriptionId::generate(),
            destination: new.destination,
            filter: new.filter,
            description: new.description,
            owner: caller.principal.to_string(),
            scope: caller.scope.clone(),
            max_batch: new.max_batch,
            create_time: clock::now(),
            delivery: Delivery {
                acknowledged,
                ..Delivery::default()
            },
        };
        let sealed = seal_for(
            &self.page_token_key,
            SECRET_PURPOSE,
            &hex::encode(secret.bytes()),
        );
        self.store
            .insert_subscription(&subscription, sealed)
            .await?;
        self.subscriptions.created.notify_one();
        let status = SubscriptionStatus {
            lag_events: position.last - acknowledged,
            failing: false,
            subscription,
        };
        Ok((status, secret))
    }

    pub(crate) async fn get_subscription(
        &self,
        caller: &Caller,
        id: Option<SubscriptionId>,
        asked: &str,
    ) -> Result<SubscriptionStatus> {
        caller.require(Action::Read)?;
        let not_found = || Error::SubscriptionNotFound {
            id: asked.to_owned(),
        };
        let id = id.ok_or_else(not_found)?;
        let subscription = self
            .store
            .subscription(id, &owners(caller))
            .await?
            .ok_or_else(not_found)?;
        let last = self.store.log_position().await?.last;
        Ok(self.status(subscription, last))
    }

    /// The caller's subscriptions (an admin's: everyone's), oldest first.
    pub(crate) async fn list_subscriptions(
        &self,
        caller: &Caller,
    ) -> Result<Vec<SubscriptionStatus>> {
        caller.require(Action::Read)?;
        let subscriptions = self.store.subscriptions(&owners(caller)).await?;
        let last = self.store.log_position().await?.last;
        Ok(subscriptions
            .into_iter()
            .map(|subscription| self.status(subscription, last))
            .collect())
    }

    pub(crate) async fn delete_subscription(
        &self,
        caller: &Caller,
        id: Option<SubscriptionId>,
        asked: &str,
    ) -> Result<()> {
        caller.require(Action::Read)?;
        let deleted = match id {
            Some(id) => self.store.delete_subscription(id, &owners(caller)).await?,
            None => false,
        };
        if deleted {
            Ok(())
        } else {
            Err(Error::SubscriptionNotFound {
                id: asked.to_owned(),
            })
        }
    }

    fn status(&self, subscription: Subscription, last: i64) -> SubscriptionStatus {
        let failing = subscription.delivery.failing_since.is_some_and(|since| {
            (clock::now() - since)
                .to_std()
                .is_ok_and(|failed_for| failed_for >= self.subscriptions.failing_after)
        });
        SubscriptionStatus {
            lag_events: (last - subscription.delivery.acknowledged).max(0),
            failing,
            subscription,
        }
    }

    /// Completes when a subscription was created on this replica since the last call.
    pub(crate) async fn subscription_created(&self) {
        self.subscriptions.created.notified().await;
    }

    /// Takes (or keeps) the lease of every subscription no other replica holds, until `until`.
    pub(crate) async fn claim_subscriptions(
        &self,
        holder: &str,
        until: DateTime<Utc>,
    ) -> Result<Vec<Held>> {
        let claimed = self
            .store
            .claim_subscriptions(holder, clock::now(), until)
            .await?;
        claimed
            .into_iter()
            .map(|(subscription, sealed)| {
                let hex: String = open_for(&self.page_token_key, SECRET_PURPOSE, &sealed)
                    .ok_or_else(|| {
                        Error::Internal(
                            format!(
                                "the signing secret of subscription {} does not open with \
                                 this database's key",
                                subscription.id
                            )
                            .into(),
                        )
                    })?;
                let bytes = hex::decode(hex).map_err(|err| Error::Internal(err.into()))?;
                Ok(Held {
                    subscription,
                    secret: SigningSecret::from_bytes(bytes),
                })
            })
            .collect()
    }

    /// Gives this replica's leases up, so that another replica delivers at once.
    pub(crate) async fn release_subscriptions(&self, holder: &str) -> Result<()> {
        self.store.release_subscriptions(holder).await
    }

    /// Records how the deliveries of `id` stand; `false` when `holder` no longer holds its
    /// lease (or it was deleted): the deliverer stops.
    pub(crate) async fn record_delivery(
        &self,
        id: SubscriptionId,
        holder: &str,
        delivery: &Delivery,
    ) -> Result<bool> {
        self.store
            .record_delivery(id, holder, clock::now(), delivery)
            .await
    }

    /// Up to `limit` events after `after`, oldest first, and the first sequence the log still
    /// holds: events before it that were never read are lost.
    pub(crate) async fn events_for_delivery(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<(Vec<Event>, i64)> {
        let position = self.store.log_position().await?;
        let events = self
            .store
            .events_after(after.max(position.pruned_through), limit)
            .await?;
        Ok((events, position.pruned_through))
    }
}

fn owners(caller: &Caller) -> Owners {
    if caller.role >= Role::Admin {
        Owners::Everyone
    } else {
        Owners::Only(caller.principal.to_string())
    }
}

/// A destination whose host is an address the policy refuses is refused at once; a name is
/// checked when it is resolved, before every delivery.
fn check_destination(destination: &url::Url, policy: &AddressPolicy) -> Result<()> {
    let refused = match destination.host() {
        Some(url::Host::Ipv4(ip)) => !policy.permits(ip.into()),
        Some(url::Host::Ipv6(ip)) => !policy.permits(ip.into()),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            (name == "localhost" || name.ends_with(".localhost"))
                && !policy.permits(std::net::Ipv4Addr::LOCALHOST.into())
        }
        None => true,
    };
    if refused {
        return Err(Error::invalid_request(
            "subscription.notification_destination",
            "names a loopback, private, link-local or metadata address; the server's \
             --callback-allow opens such ranges",
        ));
    }
    Ok(())
}
