//! D4 image pre-check: every image a stack needs must be on the engine of every node that may run
//! its tasks before it is deployed ([`crate::pull`] brings them from their registries first). A
//! missing image is an infrastructure error reported before the convergence clock starts, never a
//! recipe failure; so is a node that may run tasks but whose engine cc-ci cannot reach.

use serde_norway::Value;

use crate::error::{is_not_found, Error, Result};
use crate::nodes::NodeEngine;
use crate::Swarm;

impl Swarm {
    /// Check that the image of every service of `doc` exists on every node that may run tasks
    /// ([`Swarm::schedulable_engines`], which refuses a node cc-ci cannot reach). Returns
    /// [`Error::ImagesMissing`] listing every (service, image) that is absent (`<image> on
    /// <node>` on a multi-node swarm).
    pub async fn check_images(&self, doc: &Value) -> Result<()> {
        let mut missing = Vec::new();
        for engine in self.schedulable_engines().await? {
            for (service, image) in crate::compose::images(doc)? {
                match engine.docker.inspect_image(&image).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => missing.push((service, self.image_on(&image, &engine))),
                    Err(e) => return Err(Error::docker(format!("inspecting image {image} on {engine}"))(e)),
                }
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::ImagesMissing { missing })
        }
    }

    /// How an image on `engine` is named in progress and errors: `<image> on <node>` when cc-ci
    /// talks to several node engines, else the image.
    pub(crate) fn image_on(&self, image: &str, engine: &NodeEngine) -> String {
        if self.is_multi_engine() {
            format!("{image} on {}", engine.name)
        } else {
            image.to_string()
        }
    }
}
