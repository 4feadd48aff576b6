//! `sluice completions SHELL` and `sluice manpages --out DIR`: generated from the same clap
//! definitions that parse the command line, so they never describe a flag that does not exist.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManpagesArgs {
    /// Directory to write `sluice.1` and `sluice-<command>.1` into (created if missing)
    #[arg(long)]
    out: PathBuf,
}

pub fn completions(mut cmd: clap::Command, a: CompletionsArgs) -> anyhow::Result<()> {
    // Into memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "sluice", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub fn manpages(cmd: clap::Command, a: ManpagesArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let mut written = 0;
    write_page(&cmd, "sluice", &a.out, &mut written)?;
    println!("wrote {written} manual page(s) to {}", a.out.display());
    Ok(())
}

/// Writes `name.1` for `cmd` and, below it, a page per subcommand (`sluice-sync-start.1`), as
/// git names its pages.
fn write_page(cmd: &clap::Command, name: &str, dir: &std::path::Path, written: &mut usize) -> anyhow::Result<()> {
    let page = cmd.clone().name(name.to_owned());
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        write_page(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
