//! Secrets shared by every replica of the database, made once by the first that needs one.

use sea_orm::{ActiveValue::Set, DbErr, EntityTrait};

use super::Store;
use super::entity::server_secret;
use crate::domain::Result;
use crate::domain::page_token::PageTokenKey;

const PAGE_TOKEN_KEY: &str = "page-token-key";

impl Store {
    /// The key that seals page tokens. The first replica to start on the database makes it;
    /// replicas that start together may each try, and all of them read the one that was
    /// stored first.
    pub(crate) async fn page_token_key(&self) -> Result<PageTokenKey> {
        if let Some(key) = self.read_page_token_key().await? {
            return Ok(key);
        }
        let made = server_secret::ActiveModel {
            name: Set(PAGE_TOKEN_KEY.to_owned()),
            secret: Set(PageTokenKey::generate().to_hex()),
        };
        // A conflict means another replica stored its key first: that one is read below. Any
        // other failure shows there too, as the read fails or finds nothing.
        let inserted = server_secret::Entity::insert(made)
            .exec_without_returning(&self.writer)
            .await;
        match self.read_page_token_key().await? {
            Some(key) => Ok(key),
            None => Err(inserted
                .err()
                .unwrap_or_else(|| DbErr::RecordNotFound("the page-token key".into()))
                .into()),
        }
    }

    async fn read_page_token_key(&self) -> Result<Option<PageTokenKey>> {
        let Some(row) = server_secret::Entity::find_by_id(PAGE_TOKEN_KEY)
            .one(&self.writer)
            .await?
        else {
            return Ok(None);
        };
        PageTokenKey::from_hex(&row.secret)
            .map(Some)
            .ok_or_else(|| {
                DbErr::Custom("the stored page-token key is not 64 hex digits".into()).into()
            })
    }
}
