//! Update-level semantics: how WUA turns the three rules of an update, its prerequisites and
//! its bundled children into "installed", "needed" or "not applicable".

use std::collections::{BTreeMap, HashMap, VecDeque};

use uuid::Uuid;

use crate::eval::Evaluator;
use crate::parse::{CoreFragment, Prerequisite, UpdateRules};
use crate::truth::{merge_reasons, Reason, Reasons, Truth};

/// The applicability of one update on one machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    /// `IsInstalled` is true (for a bundle: every applicable child is installed).
    Installed,
    /// Installable, not installed, not superseded: WUA would offer it.
    Needed,
    /// Not installed and not offered (not installable, superseded, or prerequisites unmet).
    NotApplicable,
    /// The rules cannot be decided on this machine model.
    Unknown(Reasons),
}

impl Applicability {
    /// Whether this is `Installed`.
    pub fn is_installed(&self) -> bool {
        matches!(self, Applicability::Installed)
    }

    /// The reasons, when unknown.
    pub fn reasons(&self) -> Option<&Reasons> {
        match self {
            Applicability::Unknown(r) => Some(r),
            _ => None,
        }
    }

    fn unknown(expression: &str, detail: impl Into<String>) -> Applicability {
        let mut r = Reasons::new();
        r.insert(Reason::new(expression, detail));
        Applicability::Unknown(r)
    }
}

fn reasons_of(t: &Truth) -> Reasons {
    t.reasons().cloned().unwrap_or_default()
}

/// Kind of update, as far as evaluation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Software,
    Driver,
    Detectoid,
    /// Categories (products, classifications) count as installed: WUA treats them so when
    /// they appear as prerequisites.
    Category,
}

impl UpdateKind {
    /// From `Properties/@UpdateType`; anything unknown is treated as software.
    pub fn parse(s: &str) -> UpdateKind {
        match s.trim() {
            "Driver" => UpdateKind::Driver,
            "Detectoid" => UpdateKind::Detectoid,
            "Category" => UpdateKind::Category,
            _ => UpdateKind::Software,
        }
    }
}

impl From<sluice_metadata::UpdateType> for UpdateKind {
    fn from(t: sluice_metadata::UpdateType) -> Self {
        match t {
            sluice_metadata::UpdateType::Software => UpdateKind::Software,
            sluice_metadata::UpdateType::Driver => UpdateKind::Driver,
            sluice_metadata::UpdateType::Detectoid => UpdateKind::Detectoid,
            sluice_metadata::UpdateType::Category => UpdateKind::Category,
        }
    }
}

/// Already-evaluated updates, consulted for prerequisites and bundle children.
pub trait Evaluated {
    /// The applicability already computed for `id`, if any.
    fn state(&self, id: &Uuid) -> Option<&Applicability>;
}

impl Evaluated for HashMap<Uuid, Applicability> {
    fn state(&self, id: &Uuid) -> Option<&Applicability> {
        self.get(id)
    }
}

impl Evaluated for BTreeMap<Uuid, Applicability> {
    fn state(&self, id: &Uuid) -> Option<&Applicability> {
        self.get(id)
    }
}

/// Everything needed to evaluate one update in the context of others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateEntry {
    pub id: Uuid,
    pub kind: UpdateKind,
    pub rules: UpdateRules,
    pub prerequisites: Vec<Prerequisite>,
    /// Bundled children (all slots, all alternatives).
    pub bundled: Vec<Uuid>,
}

impl UpdateEntry {
    /// From a parsed update document.
    pub fn from_update(u: &sluice_metadata::Update) -> UpdateEntry {
        UpdateEntry {
            id: u.identity.update_id,
            kind: u.properties.update_type.into(),
            rules: UpdateRules::from_metadata(&u.rules),
            prerequisites: u.relationships.prerequisites.iter().map(Prerequisite::from).collect(),
            bundled: u.relationships.bundled_updates.iter().flatten().map(|r| r.update_id).collect(),
        }
    }

