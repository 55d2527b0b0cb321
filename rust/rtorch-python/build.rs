//! Link options that make the extension smaller, each used only where this toolchain's
//! linker and this machine's C library take it (a wheel is built where it is
//! installed: `pip install .`).
//!
//! - `--icf=all` folds functions whose machine code is identical: many monomorphised
//!   kernels compile to the same bytes (the same loop over `i32` and `u32`, closures of
//!   equal bodies). About 140 KB. Rust promises no distinct addresses for distinct
//!   functions, and rtorch compares none. LLD and gold have the option; GNU ld does not
//!   (the default linker before Rust 1.90), hence the probe.
//! - `-z pack-relative-relocs` stores the relative relocations of the vtables and
//!   constant tables as a bitmap (`DT_RELR`) instead of 24 bytes each: about 390 KB.
//!   glibc loads such a library from 2.36 on, so only where the build machine's glibc
//!   is that new (the linker then also records the requirement, so an older loader
//!   refuses the file with a clear message instead of misreading it).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = env::var("TARGET").unwrap_or_default();
    if target != env::var("HOST").unwrap_or_default() || !target.ends_with("linux-gnu") {
        return;
    }
    let mut flags = vec!["-Wl,--icf=all"];
    if glibc_at_least(2, 36) {
        flags.push("-Wl,-z,pack-relative-relocs");
    }
    for flag in flags {
        if links_with(flag) {
            println!("cargo:rustc-cdylib-link-arg={flag}");
        }
    }
}

/// Whether `rustc`, with the flags cargo gives this build, links a small shared
/// library with `flag` added to the linker's command line.
fn links_with(flag: &str) -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let src = out.join("link_probe.rs");
    if std::fs::write(
        &src,
        "#[no_mangle]\npub extern \"C\" fn probe() -> i32 { 1 }\n",
    )
    .is_err()
    {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut cmd = Command::new(rustc);
    // The same linker settings as the real build (`-C linker=...` in RUSTFLAGS).
    if let Ok(encoded) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        cmd.args(encoded.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Ok(linker) = env::var("RUSTC_LINKER") {
        cmd.arg(format!("-Clinker={linker}"));
    }
    cmd.args(["--crate-type", "cdylib", "--crate-name", "link_probe", "-C"])
        .arg(format!("link-arg={flag}"))
        .arg("-o")
        .arg(out.join("liblink_probe.so"))
        .arg(&src);
    cmd.output().is_ok_and(|o| o.status.success())
}

/// Whether the C library this build script runs on is glibc `major.minor` or newer.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc_at_least(major: u32, minor: u32) -> bool {
    extern "C" {
        fn gnu_get_libc_version() -> *const std::ffi::c_char;
    }
    // SAFETY: glibc returns a pointer to a static NUL-terminated string such as "2.36".
    let version = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
    let mut parts = version
        .to_str()
        .unwrap_or("")
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let have = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    have >= (major, minor)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn glibc_at_least(_major: u32, _minor: u32) -> bool {
    false
}
