//! Aliases: mutable names for one version of a model name (`qoe-predictor@production`), and
//! reading a registration by any of the ways a request can name it.

use super::Registry;
use crate::domain::{
    Action, Actor, Alias, Caller, Error, EventType, ModelName, ModelRef, ModelVersion, NewEvent,
    Registration, Result, clock,
};
use crate::store::AliasSet;

impl Registry {
    /// Points `alias` of `name` at `version` (creating or moving it), recording ALIAS_SET with
    /// the version it named before, and returns the registration it names now. Setting it
    /// where it is already changes nothing and records nothing. An alias is not part of the
    /// registration: its etag stays.
    pub(crate) async fn set_alias(
        &self,
        caller: &Caller,
        name: ModelName,
        alias: Alias,
        version: ModelVersion,
    ) -> Result<Registration> {
        caller.require(Action::Write)?;
        caller.require_in_scope(name.as_str())?;
        let (registry, caller) = (self.clone(), caller.clone());
        super::detached(async move {
            let actor = Actor::of(&caller, None);
            match registry
                .store
                .set_alias(&name, &alias, &version, &actor, |after, change| {
                    NewEvent::of(EventType::AliasSet, clock::now(), after, Some(change))
                })
                .await?
            {
                AliasSet::Moved(registration) | AliasSet::Unchanged(registration) => {
                    Ok(registration)
                }
                AliasSet::NoSuchModel => Err(Error::ModelNotFound {
                    name: name.to_string(),
                    version: version.to_string(),
                }),
            }
        })
        .await
    }

    /// Removes `alias` of `name`, recording ALIAS_DELETED.
    pub(crate) async fn delete_alias(
        &self,
        caller: &Caller,
        name: ModelName,
        alias: Alias,
    ) -> Result<()> {
        caller.require(Action::Write)?;
        caller.require_in_scope(name.as_str())?;
        let (store, caller) = (self.store.clone(), caller.clone());
        super::detached(async move {
            let actor = Actor::of(&caller, None);
            let record = |named: &Registration, change| {
                NewEvent::of(EventType::AliasDeleted, clock::now(), named, Some(change))
            };
            match store.delete_alias(&name, &alias, &actor, record).await? {
                Some(_) => Ok(()),
                None => Err(Error::AliasNotFound {
                    name: name.to_string(),
                    alias: alias.to_string(),
                }),
            }
        })
        .await
    }

    /// A registration named by id, by name and version, or by name and alias.
    pub(crate) async fn get_by(&self, caller: &Caller, model: ModelRef) -> Result<Registration> {
        caller.require(Action::Read)?;
        let found = match self.cache.get(&self.store, &model).await? {
            Some(answer) => answer,
            None => self.store.find(&model).await?,
        };
        found
            .filter(|found| caller.sees(found.spec.name.as_str()))
            .ok_or_else(|| self.not_found_error(&model))
    }
}
