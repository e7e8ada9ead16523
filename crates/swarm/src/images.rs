//! D4 image pre-check: every image a stack needs must be on the engine before it is deployed
//! ([`crate::pull`] brings them from their registries first). A missing image is an
//! infrastructure error reported before the convergence clock starts, never a recipe failure.

use serde_norway::Value;

use crate::error::{is_not_found, Error, Result};
use crate::Swarm;

impl Swarm {
    /// Check that the image of every service of `doc` exists locally. Returns
    /// [`Error::ImagesMissing`] listing every (service, image) that is absent.
    pub async fn check_images(&self, doc: &Value) -> Result<()> {
        let mut missing = Vec::new();
        for (service, image) in crate::compose::images(doc)? {
            match self.docker.inspect_image(&image).await {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => missing.push((service, image)),
                Err(e) => return Err(Error::docker(format!("inspecting image {image}"))(e)),
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::ImagesMissing { missing })
        }
    }
}
