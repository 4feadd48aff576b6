//! Machine profiles: what a simulated computer reports about itself and what its rules are
//! evaluated against. TOML; the `[machine]` table is the rule engine's machine model.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;
use sluice_rules::Machine;

use crate::agent::{Evaluator, MachineState, Truth};
use crate::requests::ComputerInfo;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub computer: ComputerSection,
    #[serde(default)]
    pub machine: Machine,
}

/// What RegisterComputer and the events say about the machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ComputerSection {
    pub manufacturer: String,
    pub model: String,
    pub os_description: String,
    pub locale: String,
    pub processor_architecture: String,
}

impl Default for ComputerSection {
    fn default() -> Self {
        ComputerSection {
            manufacturer: "Contoso".into(),
            model: "Virtual Machine".into(),
            os_description: "Windows 11 Pro".into(),
            locale: "en-US".into(),
            processor_architecture: "AMD64".into(),
        }
    }
}

/// The profile used without `--profile`: Windows 11 25H2 x64, English (United States).
pub const BUILTIN_WINDOWS_11: &str = r#"
name = "Windows 11 25H2 x64 en-US"

[computer]
manufacturer = "Contoso"
model = "Virtual Machine"
os_description = "Windows 11 Pro"
locale = "en-US"
processor_architecture = "AMD64"

[machine]
architecture = "x64"
files = []
wmi = []

[machine.os]
major = 10
minor = 0
build = 26200
revision = 8037
product_type = 1
suite_mask = 256
sku = 48
language = "en-US"

[machine.registry.'HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion']
CurrentBuild = { type = "REG_SZ", data = "26200" }
UBR = { type = "REG_DWORD", data = 8037 }
"#;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("profile {path}: {message}")]
    Parse { path: String, message: String },
}

impl Profile {
    pub fn builtin() -> Profile {
        // The built-in text is part of the program and covered by tests.
        toml::from_str(BUILTIN_WINDOWS_11).unwrap_or_else(|e| panic!("built-in profile: {e}"))
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read { path: path.display().to_string(), source })?;
        toml::from_str(&text).map_err(|e| ProfileError::Parse { path: path.display().to_string(), message: e.to_string() })
    }

    /// Every `*.toml` profile of a directory, sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Profile>, ProfileError> {
        let rd = std::fs::read_dir(dir).map_err(|source| ProfileError::Read { path: dir.display().to_string(), source })?;
        let mut paths: Vec<_> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
        paths.sort();
        paths.iter().map(|p| Profile::load(p)).collect()
    }

    pub fn computer_info(&self, dns_name: &str) -> ComputerInfo {
        let os = self.machine.os.as_ref();
        ComputerInfo {
            dns_name: dns_name.to_string(),
            os_major: os.map(|o| o.major).unwrap_or(10),
            os_minor: os.map(|o| o.minor).unwrap_or(0),
            os_build: os.map(|o| o.build).unwrap_or(26200),
            locale: self.computer.locale.clone(),
            manufacturer: self.computer.manufacturer.clone(),
            model: self.computer.model.clone(),
            processor_architecture: self.computer.processor_architecture.clone(),
            os_description: self.computer.os_description.clone(),
        }
    }
}

/// Evaluates Core-fragment rules with the rule engine against a profile's machine, with the
/// updates this simulated machine has installed counted as installed.
pub struct RulesEvaluator {
    machine: Machine,
}

impl RulesEvaluator {
    pub fn new(profile: &Profile) -> RulesEvaluator {
        RulesEvaluator { machine: profile.machine.clone() }
    }

    fn rules(core: &str) -> Result<sluice_rules::UpdateRules, String> {
        sluice_rules::parse_core_fragment(core).map(|c| c.rules).map_err(|e| e.to_string())
    }

    fn machine_with(&self, state: &MachineState) -> Machine {
        let mut m = self.machine.clone();
        let installed: BTreeSet<uuid::Uuid> = state.installed_updates.iter().filter_map(|u| uuid::Uuid::parse_str(u).ok()).collect();
        m.installed_updates.extend(installed);
        m
    }
}

fn truth(t: sluice_rules::Truth) -> Truth {
    match t {
        sluice_rules::Truth::True => Truth::Yes,
        sluice_rules::Truth::False => Truth::No,
        sluice_rules::Truth::Unknown(reasons) => {
            Truth::Unknown(reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; "))
        }
    }
}

impl Evaluator for RulesEvaluator {
    fn is_installed(&self, core: &str, state: &MachineState, update_id: &str) -> Truth {
        // What this machine installed is installed, whatever its rule says about files the
        // simulation cannot create.
        if state.installed_updates.contains(&update_id.to_uppercase()) {
            return Truth::Yes;
        }
        match sluice_rules::parse_core_fragment(core) {
            // WUA holds every category installed: it is what lets updates in it be offered.
            Ok(c) if c.update_type.as_deref() == Some("Category") => Truth::Yes,
            Ok(c) => truth(sluice_rules::is_installed(&c.rules, &self.machine_with(state))),
            Err(e) => Truth::Unknown(format!("core fragment: {e}")),
        }
    }

    fn is_installable(&self, core: &str, state: &MachineState, _update_id: &str) -> Truth {
        match Self::rules(core) {
            Ok(r) => truth(sluice_rules::is_installable(&r, &self.machine_with(state))),
            Err(e) => Truth::Unknown(format!("core fragment: {e}")),
        }
    }
}