    /// From a parsed Core fragment.
    pub fn from_core_fragment(f: &CoreFragment) -> UpdateEntry {
        UpdateEntry {
            id: f.update_id,
            kind: f.update_type.as_deref().map(UpdateKind::parse).unwrap_or(UpdateKind::Software),
            rules: f.rules.clone(),
            prerequisites: f.prerequisites.clone(),
            bundled: f.bundled.iter().flatten().copied().collect(),
        }
    }

    fn dependencies(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.prerequisites.iter().filter(|p| !p.is_category).flat_map(|p| p.members.iter().copied()).chain(self.bundled.iter().copied())
    }
}

impl<'m> Evaluator<'m> {
    /// `IsInstalled`; an update without one is not installed.
    pub fn is_installed(&self, rules: &UpdateRules) -> Truth {
        rules.is_installed.as_ref().map_or(Truth::False, |e| self.eval_with(e, &rules.metadata))
    }

    /// `IsInstallable`; an update without one is installable.
    pub fn is_installable(&self, rules: &UpdateRules) -> Truth {
        rules.is_installable.as_ref().map_or(Truth::True, |e| self.eval_with(e, &rules.metadata))
    }

    /// `IsSuperseded`; an update without one is not superseded.
    pub fn is_superseded(&self, rules: &UpdateRules) -> Truth {
        rules.is_superseded.as_ref().map_or(Truth::False, |e| self.eval_with(e, &rules.metadata))
    }

    /// The applicability of a single update from its own rules: installed if `IsInstalled`;
    /// needed if installable, not installed and not superseded; otherwise not applicable.
    pub fn applicability(&self, rules: &UpdateRules) -> Applicability {
        let installed = self.is_installed(rules);
        match installed {
            Truth::True => Applicability::Installed,
            Truth::Unknown(r) => Applicability::Unknown(r),
            Truth::False => {
                let needed = self.is_installable(rules).and(!self.is_superseded(rules));
                match needed {
                    Truth::True => Applicability::Needed,
                    Truth::False => Applicability::NotApplicable,
                    Truth::Unknown(r) => Applicability::Unknown(r),
                }
            }
        }
    }

    /// Whether every prerequisite clause has an installed member. Category clauses
    /// (`IsCategory="true"`) always hold: categories count as installed. A member is
    /// installed when `evaluated` says so or it is in the machine's `installed_updates`; a
    /// member nobody evaluated makes its clause unknown (unless another member is installed).
    pub fn prerequisites_met(&self, prerequisites: &[Prerequisite], evaluated: &dyn Evaluated) -> Truth {
        let installed = &self.machine().installed_updates;
        Truth::all(prerequisites.iter().map(|clause| {
            if clause.is_category {
                return Truth::True;
            }
            Truth::any(clause.members.iter().map(|id| {
                if installed.contains(id) {
                    return Truth::True;
                }
                match evaluated.state(id) {
                    Some(Applicability::Installed) => Truth::True,
                    Some(Applicability::Unknown(r)) => Truth::Unknown(r.clone()),
                    Some(_) => Truth::False,
                    None => Truth::unknown("Prerequisite", format!("update {id} has not been evaluated")),
                }
            }))
        }))
    }

    /// One update in the context of the already-evaluated ones: prerequisites gate it, and
    /// a bundle's state comes from its children. Categories are installed.
    pub fn evaluate_update(&self, entry: &UpdateEntry, evaluated: &dyn Evaluated) -> Applicability {
        if entry.kind == UpdateKind::Category {
            return Applicability::Installed;
        }
        let own = if entry.bundled.is_empty() {
            self.applicability(&entry.rules)
        } else {
            self.bundle_applicability(&entry.rules, &entry.bundled, evaluated)
        };
        with_prerequisites(own, self.prerequisites_met(&entry.prerequisites, evaluated))
    }

