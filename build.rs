//! Enables the tests that need outside programs (Chromium...) when `.ci/run` has installed
//! them and set `BEACON_EXTERNAL_TESTS=1`. Without it those tests are not compiled, so
//! `cargo test` stays green on a fresh machine; with it they fail if a program is missing.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(external_tests)");
    println!("cargo::rerun-if-env-changed=BEACON_EXTERNAL_TESTS");
    if std::env::var("BEACON_EXTERNAL_TESTS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=external_tests");
    }
}
