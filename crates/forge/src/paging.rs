//! Reading a paged listing to the end. The forge sends `X-Total-Count` on every listing but a
//! `Link` header only on some (not on repo-wide comments or tags), and clamps `limit` to its own
//! maximum; so we read pages until an empty page, until we hold `X-Total-Count` items, or — when
//! the total is missing — until a page shorter than the limit we asked for.

use serde::de::DeserializeOwned;

use crate::retry::Idempotency;
use crate::{Client, Error};

impl Client {
    /// Every item of a paged GET listing at `segments`, with `query` sent on every page.
    pub(crate) async fn all_pages<T: DeserializeOwned>(
        &self,
        call: &'static str,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<Vec<T>, Error> {
        let url = self.url(segments);
        let limit = self.config.page_limit.max(1);
        let mut items: Vec<T> = Vec::new();
        for page in 1..=self.config.max_pages {
            let response = self
                .send(call, Idempotency::Safe, &[200], |http| {
                    http.get(url.clone())
                        .query(query)
                        .query(&[("page", page.to_string()), ("limit", limit.to_string())])
                })
                .await?;
            let total = response
                .headers()
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<usize>().ok());
            let batch: Vec<T> = Client::json(call, response).await?;
            let got = batch.len();
            items.extend(batch);
            let done = match total {
                _ if got == 0 => true,
                Some(total) => items.len() >= total,
                None => got < limit as usize,
            };
            if done {
                return Ok(items);
            }
        }
        Err(Error::TooManyPages { call, pages: self.config.max_pages })
    }
}