    /// A bundle: installed when every applicable child is installed, needed when any child
    /// is needed, not applicable when no child applies. Its own `IsInstallable` and
    /// `IsSuperseded` still gate it.
    pub fn bundle_applicability(&self, own: &UpdateRules, children: &[Uuid], evaluated: &dyn Evaluated) -> Applicability {
        let gate = self.is_installable(own).and(!self.is_superseded(own));
        if gate.is_false() {
            return Applicability::NotApplicable;
        }
        let from_children = bundle_from_children(children, evaluated);
        match (gate, from_children) {
            (Truth::True, a) => a,
            (_, Applicability::NotApplicable) => Applicability::NotApplicable,
            (Truth::Unknown(mut r), Applicability::Unknown(c)) => {
                merge_reasons(&mut r, c);
                Applicability::Unknown(r)
            }
            (g, _) => Applicability::Unknown(reasons_of(&g)),
        }
    }

    /// Evaluates a set of updates in dependency order (prerequisites and bundle children
    /// first). Updates caught in a dependency cycle are unknown.
    pub fn evaluate_catalog(&self, entries: &[UpdateEntry]) -> HashMap<Uuid, Applicability> {
        let index: HashMap<Uuid, usize> = entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        let mut pending = vec![0usize; entries.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
        for (i, e) in entries.iter().enumerate() {
            let mut deps: Vec<usize> = e.dependencies().filter_map(|d| index.get(&d).copied()).filter(|&d| d != i).collect();
            deps.sort_unstable();
            deps.dedup();
            pending[i] = deps.len();
            for d in deps {
                dependents[d].push(i);
            }
        }
        let mut queue: VecDeque<usize> = (0..entries.len()).filter(|&i| pending[i] == 0).collect();
        let mut out: HashMap<Uuid, Applicability> = HashMap::with_capacity(entries.len());
        while let Some(i) = queue.pop_front() {
            let a = self.evaluate_update(&entries[i], &out);
            out.insert(entries[i].id, a);
            for &j in &dependents[i] {
                pending[j] -= 1;
                if pending[j] == 0 {
                    queue.push_back(j);
                }
            }
        }
        for e in entries {
            out.entry(e.id).or_insert_with(|| Applicability::unknown("Relationships", "the update is part of a prerequisite or bundle cycle"));
        }
        out
    }
}

/// Applies the prerequisite gate to an update's own applicability. WUA does not evaluate an
/// update whose prerequisites are not installed, which a server reports as not applicable.
pub fn with_prerequisites(own: Applicability, prerequisites: Truth) -> Applicability {
    match prerequisites {
        Truth::True => own,
        Truth::False => Applicability::NotApplicable,
        Truth::Unknown(mut r) => match own {
            Applicability::NotApplicable => Applicability::NotApplicable,
            Applicability::Unknown(c) => {
                merge_reasons(&mut r, c);
                Applicability::Unknown(r)
            }
            _ => Applicability::Unknown(r),
        },
    }
}

/// A bundle's state from its children's alone.
pub fn bundle_from_children(children: &[Uuid], evaluated: &dyn Evaluated) -> Applicability {
    let mut unknown: Option<Reasons> = None;
    let mut any_installed = false;
    for id in children {
        match evaluated.state(id) {
            Some(Applicability::Needed) => return Applicability::Needed,
            Some(Applicability::Installed) => any_installed = true,
            Some(Applicability::NotApplicable) => {}
            Some(Applicability::Unknown(r)) => merge_reasons(unknown.get_or_insert_with(Reasons::new), r.clone()),
            None => {
                let mut r = Reasons::new();
                r.insert(Reason::new("BundledUpdates", format!("bundled update {id} has not been evaluated")));
                merge_reasons(unknown.get_or_insert_with(Reasons::new), r);
            }
        }
    }
    match (unknown, any_installed) {
        (Some(r), _) => Applicability::Unknown(r),
        (None, true) => Applicability::Installed,
        (None, false) => Applicability::NotApplicable,
    }
}
