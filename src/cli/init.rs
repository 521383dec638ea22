//! `beacon init`: a commented starter `probes.toml`, so a first run needs no copy-paste.

use std::io::Write;
use std::path::Path;

/// The starter configuration (checked by a unit test to load as it is written).
pub(super) const STARTER: &str = include_str!("starter.toml");

/// Writes [`STARTER`] to `path`, never over an existing file.
pub(super) fn init(path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                anyhow::anyhow!("{} already exists; not overwritten", path.display())
            }
            _ => anyhow::anyhow!("cannot write {}: {e}", path.display()),
        })?;
    file.write_all(STARTER.as_bytes())?;
    println!("wrote {}", path.display());
    println!(
        "next: beacon check --config {0} && beacon serve --config {0}",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_starter_configuration_loads_as_written() {
        let config = crate::config::parse("starter.toml", super::STARTER).expect("valid");
        assert_eq!(config.channels.len(), 2);
        assert!(config.channels.iter().all(|c| !c.probes.is_empty()));
    }
}
