//! Comments: the repo-wide listing since a high-water mark (the poller's one request per repo),
//! posting a comment and editing one.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::retry::Idempotency;
use crate::{Client, Comment, Error, RepoRef};

#[derive(Serialize)]
struct CommentBody<'a> {
    body: &'a str,
}

impl Client {
    /// Every comment on issues and pull requests of `repo` whose `updated_at` is at or after
    /// `since` (all comments when `None`), oldest first, each id once.
    ///
    /// The forge compares `since` with `updated_at`, inclusively, at one-second resolution: an
    /// edited comment comes back, and so do comments at exactly the mark. Dedupe on id (and decide
    /// what an edit means) in the caller; persist [`crate::high_water_mark`] as the next `since`.
    pub async fn repo_comments_since(
        &self,
        repo: &RepoRef,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Comment>, Error> {
        let mut query = Vec::new();
        if let Some(since) = since {
            query.push(("since", since.to_rfc3339_opts(SecondsFormat::Secs, true)));
        }
        let comments: Vec<Comment> = self
            .all_pages("list repository comments", &["repos", &repo.owner, &repo.name, "issues", "comments"], &query)
            .await?;
        let mut seen = HashSet::new();
        Ok(comments.into_iter().filter(|c| seen.insert(c.id)).collect())
    }

    /// Posts a comment on issue or pull request `number`.
    ///
    /// Not retried once the forge may have acted (see the retry policy): a duplicate comment is
    /// worse than a missing one the caller can post again.
    pub async fn post_comment(&self, repo: &RepoRef, number: u64, body: &str) -> Result<Comment, Error> {
        const CALL: &str = "post comment";
        let url = self.url(&["repos", &repo.owner, &repo.name, "issues", &number.to_string(), "comments"]);
        let response = self
            .send(CALL, Idempotency::Unsafe, &[201], |http| http.post(url.clone()).json(&CommentBody { body }))
            .await?;
        Client::json(CALL, response).await
    }

    /// Replaces the body of comment `id`. The forge answers 204 without a body for comment kinds
    /// that have no content; that is `Ok(None)`.
    pub async fn edit_comment(&self, repo: &RepoRef, id: u64, body: &str) -> Result<Option<Comment>, Error> {
        const CALL: &str = "edit comment";
        let url = self.url(&["repos", &repo.owner, &repo.name, "issues", "comments", &id.to_string()]);
        let response = self
            .send(CALL, Idempotency::Safe, &[200, 204], |http| http.patch(url.clone()).json(&CommentBody { body }))
            .await?;
        if response.status().as_u16() == 204 {
            return Ok(None);
        }
        Client::json(CALL, response).await.map(Some)
    }
}
