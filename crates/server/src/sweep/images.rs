//! The images the enrolled recipes use: what the disk clean-up must never remove. For each
//! enrolled recipe, every image its compose files name — rendered as a run would render them
//! (`recipe::plan`) — at its default branch's head and at every release tag (a pull request's
//! upgrade tier deploys the previous release, the canonical copy runs one), read from the
//! sweep's cache of the recipe. All or nothing: a recipe that cannot be read makes the answer an
//! error, and the clean-up then removes no image at all.

use std::collections::BTreeSet;
use std::path::Path;

use recipe::plan::{plan, Overrides};
use recipe::recipe::Recipe;

use super::git::{Cache, HEAD_REF};
use crate::config::RepoConfig;

/// Every image the enrolled `repos` use, as written in their compose files.
pub async fn used_by_enrolled(data_dir: &Path, repos: &[RepoConfig]) -> Result<BTreeSet<String>, String> {
    let (data_dir, repos) = (data_dir.to_path_buf(), repos.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut all = BTreeSet::new();
        for repo in &repos {
            let used = used_by(&data_dir, &repo.repo).map_err(|e| format!("the images {} uses: {e}", repo.recipe))?;
            all.extend(used);
        }
        Ok(all)
    })
    .await
    .map_err(|e| format!("reading the recipes' images: {e}"))?
}

/// The images `repo` uses, from its cache under `data_dir`.
fn used_by(data_dir: &Path, repo: &str) -> Result<BTreeSet<String>, String> {
    let cache = Cache::open(data_dir, repo)?;
    if !cache.has_commit(HEAD_REF) {
        return Err("not fetched yet".into());
    }
    let mut revs = vec![HEAD_REF.to_string()];
    let tags = recipe::git::tags(&cache.dir).map_err(|e| e.to_string())?;
    revs.extend(tags.into_iter().filter(|t| t.annotated).map(|t| format!("refs/tags/{}", t.name)));
    let work = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
    let checkout = work.path().join("recipe");
    let git = |dir: &Path, args: &[&str]| recipe::git::run(dir, args).map_err(|e| e.to_string());
    git(
        work.path(),
        &["clone", "--quiet", "--no-checkout", "--", &cache.dir.to_string_lossy(), &checkout.to_string_lossy()],
    )?;
    git(&checkout, &["fetch", "--quiet", "origin", &format!("+{HEAD_REF}:{HEAD_REF}")])?;
    let mut images = BTreeSet::new();
    for rev in &revs {
        git(&checkout, &["checkout", "--quiet", "--force", "--detach", rev])?;
        let recipe = Recipe::load(&checkout).map_err(|e| format!("at {rev}: {e}"))?;
        let planned = plan(&recipe, None, &Overrides::default()).map_err(|e| format!("at {rev}: {e}"))?;
        images.extend(planned.services.into_iter().filter_map(|s| s.image));
    }
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::git::Remote;

    #[tokio::test]
    async fn every_image_at_the_head_and_at_each_release_tag_is_used() {
        let work = tempfile::tempdir().unwrap();
        let fixture = testbed::fixture("simple", &work.path().join("simple")).unwrap();
        let data = work.path().join("data");
        let repo = RepoConfig { repo: "o/simple".into(), recipe: "simple".into(), upstream: None };
        let unread = used_by_enrolled(&data, std::slice::from_ref(&repo)).await.unwrap_err();
        assert!(unread.contains("not fetched yet"), "all or nothing: {unread}");
        let cache = Cache::open(&data, &repo.repo).unwrap();
        cache.fetch(&Remote::anonymous(&fixture.path.to_string_lossy()), "main").unwrap();
        let used = used_by_enrolled(&data, &[repo]).await.unwrap();
        let want: BTreeSet<String> =
            [testbed::BUSYBOX_IMAGE, testbed::BUSYBOX_IMAGE_NEXT].iter().map(|i| i.to_string()).collect();
        assert_eq!(used, want, "1.0.0 names the one, 1.1.0 and the head the other");
    }
}
