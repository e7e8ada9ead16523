//! The tiers of a test run (SPEC T1) and their names, shared by the plan, the harness, the
//! server's commands and results.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The tiers of a run, in the order a run carries one deployment through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Install,
    Upgrade,
    Backup,
    Restore,
    Custom,
}

impl Tier {
    pub const ALL: [Tier; 5] = [Tier::Install, Tier::Upgrade, Tier::Backup, Tier::Restore, Tier::Custom];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Install => "install",
            Tier::Upgrade => "upgrade",
            Tier::Backup => "backup",
            Tier::Restore => "restore",
            Tier::Custom => "custom",
        }
    }

    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
