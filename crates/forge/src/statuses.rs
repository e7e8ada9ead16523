//! Commit statuses: the pending/success/failure/error mark on the tested commit.

use crate::retry::Idempotency;
use crate::{Client, CommitStatus, Error, NewStatus, RepoRef};

impl Client {
    /// Creates a commit status on `sha`. Statuses are append-only; the newest per context wins, so
    /// a retried duplicate is harmless.
    pub async fn create_status(&self, repo: &RepoRef, sha: &str, status: &NewStatus) -> Result<CommitStatus, Error> {
        const CALL: &str = "create commit status";
        let url = self.url(&["repos", &repo.owner, &repo.name, "statuses", sha]);
        let response = self.send(CALL, Idempotency::Safe, &[201], |http| http.post(url.clone()).json(status)).await?;
        Client::json(CALL, response).await
    }
}
