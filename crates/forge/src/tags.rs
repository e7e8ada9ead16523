//! Tags of a repository (the release versions of a recipe), all pages.

use crate::{Client, Error, RepoRef, Tag};

impl Client {
    /// Every tag of `repo`, in the forge's order (by tag date, not version: sort them yourself).
    pub async fn list_tags(&self, repo: &RepoRef) -> Result<Vec<Tag>, Error> {
        self.all_pages("list tags", &["repos", &repo.owner, &repo.name, "tags"], &[]).await
    }
}
