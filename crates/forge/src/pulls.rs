//! Pull requests: the open ones of a repository, one by number, and closing one.

use serde::Serialize;

use crate::retry::Idempotency;
use crate::{Client, Error, PullRequest, RepoRef};

/// `EditPullRequestOption` with only the state set.
#[derive(Serialize)]
struct StateOption {
    state: &'static str,
}

impl Client {
    /// Every open pull request. `state=open` is always sent: on Gitea an absent `state` means all.
    pub async fn list_open_pulls(&self, repo: &RepoRef) -> Result<Vec<PullRequest>, Error> {
        self.all_pages(
            "list open pull requests",
            &["repos", &repo.owner, &repo.name, "pulls"],
            &[("state", "open".into())],
        )
        .await
    }

    /// One pull request; `head.sha` is the commit to test (re-read it right before a run).
    pub async fn get_pull(&self, repo: &RepoRef, number: u64) -> Result<PullRequest, Error> {
        const CALL: &str = "get pull request";
        let url = self.url(&["repos", &repo.owner, &repo.name, "pulls", &number.to_string()]);
        let response = self.send(CALL, Idempotency::Safe, &[200], |http| http.get(url.clone())).await?;
        Client::json(CALL, response).await
    }

    /// Closes pull request `number` (`PATCH …/pulls/{n}` with `state: closed`; Gitea answers 201).
    /// Retried like any idempotent call: closing a closed pull request changes nothing.
    pub async fn close_pull(&self, repo: &RepoRef, number: u64) -> Result<PullRequest, Error> {
        const CALL: &str = "close pull request";
        let url = self.url(&["repos", &repo.owner, &repo.name, "pulls", &number.to_string()]);
        let response = self
            .send(CALL, Idempotency::Safe, &[200, 201], |http| {
                http.patch(url.clone()).json(&StateOption { state: "closed" })
            })
            .await?;
        Client::json(CALL, response).await
    }
}
