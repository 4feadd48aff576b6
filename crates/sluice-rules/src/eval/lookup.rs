//! Registry and file lookups of the [`Evaluator`]: the view a key lives in, value reads,
//! environment expansion, `RegKeyLoop`, and file references resolved against the file index.

use super::*;

impl<'m> Evaluator<'m> {
    pub(super) fn index(&self, view: View, expr: &str) -> Res<&RegIndex<'m>> {
        let idx = match view {
            View::Native => self.native.as_ref(),
            View::Wow64 => self.wow64.as_ref(),
        };
        match idx {
            Some(i) => Ok(i),
            None => unk(expr, "the machine model has no registry section"),
        }
    }

    /// Where a rule's key lives: which view and which normalised path.
    pub(super) fn locate(&self, key: &RegKey, lt: Option<&LoopTarget>, expr: &str) -> Res<(View, String)> {
        let sub = key_segments(&key.subkey).join("\\");
        let under = |base: &str| if sub.is_empty() { base.to_string() } else { format!("{base}\\{sub}") };
        if key.hive == Hive::LoopTarget {
            return match lt {
                Some(t) => Ok((t.view, under(&t.path))),
                None => unk(expr, "HKEY_LOOP_TARGET used outside a RegKeyLoop"),
            };
        }
        let path = under(&key.hive.as_str().to_lowercase());
        if !key.reg_type32 {
            return Ok((View::Native, path));
        }
        match self.machine.architecture {
            None => unk(expr, "RegType32 needs the machine's architecture, which the model does not give"),
            Some(a) if !a.is_64_bit() => Ok((View::Native, path)),
            Some(_) if self.wow64.is_some() => Ok((View::Wow64, path)),
            Some(_) => Ok((View::Native, wow64_redirect(&path))),
        }
    }

    pub(super) fn read_value(&self, expr: &str, key: &RegKey, value: Option<&str>, lt: Option<&LoopTarget>) -> Res<ValueRead<'m>> {
        let (view, path) = self.locate(key, lt, expr)?;
        let idx = self.index(view, expr)?;
        let Some(node) = idx.keys.get(&path) else { return Ok(ValueRead::NoKey) };
        Ok(match node.values.get(&value.unwrap_or("").to_lowercase()) {
            Some(v) => ValueRead::Value(v),
            None => ValueRead::NoValue,
        })
    }

    pub(super) fn key_exists(&self, expr: &str, key: &RegKey, lt: Option<&LoopTarget>) -> Res<bool> {
        let (view, path) = self.locate(key, lt, expr)?;
        Ok(self.index(view, expr)?.keys.contains_key(&path))
    }

    /// `%NAME%` expansion from the model's environment; unknown names stay as written, as
    /// `ExpandEnvironmentStrings` leaves them.
    pub(super) fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find('%') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match after.find('%') {
                Some(end) => {
                    let name = &after[..end];
                    let val = self.machine.environment.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
                    match val {
                        Some(v) if !name.is_empty() => out.push_str(v),
                        _ => {
                            out.push('%');
                            out.push_str(name);
                            out.push('%');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub(super) fn reg_key_loop(&self, key: &RegKey, true_if: TrueIf, body: &Expr, meta: &HandlerMetadata, lt: Option<&LoopTarget>) -> Truth {
        let name = "RegKeyLoop";
        let located = self.locate(key, lt, name).and_then(|(view, path)| Ok((view, self.index(view, name)?, path)));
        let (view, idx, path) = match located {
            Ok(x) => x,
            Err(t) => return t,
        };
        // A missing key has no subkeys: Any is false, All and None are (vacuously) true.
        let children: Vec<&String> = idx.keys.get(&path).map(|n| n.children.iter().collect()).unwrap_or_default();
        let results = children.into_iter().map(|c| {
            let target = LoopTarget { view, path: format!("{path}\\{c}") };
            self.ev(body, meta, Some(&target))
        });
        match true_if {
            TrueIf::Any => Truth::any(results),
            TrueIf::All => Truth::all(results),
            TrueIf::None => !Truth::any(results),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Files

    /// Resolves a file reference. `Ok(None)` when the base directory itself does not exist
    /// (the registry value naming it is missing), which makes every file test false.
    pub(super) fn file_path(&self, expr: &str, f: &FileRef, lt: Option<&LoopTarget>) -> Res<Option<String>> {
        Ok(Some(match &f.base {
            FileBase::Absolute => f.path.clone(),
            FileBase::Csidl(c) => match self.machine.csidl_folder(*c) {
                Some(dir) => join_path(&dir, &f.path),
                None => return unk(expr, format!("CSIDL {c} has no folder in the machine model")),
            },
            FileBase::Registry { key, value } => match self.read_value(expr, key, value.as_deref(), lt)? {
                ValueRead::Value(RegValue::Sz(s)) => join_path(s, &f.path),
                ValueRead::Value(RegValue::ExpandSz(s)) => join_path(&self.expand(s), &f.path),
                _ => return Ok(None),
            },
        }))
    }

    /// The file entry (`None` when there is no such file) and whether the path is a
    /// directory that holds listed files.
    pub(super) fn find_file(&self, expr: &str, f: &FileRef, lt: Option<&LoopTarget>) -> Res<(Option<&'m FileEntry>, bool)> {
        let Some(path) = self.file_path(expr, f, lt)? else { return Ok((None, false)) };
        let Some(idx) = &self.files else { return unk(expr, "the machine model has no files section") };
        let key = norm_path(&path);
        Ok((idx.files.get(&key).copied(), idx.dirs.contains(&key)))
    }

    pub(super) fn file_version(expr: &str, e: &FileEntry) -> Res<Option<Version>> {
        match e.version.as_deref() {
            None => unk(expr, format!("the version of {} is not in the machine model", e.path)),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) => match Version::parse(v) {
                Ok(v) => Ok(Some(v)),
                Err(_) => unk(expr, format!("the version '{v}' of {} is not a version", e.path)),
            },
        }
    }

    pub(super) fn file_time(expr: &str, e: &FileEntry, which: &str, t: &Option<String>) -> Res<Timestamp> {
        match t {
            None => unk(expr, format!("the {which} time of {} is not in the machine model", e.path)),
            Some(s) => match Timestamp::parse(s) {
                Some(ts) => Ok(ts),
                None => unk(expr, format!("the {which} time '{s}' of {} is not an xs:dateTime", e.path)),
            },
        }
    }
}
