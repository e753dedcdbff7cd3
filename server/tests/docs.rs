//! Every flag of the server is documented in the README, where users look for it.

use clap::CommandFactory;
use nonstop_server::Args;

#[test]
fn every_flag_is_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let missing: Vec<String> = Args::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| !["help", "version"].contains(long))
        .map(|long| format!("--{long}"))
        .filter(|flag| {
            !readme.contains(&format!("`{flag}`")) && !readme.contains(&format!("`{flag} "))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "flags missing from README.md: {missing:?}"
    );
}
